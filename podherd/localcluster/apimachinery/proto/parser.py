"""A parser for the .proto files Kubernetes generates (go-to-protobuf output), with their comments.

Why our own, and so small: the `protobuf` package cannot read .proto text without `protoc`, and
generated code for 300 KB of core/v1 would be a dependency on a generator. go-to-protobuf writes a
narrow, regular subset of proto2: one statement per line (`syntax`, `package`, `import`, `option`,
`message X {`, `}`, and fields `optional|repeated TYPE name = N;` or `map<K, V> name = N;`), no nested
messages, enums, oneofs or field options. This parser reads exactly that and refuses anything else,
so a new construct in a future schema fails loudly instead of being misread.

Comments are kept: the `//` lines above a message or field (up to the previous statement) become its
`comment`, markers such as ``+optional`` and ``+listType=map`` included. The OpenAPI documents and the
server-side apply schema read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCALARS = frozenset({"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float"})

_FIELD = re.compile(r"^(optional|repeated|required)\s+([.\w]+)\s+(\w+)\s*=\s*(\d+)\s*;$")
_MAP = re.compile(r"^map<\s*(\w+)\s*,\s*([.\w]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;$")
_MESSAGE = re.compile(r"^message\s+(\w+)\s*\{$")
_HEADER = re.compile(r"^(syntax|package|import|option)\b\s*(.*?);$")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


class ProtoSyntaxError(ValueError):
    """A .proto construct outside the subset go-to-protobuf writes."""


@dataclass(frozen=True)
class ProtoField:
    name: str
    number: int
    type: str  # a scalar name, or a message name as written (resolved later by the schema)
    repeated: bool = False
    map_key: str | None = None  # set for map<K, V> fields; `type` is then V
    comment: str = ""


@dataclass(frozen=True)
class ProtoMessage:
    name: str
    comment: str
    fields: tuple[ProtoField, ...]


@dataclass(frozen=True)
class ProtoFile:
    package: str
    imports: tuple[str, ...]
    messages: tuple[ProtoMessage, ...]


def _comment_text(lines: list[str]) -> str:
    return "\n".join(lines)


def parse(text: str) -> ProtoFile:
    """Parse one generated.proto file."""
    package = ""
    imports: list[str] = []
    messages: list[ProtoMessage] = []
    pending: list[str] = []  # comment lines since the last statement
    current: tuple[str, str, list[ProtoField]] | None = None
    for number, raw in enumerate(_BLOCK_COMMENT.sub("", text).splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("//"):
            pending.append(line[2:][1:] if line[2:3] == " " else line[2:])
            continue
        comment, pending = _comment_text(pending), []
        try:
            if current is None:
                header = _HEADER.match(line)
                if header:
                    kind, value = header.groups()
                    if kind == "package":
                        package = value.strip()
                    elif kind == "import":
                        imports.append(value.strip().strip('"'))
                    continue
                message = _MESSAGE.match(line)
                if not message:
                    raise ProtoSyntaxError(f"unexpected statement {line!r}")
                current = (message.group(1), comment, [])
                continue
            if line == "}":
                messages.append(ProtoMessage(current[0], current[1], tuple(current[2])))
                current = None
                continue
            current[2].append(_field(line, comment))
        except ProtoSyntaxError as e:
            raise ProtoSyntaxError(f"line {number}: {e}") from None
    if current is not None:
        raise ProtoSyntaxError(f"message {current[0]} is not closed")
    return ProtoFile(package, tuple(imports), tuple(messages))


def _field(line: str, comment: str) -> ProtoField:
    plain = _FIELD.match(line)
    if plain:
        label, type_, name, num = plain.groups()
        return ProtoField(name, int(num), type_, label == "repeated", None, comment)
    mapped = _MAP.match(line)
    if mapped:
        key, value, name, num = mapped.groups()
        if key not in SCALARS:
            raise ProtoSyntaxError(f"map key type {key} is not a scalar")
        return ProtoField(name, int(num), value, False, key, comment)
    raise ProtoSyntaxError(f"unexpected field {line!r}")
