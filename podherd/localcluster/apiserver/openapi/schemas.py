"""OpenAPI v3 component schemas generated from the committed .proto files, as kube-openapi writes them.

Why from the .proto files: they are already committed (protobuf needs them), they carry the Go doc
comments that Kubernetes' published OpenAPI descriptions are made of, with the markers kube-openapi
reads (``+optional``, ``+listType``, ``+listMapKey``, ``+patchStrategy``, ``+mapType``, ``+default``),
and any kind with a message gets a schema with no code of its own. What the .proto files lack (JSON
names, inline embedding, pointers, ``omitempty``, enum values) comes from `gojson.json`, as for the codec.

The rules follow kube-openapi's generator (pkg/generators/openapi.go, enum.go):

* a description is the comment with ``+marker`` and ``TODO`` lines dropped, lines joined by spaces,
  blank lines kept as paragraphs and indented lines on lines of their own; an enum field's
  description ends with "Possible enum values:" and one sorted line per value;
* a field is required when marked ``+required``, or not ``+optional`` and without ``omitempty``;
* a field of a non-pointer struct type gets ``default: {}``, a non-omitempty scalar its zero value,
  and ``+default=`` its value; references are written ``allOf: [{$ref}]``;
* Time, MicroTime, Quantity, IntOrString, RawExtension and FieldsV1 have their published shapes;
* a kind (a message with ObjectMeta or ListMeta metadata) gets TypeMeta's `apiVersion` and `kind`.

Known difference: properties are those of the proto messages, so Go-only fields (none in the served
kinds) would be missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from podherd.localcluster.apimachinery.proto.schema import (
    FIELDS_V1,
    INT_OR_STRING,
    META,
    MICRO_TIME,
    QUANTITY,
    RAW_EXTENSION,
    TIME,
    Field,
    Message,
    Schema,
    parse_markers,
)

REF = "#/components/schemas/"
_SCALARS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "bytes": {"type": "string", "format": "byte"},
    "bool": {"type": "boolean"},
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "double": {"type": "number", "format": "double"},
}
_ZERO = {"string": "", "bool": False, "int32": 0, "int64": 0, "double": 0}
_SPECIAL: dict[str, dict[str, Any]] = {
    TIME: {"type": "string", "format": "date-time"},
    MICRO_TIME: {"type": "string", "format": "date-time"},
    QUANTITY: {"oneOf": [{"type": "string"}, {"type": "number"}]},
    INT_OR_STRING: {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]},
    RAW_EXTENSION: {"type": "object"},
    FIELDS_V1: {"type": "object"},
}
_KIND_METADATA = frozenset({f"{META}.ObjectMeta", f"{META}.ListMeta"})
_TYPE_META_KINDS = frozenset({"DeleteOptions", "APIResourceList", "APIGroupList", "APIGroup", "APIVersions"})
_LIST_MARKERS = {"listType": "x-kubernetes-list-type", "patchStrategy": "x-kubernetes-patch-strategy"}


def schema_name(full_name: str) -> str:
    """The OpenAPI name of a message: its Go package path, reversed domain first (io.k8s.api.core.v1.Pod)."""
    return "io.k8s." + full_name.removeprefix("k8s.io.")


def description(comment: str, extra: Iterable[str] = ()) -> str:
    """kube-openapi's generateDescription over the comment lines (and any extra lines, e.g. enum values)."""
    out: list[str] = []

    def drop_last() -> None:
        if out and out[-1]:
            out[-1] = out[-1][:-1]

    for raw in [*comment.splitlines(), *extra]:
        if raw == "---":
            break
        line = raw.rstrip(" ")
        leading = line.lstrip(" ")
        if not line:
            drop_last()
            out.append("\n\n")
        elif leading.startswith(("TODO", "+")):
            continue
        elif line.startswith((" ", "\t")):
            drop_last()
            out.append("\n" + line + "\n")
        else:
            out.append(line + " ")
    return "".join(out).strip()


class SchemaBuilder:
    """Builds `components.schemas` entries for messages and everything they reference."""

    def __init__(self, proto: Schema) -> None:
        self.proto = proto

    def closure(self, roots: Iterable[str], gvks: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
        """Schemas of `roots` and every message they reach, by OpenAPI name; `gvks` adds
        ``x-kubernetes-group-version-kind`` to the messages named in it."""
        out: dict[str, Any] = {}
        pending = list(roots)
        while pending:
            full = pending.pop()
            name = schema_name(full)
            if name in out:
                continue
            message = self.proto.message(full)
            out[name] = self.message_schema(message)
            if full in gvks:
                out[name]["x-kubernetes-group-version-kind"] = gvks[full]
            pending.extend(self._references(message))
        return dict(sorted(out.items()))

    def _references(self, message: Message) -> Iterable[str]:
        for f in message.fields:
            if not f.scalar:
                target = self.proto.message(f.type)
                if f.inline:
                    yield from self._references(target)
                elif not target.slice_wrapper:
                    yield f.type

    def message_schema(self, message: Message) -> dict[str, Any]:
        out: dict[str, Any] = {"description": description(message.comment)} if message.comment else {}
        if message.full_name in _SPECIAL:
            return {**out, **_SPECIAL[message.full_name]}
        out["type"] = "object"
        properties: dict[str, Any] = {}
        required: list[str] = []
        if self._is_kind(message):
            type_meta = self.proto.message(f"{META}.TypeMeta")
            for f in type_meta.fields:
                properties[f.json_name] = {"description": description(f.comment), "type": "string"}
        for f in self._flattened(message):
            properties[f.json_name] = self.property_schema(f)
            markers = f.markers
            if "required" in markers or ("optional" not in markers and not f.omitempty):
                required.append(f.json_name)
        if required:
            out["required"] = required
        out["properties"] = dict(sorted(properties.items()))
        if parse_markers(message.comment).get("structType") == ["atomic"]:
            out["x-kubernetes-map-type"] = "atomic"
        return out

    def _is_kind(self, message: Message) -> bool:
        meta = message.by_json.get("metadata")
        return (meta is not None and meta.type in _KIND_METADATA) or message.name in _TYPE_META_KINDS

    def _flattened(self, message: Message) -> list[Field]:
        """The message's fields with inline (embedded) messages' fields in their place."""
        out: list[Field] = []
        for f in message.fields:
            out.extend(self._flattened(self.proto.message(f.type)) if f.inline else [f])
        return out

    def property_schema(self, f: Field) -> dict[str, Any]:
        markers = f.markers
        enum_values = self.proto.enums.get(f.enum or "", [])
        extra = ["", "Possible enum values:", *sorted(_enum_line(v) for v in enum_values)] if enum_values else []
        out: dict[str, Any] = {"description": description(f.comment, extra)}
        if f.map_key is not None:
            out.update(type="object", additionalProperties=self._element(f.type))
        elif f.repeated:
            out.update(type="array", items=self._element(f.type))
        elif f.scalar:
            out.update(_SCALARS[f.type])
            if not f.pointer and not f.omitempty:
                out["default"] = _ZERO.get(f.type, "")
        else:
            target = self.proto.message(f.type)
            if target.slice_wrapper:
                out.update(type="array", items={**_SCALARS["string"], "default": ""})
            else:
                if not f.pointer:
                    out["default"] = {}
                out["allOf"] = [{"$ref": REF + schema_name(f.type)}]
        if "default" in markers:
            value = self._default(markers["default"][0])
            if value is not None:
                out["default"] = value
        if enum_values:
            out["enum"] = sorted(value for _name, value, _comment in enum_values)
        out.update(_extensions(markers))
        if not out["description"]:
            del out["description"]
        return out

    def _default(self, marker: str) -> Any:
        """A ``+default=`` value: JSON, or ``ref(Constant)`` naming a constant of an enum type."""
        if marker.startswith("ref(") and marker.endswith(")"):
            constant = marker[4:-1].rsplit(".", 1)[-1]
            values = [v for values in self.proto.enums.values() for name, v, _c in values if name == constant]
            return values[0] if values else None
        try:
            return json.loads(marker)
        except ValueError:
            return None

    def _element(self, type_: str) -> dict[str, Any]:
        if type_ in _SCALARS:
            zero = _ZERO.get(type_)
            return (
                {**_SCALARS[type_], "default": zero} if zero is not None and type_ != "bytes" else dict(_SCALARS[type_])
            )
        if self.proto.message(type_).slice_wrapper:
            return {"type": "array", "items": {**_SCALARS["string"], "default": ""}}
        return {"default": {}, "allOf": [{"$ref": REF + schema_name(type_)}]}


def _enum_line(value: tuple[str, str, str]) -> str:
    """One "Possible enum values" line: the value quoted, then its constant's comment without the name."""
    name, literal, comment = value
    text = " ".join(comment.strip().removeprefix(name).split())
    return f" - `{json.dumps(literal)}` {text}"


def _extensions(markers: dict[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for marker, extension in _LIST_MARKERS.items():
        if marker in markers:
            out[extension] = markers[marker][0]
    if "listMapKey" in markers:
        out["x-kubernetes-list-map-keys"] = markers["listMapKey"]
    if "patchMergeKey" in markers:
        out["x-kubernetes-patch-merge-key"] = markers["patchMergeKey"][0]
    if "mapType" in markers:
        out["x-kubernetes-map-type"] = markers["mapType"][0]
    return out
