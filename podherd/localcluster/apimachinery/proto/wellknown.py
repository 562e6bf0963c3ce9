"""The apimachinery types whose JSON is not an object of their protobuf fields, encoded as Go does.

Each has a custom JSON marshaller in Go, so the generic field-by-field mapping would be wrong:

* ``meta.v1.Time``: RFC 3339 with whole seconds (``2006-01-02T15:04:05Z``); protobuf keeps only
  `seconds` (apimachinery's time_proto.go drops nanos both ways). A zero time is an empty message and
  JSON ``null``.
* ``meta.v1.MicroTime``: RFC 3339 with microseconds; protobuf `seconds` + `nanos` truncated to µs.
* ``resource.Quantity``: its string (`string = 1`); a JSON number is accepted on the way in.
* ``intstr.IntOrString``: a JSON number or string; protobuf `type` (0 int, 1 string), `intVal`, `strVal`.
* ``runtime.RawExtension`` and ``meta.v1.FieldsV1``: embedded JSON bytes (`raw` / `Raw`).

`encode(name, value)` returns the message bytes for a JSON value, `decode(name, data)` the JSON value;
both return `NotSpecial` for any other message.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from podherd.localcluster.apimachinery.proto import wire
from podherd.localcluster.apimachinery.proto.schema import (
    FIELDS_V1,
    INT_OR_STRING,
    MICRO_TIME,
    QUANTITY,
    RAW_EXTENSION,
    TIME,
)

NotSpecial: Final = object()
SPECIAL: Final = frozenset({TIME, MICRO_TIME, QUANTITY, INT_OR_STRING, RAW_EXTENSION, FIELDS_V1})

_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CodecError(ValueError):
    """A JSON value that cannot be written as its protobuf type (or bytes that cannot be read back)."""


def parse_time(text: Any) -> tuple[int, int]:
    """Seconds since the epoch and nanoseconds of an RFC 3339 time."""
    m = _RFC3339.match(text) if isinstance(text, str) else None
    if not m:
        raise CodecError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, zone = m.group(7) or "", m.group(8)
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds, int(fraction.ljust(9, "0")) if fraction else 0


def format_time(seconds: int, nanos: int = 0, micro: bool = False) -> str:
    moment = _EPOCH + timedelta(seconds=seconds)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{nanos // 1000:06d}Z" if micro else f"{text}Z"


def _encode_time(value: Any, micro: bool) -> bytes:
    seconds, nanos = parse_time(value)
    out = bytearray()
    wire.put_int(out, 1, seconds)
    wire.put_int(out, 2, (nanos // 1000) * 1000 if micro else 0)
    return bytes(out)


def _decode_time(data: bytes, micro: bool) -> str | None:
    if not data:
        return None  # the zero time
    seconds = nanos = 0
    for number, _wt, value in wire.fields(data):
        if number == 1 and isinstance(value, int):
            seconds = wire.signed(value, 64)
        elif number == 2 and isinstance(value, int):
            nanos = wire.signed(value, 32)
    return format_time(seconds, nanos, micro)


def _encode_int_or_string(value: Any) -> bytes:
    out = bytearray()
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise CodecError(f"an IntOrString must be an integer or a string, not {value!r}")
    if isinstance(value, int):
        wire.put_int(out, 1, 0)
        wire.put_int(out, 2, value)
        wire.put_bytes(out, 3, b"")
    else:
        wire.put_int(out, 1, 1)
        wire.put_int(out, 2, 0)
        wire.put_bytes(out, 3, value.encode())
    return bytes(out)


def _decode_int_or_string(data: bytes) -> int | str:
    kind, int_val, str_val = 0, 0, ""
    for number, _wt, value in wire.fields(data):
        if number == 1 and isinstance(value, int):
            kind = value
        elif number == 2 and isinstance(value, int):
            int_val = wire.signed(value, 32)
        elif number == 3 and isinstance(value, bytes):
            str_val = value.decode()
    return str_val if kind == 1 else int_val


def _single_bytes(data: bytes) -> bytes:
    """The one length-delimited field 1 of Quantity, RawExtension and FieldsV1."""
    for number, _wt, value in wire.fields(data):
        if number == 1 and isinstance(value, bytes):
            return value
    return b""


def _encode_single(payload: bytes) -> bytes:
    out = bytearray()
    wire.put_bytes(out, 1, payload)
    return bytes(out)


def encode(name: str, value: Any) -> bytes | object:
    """The message bytes of a special type's JSON value, or `NotSpecial`."""
    if name in (TIME, MICRO_TIME):
        return _encode_time(value, name == MICRO_TIME)
    if name == QUANTITY:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise CodecError(f"a quantity must be a string or a number, not {value!r}")
        return _encode_single(str(value).encode())
    if name == INT_OR_STRING:
        return _encode_int_or_string(value)
    if name in (RAW_EXTENSION, FIELDS_V1):
        return _encode_single(orjson.dumps(value))
    return NotSpecial


def decode(name: str, data: bytes) -> Any:
    """The JSON value of a special type's message bytes, or `NotSpecial`."""
    if name in (TIME, MICRO_TIME):
        return _decode_time(data, name == MICRO_TIME)
    if name == QUANTITY:
        return _single_bytes(data).decode()
    if name == INT_OR_STRING:
        return _decode_int_or_string(data)
    if name in (RAW_EXTENSION, FIELDS_V1):
        raw = _single_bytes(data)
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise CodecError(f"{name.rsplit('.', 1)[-1]} does not hold JSON") from None
    return NotSpecial
