"""Kubernetes' protobuf envelope and watch framing (apimachinery `runtime/serializer/protobuf`).

An object on the wire is the 4-byte magic ``k8s\\0`` followed by a `runtime.Unknown` whose
`typeMeta` names the apiVersion and kind and whose `raw` holds the object's own message
(`contentEncoding` and `contentType` are empty, written anyway as Go does). The kind in the envelope
is the only place kind and apiVersion live: the messages themselves have no such fields, and a
list's items carry neither.

A protobuf watch (``application/vnd.kubernetes.protobuf;stream=watch``) is a sequence of frames, each
a 4-byte big-endian length and a `meta.v1.WatchEvent` written *without* the envelope (the stream
serializer is apimachinery's RawSerializer), whose `object.raw` is the event's object *with* it.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from podherd.localcluster.apimachinery.proto import codec, wire
from podherd.localcluster.apimachinery.proto.schema import META, RUNTIME, Schema
from podherd.localcluster.apimachinery.proto.wellknown import CodecError

MAGIC: Final = b"k8s\x00"
MEDIA_TYPE: Final = "application/vnd.kubernetes.protobuf"
WATCH_MEDIA_TYPE: Final = MEDIA_TYPE + ";stream=watch"


def wrap(api_version: str, kind: str, raw: bytes) -> bytes:
    """The envelope around an encoded message."""
    type_meta = bytearray()
    wire.put_bytes(type_meta, 1, api_version.encode())
    wire.put_bytes(type_meta, 2, kind.encode())
    out = bytearray(MAGIC)
    wire.put_bytes(out, 1, bytes(type_meta))
    wire.put_bytes(out, 2, raw)
    wire.put_bytes(out, 3, b"")
    wire.put_bytes(out, 4, b"")
    return bytes(out)


def unwrap(data: bytes) -> tuple[str, str, bytes]:
    """(apiVersion, kind, raw message) of an enveloped object; CodecError when it is not one."""
    if not data.startswith(MAGIC):
        raise CodecError(f"provided data does not appear to be a protobuf message, expected prefix {list(MAGIC)}")
    if len(data) == len(MAGIC):
        raise CodecError("empty body")
    api_version = kind = ""
    raw = b""
    try:
        for number, _wt, value in wire.fields(data[len(MAGIC) :]):
            if number == 1 and isinstance(value, bytes):
                for n, _w, v in wire.fields(value):
                    if n == 1 and isinstance(v, bytes):
                        api_version = v.decode()
                    elif n == 2 and isinstance(v, bytes):
                        kind = v.decode()
            elif number == 2 and isinstance(value, bytes):
                raw = value
    except (wire.WireError, UnicodeDecodeError) as e:
        raise CodecError(f"the protobuf envelope is malformed: {e}") from None
    return api_version, kind, raw


def encode_object(schema: Schema, obj: dict[str, Any]) -> bytes:
    """An object with `kind` and `apiVersion` (a single object, a list or a Status), enveloped."""
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    message = schema.message_for(api_version, kind)
    if message is None:
        raise CodecError(f"no protobuf message for {kind} in {api_version or 'no apiVersion'}")
    return wrap(api_version, kind, codec.encode(schema, message, obj))


def decode_object(schema: Schema, data: bytes) -> dict[str, Any]:
    """An enveloped object as JSON, with the `kind` and `apiVersion` of its envelope first."""
    api_version, kind, raw = unwrap(data)
    if not kind:
        raise CodecError("Object 'Kind' is missing in the protobuf envelope")
    if not api_version:
        raise CodecError("Object 'apiVersion' is missing in the protobuf envelope")
    message = schema.message_for(api_version, kind)
    if message is None:
        raise CodecError(f"no kind {kind!r} is registered for version {api_version!r}")
    body = codec.decode(schema, message, raw)
    return {"kind": kind, "apiVersion": api_version, **body}


def watch_frame(event_type: str, enveloped_object: bytes) -> bytes:
    """One frame of a protobuf watch stream: length, then WatchEvent{type, object{raw}}."""
    raw_extension = bytearray()
    wire.put_bytes(raw_extension, 1, enveloped_object)
    event = bytearray()
    wire.put_bytes(event, 1, event_type.encode())
    wire.put_bytes(event, 2, bytes(raw_extension))
    return struct.pack(">I", len(event)) + bytes(event)


def read_watch_frames(stream: bytes, schema: Schema) -> list[tuple[str, dict[str, Any]]]:
    """Every (type, object) of a protobuf watch stream (tests and clients; the server only writes)."""
    events = []
    pos = 0
    event_message = schema.message(f"{META}.WatchEvent")
    assert event_message.by_number[2].type == f"{RUNTIME}.RawExtension"
    while pos < len(stream):
        if pos + 4 > len(stream):
            raise CodecError("truncated frame length")
        (size,) = struct.unpack(">I", stream[pos : pos + 4])
        frame = stream[pos + 4 : pos + 4 + size]
        if len(frame) != size:
            raise CodecError("truncated frame")
        pos += 4 + size
        event_type, enveloped = "", b""
        for number, _wt, value in wire.fields(frame):
            if number == 1 and isinstance(value, bytes):
                event_type = value.decode()
            elif number == 2 and isinstance(value, bytes):
                enveloped = next((v for n, _w, v in wire.fields(value) if n == 1 and isinstance(v, bytes)), b"")
        events.append((event_type, decode_object(schema, enveloped)))
    return events
