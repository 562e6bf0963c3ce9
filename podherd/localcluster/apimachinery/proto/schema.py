"""The Kubernetes protobuf schema: the committed .proto files, resolved, plus the Go JSON facts they lack.

`load()` parses every file under `schemas/` once (lazily: nothing is read until protobuf, OpenAPI or
server-side apply first needs it) and resolves each field's type to a fully qualified message name.
`schemas/gojson.json` (made by ``scripts/protofacts.py`` from the Go types of the same versions) adds
what only the Go source says: a field's JSON name where it differs, embedded structs that JSON
flattens into their parent (`inline`), pointer fields and fields without ``omitempty`` (whose zero
value JSON keeps: `keep_zero`), and the values of ``+enum`` string types.

Which message encodes a kind is a convention, as in Kubernetes: the kind's name in the protobuf
package of its group-version (`GROUP_VERSION_PACKAGES`), else in meta/v1 (Status, DeleteOptions,
WatchEvent and the other types every group-version registers). A kind in a group already listed
needs nothing more; a new group-version needs one line there and its .proto file in `schemas/`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from podherd.localcluster.apimachinery.proto.parser import SCALARS, ProtoFile, ProtoMessage, parse

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
RUNTIME = "k8s.io.apimachinery.pkg.runtime"

GROUP_VERSION_PACKAGES: dict[tuple[str, str], str] = {
    ("", "v1"): "k8s.io.api.core.v1",
    ("coordination.k8s.io", "v1"): "k8s.io.api.coordination.v1",
    ("authorization.k8s.io", "v1"): "k8s.io.api.authorization.v1",
    ("meta.k8s.io", "v1"): META,
}

# Messages whose JSON form is not an object of their fields (apimachinery's custom marshallers).
TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
FIELDS_V1 = f"{META}.FieldsV1"
QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
RAW_EXTENSION = f"{RUNTIME}.RawExtension"
SLICE_WRAPPER_COMMENT = "items, if empty, will result in an empty slice"


@dataclass(frozen=True)
class Field:
    name: str  # the protobuf field name
    json_name: str
    number: int
    type: str  # a scalar name or a fully qualified message name
    repeated: bool
    map_key: str | None
    comment: str
    inline: bool = False
    pointer: bool = False
    omitempty: bool = True
    enum: str | None = None  # the full name of its +enum Go type, a key of `Schema.enums`

    @property
    def scalar(self) -> bool:
        return self.type in SCALARS

    @property
    def keep_zero(self) -> bool:
        """Go's JSON writes this field's zero value: it is a pointer, or has no omitempty."""
        return self.pointer or not self.omitempty

    @property
    def markers(self) -> dict[str, list[str]]:
        """The comment's ``+name=value`` markers (``+optional`` gives ``{"optional": [""]}``)."""
        return parse_markers(self.comment)


@dataclass(frozen=True)
class Message:
    full_name: str
    comment: str
    fields: tuple[Field, ...]
    by_number: dict[int, Field] = field(compare=False, repr=False)
    by_json: dict[str, Field] = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.full_name.rsplit(".", 1)[-1]

    @property
    def slice_wrapper(self) -> bool:
        """A Go named slice (`type Verbs []string`): JSON writes it as a plain list."""
        return len(self.fields) == 1 and self.fields[0].repeated and SLICE_WRAPPER_COMMENT in self.fields[0].comment


def parse_markers(comment: str) -> dict[str, list[str]]:
    """The ``+name`` / ``+name=value`` lines of a comment, by name (a name may repeat: ``+listMapKey``)."""
    out: dict[str, list[str]] = {}
    for line in comment.splitlines():
        line = line.strip()
        if line.startswith("+") and len(line) > 1:
            name, _, value = line[1:].partition("=")
            out.setdefault(name, []).append(value)
    return out


class Schema:
    """Every message of the committed .proto files, by fully qualified name, and the +enum types."""

    def __init__(self, files: list[ProtoFile], facts: dict[str, Any]) -> None:
        self.messages: dict[str, Message] = {}
        self.enums: dict[str, list[tuple[str, str, str]]] = {
            name: [tuple(v) for v in values] for name, values in facts.get("enums", {}).items()
        }
        message_facts = facts.get("messages", {})
        for f in files:
            for m in f.messages:
                full = f"{f.package}.{m.name}"
                self.messages[full] = self._resolve(f.package, full, m, message_facts.get(full, {}))

    def _resolve(self, package: str, full: str, m: ProtoMessage, facts: dict[str, dict[str, Any]]) -> Message:
        out = []
        for pf in m.fields:
            fact = facts.get(pf.name, {})
            type_ = pf.type
            if type_ not in SCALARS:
                type_ = type_[1:] if type_.startswith(".") else f"{package}.{type_}"
            out.append(
                Field(
                    name=pf.name,
                    json_name=fact.get("json", pf.name),
                    number=pf.number,
                    type=type_,
                    repeated=pf.repeated,
                    map_key=pf.map_key,
                    comment=pf.comment,
                    inline=bool(fact.get("inline")),
                    pointer=bool(fact.get("pointer")),
                    omitempty=fact.get("omitempty", True),
                    enum=fact.get("enum"),
                )
            )
        fields_ = tuple(sorted(out, key=lambda f: f.number))
        return Message(
            full,
            m.comment,
            fields_,
            {f.number: f for f in fields_},
            {f.json_name: f for f in fields_ if not f.inline},
        )

    def message(self, full_name: str) -> Message:
        try:
            return self.messages[full_name]
        except KeyError:
            raise KeyError(f"no protobuf message {full_name}") from None

    def message_for(self, api_version: str, kind: str) -> Message | None:
        """The message that encodes `kind` of `api_version`, or None when the schema has none."""
        group, _, version = api_version.rpartition("/")
        package = GROUP_VERSION_PACKAGES.get((group, version))
        for candidate in (f"{package}.{kind}" if package else None, f"{META}.{kind}"):
            if candidate is not None and candidate in self.messages:
                return self.messages[candidate]
        return None


@functools.cache
def load() -> Schema:
    """The schema of every committed .proto file (parsed on first use, then shared)."""
    root = resources.files(__package__).joinpath("schemas")
    files = [
        parse(p.read_text(encoding="utf-8"))
        for p in sorted(root.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".proto")
    ]
    facts = json.loads(root.joinpath("gojson.json").read_text(encoding="utf-8"))
    return Schema(files, facts)
