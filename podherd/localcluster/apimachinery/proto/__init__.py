"""Kubernetes protobuf, from the committed .proto files: schema (`parser`, `schema`), wire format (`wire`),
JSON mapping (`codec`, `wellknown`) and the ``k8s\\0`` envelope with watch framing (`envelope`).

Pure and below every other layer: the API server encodes and decodes request and response bodies
with it, the OpenAPI documents and server-side apply read its schema (descriptions, list types).
"""
