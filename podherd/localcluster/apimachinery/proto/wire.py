"""The protobuf wire format, the few parts Kubernetes uses: varints, tags and length-delimited fields.

Kubernetes' generated.proto files use only `string`, `bytes`, `bool`, `int32`, `int64`, messages,
repeated fields and maps, so only wire types 0 (varint) and 2 (length-delimited) are written. The
reader also steps over 64- and 32-bit fields (types 1 and 5), which a newer peer could send, and
accepts packed repeated varints, as every protobuf decoder must.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT = 0
FIXED64 = 1
LEN = 2
FIXED32 = 5

_MASK64 = (1 << 64) - 1


class WireError(ValueError):
    """Bytes that are not a well-formed protobuf message."""


def put_varint(out: bytearray, value: int) -> None:
    """Append `value` as a base-128 varint; negative numbers as their 64-bit two's complement (10 bytes)."""
    value &= _MASK64
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def put_tag(out: bytearray, number: int, wire_type: int) -> None:
    put_varint(out, (number << 3) | wire_type)


def put_bytes(out: bytearray, number: int, data: bytes) -> None:
    """A length-delimited field: tag, length, bytes."""
    put_tag(out, number, LEN)
    put_varint(out, len(data))
    out += data


def put_int(out: bytearray, number: int, value: int) -> None:
    put_tag(out, number, VARINT)
    put_varint(out, value)


def get_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The varint at `pos` and the position after it."""
    result = shift = 0
    end = len(data)
    while True:
        if pos >= end:
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint longer than 10 bytes")


def signed(value: int, bits: int) -> int:
    """A decoded varint as the signed integer of `bits` bits it encodes (int32 and int64 fields)."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def fields(data: bytes | memoryview) -> Iterator[tuple[int, int, int | bytes]]:
    """Each field of a message as (number, wire type, value): an int for varints and fixed fields,
    the raw bytes for length-delimited ones."""
    view = memoryview(data)
    pos, end = 0, len(view)
    while pos < end:
        key, pos = get_varint(view, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire_type == VARINT:
            value, pos = get_varint(view, pos)
            yield number, wire_type, value
        elif wire_type == LEN:
            size, pos = get_varint(view, pos)
            if pos + size > end:
                raise WireError("truncated length-delimited field")
            yield number, wire_type, bytes(view[pos : pos + size])
            pos += size
        elif wire_type in (FIXED64, FIXED32):
            width = 8 if wire_type == FIXED64 else 4
            if pos + width > end:
                raise WireError("truncated fixed-width field")
            yield number, wire_type, int.from_bytes(view[pos : pos + width], "little")
            pos += width
        else:
            raise WireError(f"unsupported wire type {wire_type}")


def packed_varints(data: bytes) -> list[int]:
    """The values of a packed repeated varint field."""
    out = []
    pos = 0
    while pos < len(data):
        value, pos = get_varint(data, pos)
        out.append(value)
    return out
