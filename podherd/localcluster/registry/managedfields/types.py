"""Server-side apply's type information, read from the .proto schema: which lists merge by which keys.

structured-merge-diff needs, for every field, one of four shapes, which Kubernetes derives from its
OpenAPI (kube-openapi ``schemaconv``); here they come from the same Go markers in the .proto comments:

* a **scalar**, or an **untyped** value (Time, Quantity, IntOrString, RawExtension, FieldsV1, and any
  field the schema does not know): always a leaf, whatever its JSON shape (SMD's atomic untyped);
* a **list**: atomic (replaced whole) unless ``+listType=set`` / ``+listType=map`` with
  ``+listMapKey`` keys, or, without ``+listType``, ``+patchStrategy=merge`` (with
  ``+patchMergeKey``: keyed, without: a set); ``retainKeys`` alone is atomic;
* a **map** (``map<K, V>``): granular unless ``+mapType=atomic``;
* a **struct** (a message): granular by field unless ``+structType=atomic``; inline fields are
  flattened into it.

A keyed list item that omits a key field uses the field's ``+default`` (containerPort's protocol
defaults to TCP), as SMD does.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from podherd.localcluster.apimachinery.proto.schema import (
    FIELDS_V1,
    INT_OR_STRING,
    MICRO_TIME,
    QUANTITY,
    RAW_EXTENSION,
    TIME,
    Field,
    Schema,
    parse_markers,
)

UNTYPED_MESSAGES = frozenset({TIME, MICRO_TIME, QUANTITY, INT_OR_STRING, RAW_EXTENSION, FIELDS_V1})


class Leaf:
    """A scalar or an untyped value: never descended into."""

    def __repr__(self) -> str:
        return "Leaf"


LEAF = Leaf()


@dataclass(eq=False)
class ListType:
    element: Any
    associative: bool = False
    keys: tuple[str, ...] = ()
    key_defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class MapType:
    """A struct (named fields) or a map (one element type); `atomic` maps and structs are leaves."""

    fields: dict[str, Any] = field(default_factory=dict)
    element: Any = LEAF  # the type of keys that are not named fields (map entries, unknown fields)
    atomic: bool = False
    struct: bool = False

    def field_type(self, name: str) -> Any:
        return self.fields.get(name, self.element)

    def has_field(self, name: str) -> bool:
        return name in self.fields


class Types:
    """Builds the type of each message on demand (structs are cached, so recursive messages terminate)."""

    def __init__(self, proto: Schema) -> None:
        self.proto = proto
        self._structs: dict[str, MapType] = {}

    def kind(self, api_version: str, kind: str) -> MapType:
        message = self.proto.message_for(api_version, kind)
        if message is None:
            return MapType(struct=True)
        return self.struct(message.full_name)

    def struct(self, message_name: str) -> MapType:
        cached = self._structs.get(message_name)
        if cached is not None:
            return cached
        message = self.proto.message(message_name)
        out = MapType(struct=True, atomic=parse_markers(message.comment).get("structType") == ["atomic"])
        self._structs[message_name] = out  # before the fields: a message may reach itself
        for f in self._flattened(message_name):
            out.fields[f.json_name] = self.field_type(f)
        return out

    def _flattened(self, message_name: str) -> list[Field]:
        out: list[Field] = []
        for f in self.proto.message(message_name).fields:
            out.extend(self._flattened(f.type) if f.inline else [f])
        return out

    def element(self, type_: str) -> Any:
        if type_ not in self.proto.messages or type_ in UNTYPED_MESSAGES:
            return LEAF
        message = self.proto.message(type_)
        if message.slice_wrapper:
            return ListType(LEAF)
        return self.struct(type_)

    def field_type(self, f: Field) -> Any:
        element = self.element(f.type)
        markers = f.markers
        if f.map_key is not None:
            return MapType(element=element, atomic=markers.get("mapType") == ["atomic"])
        if not f.repeated:
            return element
        return self._list(element, markers, f.type)

    def _list(self, element: Any, markers: dict[str, list[str]], element_message: str) -> ListType:
        list_type = markers.get("listType", [""])[0]
        keys: tuple[str, ...] = ()
        if list_type == "map":
            keys = tuple(markers.get("listMapKey", []))
        elif list_type in ("atomic", "set"):
            pass
        elif markers.get("patchStrategy", [""])[0] in ("merge", "merge,retainKeys"):
            list_type = "map" if "patchMergeKey" in markers else "set"
            keys = tuple(markers.get("patchMergeKey", []))
        if list_type not in ("map", "set"):
            return ListType(element)
        return ListType(element, True, keys, self._key_defaults(element_message, keys))

    def _key_defaults(self, element_message: str, keys: tuple[str, ...]) -> dict[str, Any]:
        """The ``+default=`` JSON values of the key fields of a keyed list's items."""
        if not keys or element_message not in self.proto.messages:
            return {}
        out = {}
        for f in self._flattened(element_message):
            if f.json_name in keys and "default" in f.markers:
                try:
                    out[f.json_name] = json.loads(f.markers["default"][0])
                except ValueError:
                    continue
        return out


@functools.cache
def types_for(proto: Schema) -> Types:
    """One `Types` per schema (they only cache)."""
    return Types(proto)
