"""JSON objects to protobuf messages and back, driven by the parsed schema: a small generic codec.

Why generic rather than generated: one walker over `schema.Message` serves every kind of every
committed .proto file, so a kind registered elsewhere (a ConfigMap, a Node) encodes with no code of
its own. The mapping is Go's: a protobuf field holds the value of the JSON key of the same name
(`Field.json_name`); `repeated` is a JSON list; `map<K, V>` a JSON object; a message a nested object,
except the apimachinery types in `wellknown`, slice wrappers (a JSON list), and `inline` fields, whose
keys sit in the parent object.

Decoding follows what Go would have written as JSON after reading the same bytes. Go's marshaller
writes every non-pointer scalar, zero or not, so a zero on the wire means "unset" unless the field is
a pointer or has no `omitempty` (`Field.keep_zero`); other zero scalars are dropped, as
`encoding/json`'s omitempty would. Unknown field numbers are skipped, as proto2 readers do.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from podherd.localcluster.apimachinery.proto import wellknown, wire
from podherd.localcluster.apimachinery.proto.schema import Field, Message, Schema
from podherd.localcluster.apimachinery.proto.wellknown import CodecError, NotSpecial

_ZERO = ("", 0, False)
_INT_BITS = {"int32": 32, "int64": 64, "uint32": 32, "uint64": 64}


# ---- encoding ----------------------------------------------------------------------------------


def encode(schema: Schema, message: Message, obj: Any) -> bytes:
    """The wire bytes of JSON object `obj` as `message`; JSON keys the message lacks are dropped."""
    if message.slice_wrapper:
        obj = {message.fields[0].json_name: obj}
    if not isinstance(obj, dict):
        raise CodecError(f"{message.name} must be a JSON object, not {type(obj).__name__}")
    out = bytearray()
    for f in message.fields:
        if f.inline:
            inner = encode(schema, schema.message(f.type), obj)
            if inner:
                wire.put_bytes(out, f.number, inner)
            continue
        value = obj.get(f.json_name)
        if value is None:
            if f.json_name in obj and not (f.pointer or f.scalar or f.repeated or f.map_key):
                wire.put_bytes(out, f.number, b"")  # Go writes a non-pointer struct even when zero (null Time)
            continue
        try:
            _put_field(schema, out, f, value)
        except CodecError as e:
            raise CodecError(f"{f.json_name}: {e}") from None
    return bytes(out)


def _put_field(schema: Schema, out: bytearray, f: Field, value: Any) -> None:
    if f.map_key is not None:
        if not isinstance(value, dict):
            raise CodecError("must be a JSON object")
        for key, item in value.items():
            entry = bytearray()
            _put_value(schema, entry, 1, f.map_key, key)
            if item is not None:
                _put_value(schema, entry, 2, f.type, item)
            wire.put_bytes(out, f.number, bytes(entry))
    elif f.repeated:
        if not isinstance(value, list):
            raise CodecError("must be a JSON list")
        for item in value:
            if item is not None:
                _put_value(schema, out, f.number, f.type, item)
    else:
        _put_value(schema, out, f.number, f.type, value)


def _put_value(schema: Schema, out: bytearray, number: int, type_: str, value: Any) -> None:
    if type_ == "string":
        if not isinstance(value, str):
            raise CodecError(f"must be a string, not {value!r}")
        wire.put_bytes(out, number, value.encode())
    elif type_ == "bytes":
        wire.put_bytes(out, number, _base64(value))
    elif type_ == "bool":
        if not isinstance(value, bool):
            raise CodecError(f"must be a boolean, not {value!r}")
        wire.put_int(out, number, int(value))
    elif type_ in _INT_BITS:
        wire.put_int(out, number, _integer(value, _INT_BITS[type_]))
    else:
        special = wellknown.encode(type_, value)
        body = special if special is not NotSpecial else encode(schema, schema.message(type_), value)
        assert isinstance(body, bytes)
        wire.put_bytes(out, number, body)


def _integer(value: Any, bits: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CodecError(f"must be an integer, not {value!r}")
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise CodecError(f"{value} does not fit in {bits} bits")
    return value


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise CodecError(f"bytes must be a base64 string, not {value!r}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CodecError(f"not valid base64: {value[:40]!r}") from None


# ---- decoding ----------------------------------------------------------------------------------


def decode(schema: Schema, message: Message, data: bytes) -> Any:
    """The JSON value Go would write for `message` read from `data`."""
    out: dict[str, Any] = {}
    try:
        for number, wire_type, raw in wire.fields(data):
            f = message.by_number.get(number)
            if f is not None:
                _read_field(schema, out, f, wire_type, raw)
    except (wire.WireError, UnicodeDecodeError) as e:
        raise CodecError(f"{message.name}: {e}") from None
    for f in message.fields:
        if f.scalar and not f.keep_zero and f.map_key is None and not f.repeated and out.get(f.json_name, 1) in _ZERO:
            del out[f.json_name]
    if message.slice_wrapper:
        return out.get(message.fields[0].json_name, [])
    return out


def _read_field(schema: Schema, out: dict[str, Any], f: Field, wire_type: int, raw: int | bytes) -> None:
    if f.inline:
        assert isinstance(raw, bytes)
        out.update(decode(schema, schema.message(f.type), raw))
    elif f.map_key is not None:
        assert isinstance(raw, bytes)
        key, value = _map_entry(schema, f, raw)
        out.setdefault(f.json_name, {})[key] = value
    elif f.repeated:
        items = out.setdefault(f.json_name, [])
        if wire_type == wire.LEN and (f.type in _INT_BITS or f.type == "bool"):
            assert isinstance(raw, bytes)
            items.extend(_scalar(f.type, v) for v in wire.packed_varints(raw))
        else:
            items.append(_value(schema, f.type, raw))
    else:
        out[f.json_name] = _value(schema, f.type, raw)


def _map_entry(schema: Schema, f: Field, data: bytes) -> tuple[Any, Any]:
    assert f.map_key is not None
    key: Any = _value(schema, f.map_key, b"" if f.map_key in ("string", "bytes") else 0)
    value: Any = None
    for number, _wt, raw in wire.fields(data):
        if number == 1:
            key = _value(schema, f.map_key, raw)
        elif number == 2:
            value = _value(schema, f.type, raw)
    if value is None:
        value = _value(schema, f.type, b"" if f.type not in _INT_BITS and f.type != "bool" else 0)
    return key, value


def _value(schema: Schema, type_: str, raw: int | bytes) -> Any:
    if isinstance(raw, int):
        return _scalar(type_, raw)
    if type_ == "string":
        return raw.decode()
    if type_ == "bytes":
        return base64.b64encode(raw).decode()
    if type_ in _INT_BITS or type_ == "bool":
        raise CodecError(f"a {type_} field holds length-delimited data")
    special = wellknown.decode(type_, raw)
    if special is not NotSpecial:
        return special
    return decode(schema, schema.message(type_), raw)


def _scalar(type_: str, value: int) -> Any:
    if type_ == "bool":
        return value != 0
    if type_ in ("int32", "int64"):
        return wire.signed(value, _INT_BITS[type_])
    if type_ in _INT_BITS:
        return value
    raise CodecError(f"a {type_} field holds a varint")
