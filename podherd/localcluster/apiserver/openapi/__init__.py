"""OpenAPI v3 for the served group-versions, generated from the committed .proto files.

`schemas` writes component schemas as kube-openapi does (descriptions from the Go comments the
.proto files carry, list and map extensions from their markers), `paths` the operations of each
served resource, and `documents` serves the /openapi/v3 index and per-group-version documents with
kube-apiserver's hashes and caching headers. `kubectl explain` and kubectl's field-validation check
read them.
"""
