"""Derive the Go JSON facts the embedded cluster's protobuf codec needs but the .proto files do not carry.

Kubernetes' generated.proto files say how an object is laid out on the wire, not how the same Go struct
is written as JSON. Three facts differ per field and live only in the Go struct tags:

* ``inline``: the field is an embedded struct flattened into its parent in JSON (`json:",inline"`),
  e.g. ``Volume.volumeSource``;
* ``json``: the JSON name, where it differs from the protobuf name;
* ``pointer`` and ``omitempty: false``: a zero value ("", 0, false) is written in JSON when the Go field
  is a pointer (so a zero on the wire was set on purpose) or has no ``omitempty``. Go's protobuf
  marshaller writes every non-pointer scalar, zero or not, so without these a decoder cannot tell
  "unset" from "set to 0"; ``omitempty`` also decides, as in kube-openapi, whether a field without
  ``+optional``/``+required`` is required in OpenAPI;
* ``enum``: the field's Go type is a ``+enum`` string type; its values and their comments are under
  ``enums`` (kube-openapi lists them in the schema and its description).

Usage (developers only; the output is committed): point it at the Go sources of the same versions as
the committed .proto files, e.g. a checkout of kubernetes/api and kubernetes/apimachinery at v0.32.4:

    python scripts/protofacts.py API_DIR APIMACHINERY_DIR > podherd/localcluster/apimachinery/proto/schemas/gojson.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# Go package directory (relative to its repository) -> protobuf package of its generated.proto.
PACKAGES = {
    ("api", "core/v1"): "k8s.io.api.core.v1",
    ("api", "coordination/v1"): "k8s.io.api.coordination.v1",
    ("api", "authorization/v1"): "k8s.io.api.authorization.v1",
    ("apimachinery", "pkg/apis/meta/v1"): "k8s.io.apimachinery.pkg.apis.meta.v1",
    ("apimachinery", "pkg/runtime"): "k8s.io.apimachinery.pkg.runtime",
    ("apimachinery", "pkg/util/intstr"): "k8s.io.apimachinery.pkg.util.intstr",
    ("apimachinery", "pkg/api/resource"): "k8s.io.apimachinery.pkg.api.resource",
}

STRUCT = re.compile(r"^type (\w+) struct \{$")
ENUM_TYPE = re.compile(r"^type (\w+) string\s*$")
CONST = re.compile(r'^\s*(?:const\s+)?(\w+)\s+(\w+)\s*=\s*"([^"]*)"')
FIELD = re.compile(r"^\s+(?:(\w+)\s+)?(\*?[\w.\[\]*]+)\s+`([^`]*)`")
TAG = re.compile(r'(\w+):"([^"]*)"')


def enums(source: str) -> dict[str, list[tuple[str, str, str]]]:
    """Per `+enum` string type: (constant name, value, comment) of each constant of that type."""
    lines = source.splitlines()
    types: set[str] = set()
    for i, line in enumerate(lines):
        m = ENUM_TYPE.match(line)
        if m and any(c.strip() == "// +enum" for c in _comment_above(lines, i)):
            types.add(m.group(1))
    out: dict[str, list[tuple[str, str, str]]] = {t: [] for t in types}
    for i, line in enumerate(lines):
        m = CONST.match(line)
        if m and m.group(2) in types:
            comment = " ".join(c.strip()[2:].removeprefix(" ") for c in _comment_above(lines, i))
            out[m.group(2)].append((m.group(1), m.group(3), comment))
    return out


def _comment_above(lines: list[str], index: int) -> list[str]:
    """The // lines directly above line `index`."""
    out: list[str] = []
    j = index - 1
    while j >= 0 and lines[j].strip().startswith("//"):
        out.insert(0, lines[j])
        j -= 1
    return out


def struct_fields(source: str, enum_types: set[str]) -> dict[str, dict[str, dict[str, object]]]:
    """Per Go struct: per protobuf field name, the facts that differ from the defaults."""
    out: dict[str, dict[str, dict[str, object]]] = {}
    current: str | None = None
    depth = 0
    for line in source.splitlines():
        if current is None:
            m = STRUCT.match(line)
            if m:
                current, depth = m.group(1), 1
            continue
        depth += line.count("{") - line.count("}")
        if depth <= 0:
            current = None
            continue
        if depth != 1:
            continue
        m = FIELD.match(line)
        if not m:
            continue
        name, gotype, tag = m.groups()
        tags = dict(TAG.findall(tag))
        proto = tags.get("protobuf", "")
        if not proto or proto == "-":
            continue
        pname = next((p[5:] for p in proto.split(",") if p.startswith("name=")), None)
        if pname is None and name is None:  # an embedded struct whose tag omits name=: go-to-protobuf's default
            short = gotype.lstrip("*").rsplit(".", 1)[-1]
            pname = short[:1].lower() + short[1:]
        if pname is None:
            continue
        jparts = tags.get("json", "").split(",")
        facts: dict[str, object] = {}
        if "inline" in jparts[1:]:
            facts["inline"] = True
        elif jparts[0] and jparts[0] != pname:
            facts["json"] = jparts[0]
        if gotype.startswith("*") and name is not None:
            facts["pointer"] = True
        if "omitempty" not in jparts[1:]:
            facts["omitempty"] = False
        if gotype.lstrip("*") in enum_types:
            facts["enum"] = gotype.lstrip("*")
        if facts:
            out.setdefault(current, {})[pname] = facts
    return out


def main(api_dir: str, apimachinery_dir: str) -> None:
    roots = {"api": Path(api_dir), "apimachinery": Path(apimachinery_dir)}
    messages: dict[str, dict[str, dict[str, object]]] = {}
    enum_values: dict[str, list[tuple[str, str, str]]] = {}
    for (repo, rel), package in sorted(PACKAGES.items()):
        sources = [
            p.read_text(encoding="utf-8")
            for p in sorted((roots[repo] / rel).glob("*.go"))
            if not p.name.endswith("_test.go") and not p.name.startswith(("zz_", "generated"))
        ]
        local: dict[str, list[tuple[str, str, str]]] = {}
        for source in sources:
            for enum, values in enums(source).items():
                local.setdefault(enum, []).extend(values)
        for source in sources:
            for struct, fields in struct_fields(source, set(local)).items():
                for facts in fields.values():
                    if "enum" in facts:
                        facts["enum"] = f"{package}.{facts['enum']}"
                messages[f"{package}.{struct}"] = fields
        enum_values.update({f"{package}.{k}": v for k, v in local.items() if v})
    result = {"messages": messages, "enums": enum_values}
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
