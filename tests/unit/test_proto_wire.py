"""The protobuf building blocks, pure: wire format, .proto parser, apimachinery's special types, envelope.

Expected bytes are written out by hand from the protobuf encoding spec (not produced by our encoder),
so these tests pin the format itself.
"""

from __future__ import annotations

import pytest

from podherd.localcluster.apimachinery.proto import envelope, schema, wellknown, wire
from podherd.localcluster.apimachinery.proto.parser import ProtoSyntaxError, parse
from podherd.localcluster.apimachinery.proto.wellknown import CodecError

# ---- wire ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (-1, b"\xff" * 9 + b"\x01"),  # negative int32/int64: 64-bit two's complement, 10 bytes
        (-62135596800, b"\x80\x92\xb8\xc3\x98\xfe\xff\xff\xff\x01"),  # Go\'s zero time
    ],
)
def test_varints(value: int, encoded: bytes) -> None:
    out = bytearray()
    wire.put_varint(out, value)
    assert bytes(out) == encoded
    decoded, end = wire.get_varint(encoded, 0)
    assert end == len(encoded)
    assert wire.signed(decoded, 64) == value


def test_signed_32_bit_values() -> None:
    decoded, _ = wire.get_varint(b"\xff" * 9 + b"\x01", 0)
    assert wire.signed(decoded, 32) == -1
    assert wire.signed(2**31, 32) == -(2**31)


def test_fields_reads_every_wire_type_and_refuses_garbage() -> None:
    data = b"\x08\x96\x01" + b"\x12\x03abc" + b"\x19" + (7).to_bytes(8, "little") + b"\x25" + (9).to_bytes(4, "little")
    assert list(wire.fields(data)) == [(1, 0, 150), (2, 2, b"abc"), (3, 1, 7), (4, 5, 9)]
    for bad in (b"\x12\x05ab", b"\x08", b"\x0b", b"\x00\x01"):  # truncated, truncated, group, field 0
        with pytest.raises(wire.WireError):
            list(wire.fields(bad))
    assert wire.packed_varints(b"\x01\x96\x01\x00") == [1, 150, 0]


# ---- parser ----------------------------------------------------------------------------------------

PROTO = """
/* license */
syntax = "proto2";

package k8s.io.api.demo.v1;

import "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto";

// Package-wide variables from generator "generated".
option go_package = "k8s.io/api/demo/v1";

// Thing is a demo.
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
message Thing {
  // Standard metadata.
  // +optional
  optional .k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;

  // items, if empty, will result in an empty slice

  repeated string items = 2;

  map<string, Part> parts = 3;
}

message Part {
}
"""


def test_parser_reads_the_generated_subset_with_comments() -> None:
    f = parse(PROTO)
    assert f.package == "k8s.io.api.demo.v1"
    assert f.imports == ("k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto",)
    thing, part = f.messages
    assert thing.name == "Thing" and part.fields == ()
    assert thing.comment.startswith("Thing is a demo.\n+k8s:deepcopy-gen")
    meta, items, parts = thing.fields
    assert (meta.type, meta.number, meta.repeated, meta.comment) == (
        ".k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        1,
        False,
        "Standard metadata.\n+optional",
    )
    assert items.repeated and "empty slice" in items.comment
    assert (parts.map_key, parts.type) == ("string", "Part")


@pytest.mark.parametrize(
    "text",
    [
        "enum Color {\n}",
        "message A {\n  oneof x {\n  }\n}",
        "message A {\n  optional string a = 1 [default = 'x'];\n}",
        "message A {",
    ],
)
def test_parser_refuses_what_go_to_protobuf_never_writes(text: str) -> None:
    with pytest.raises(ProtoSyntaxError):
        parse(text)


def test_committed_schema_loads_with_go_facts() -> None:
    s = schema.load()
    volume = s.message("k8s.io.api.core.v1.Volume")
    assert [(f.name, f.inline) for f in volume.fields] == [("name", False), ("volumeSource", True)]
    probe = s.message("k8s.io.api.core.v1.Probe")
    assert probe.by_number[1].inline and probe.by_number[1].type == "k8s.io.api.core.v1.ProbeHandler"
    spec = s.message("k8s.io.api.core.v1.PodSpec").by_json
    assert spec["terminationGracePeriodSeconds"].keep_zero  # *int64: 0 means "kill at once"
    assert not spec["hostNetwork"].keep_zero  # bool with omitempty: false is not written
    assert s.message("k8s.io.api.core.v1.ContainerStatus").by_json["restartCount"].keep_zero  # no omitempty
    assert s.message("k8s.io.apimachinery.pkg.apis.meta.v1.Verbs").slice_wrapper
    assert s.message_for("v1", "Pod").full_name == "k8s.io.api.core.v1.Pod"
    assert s.message_for("coordination.k8s.io/v1", "Lease").full_name == "k8s.io.api.coordination.v1.Lease"
    assert s.message_for("v1", "Status").full_name == "k8s.io.apimachinery.pkg.apis.meta.v1.Status"
    assert s.message_for("coordination.k8s.io/v1", "DeleteOptions").name == "DeleteOptions"
    assert s.message_for("v1", "NoSuchKind") is None
    assert ("ProtocolTCP", "TCP", "ProtocolTCP is the TCP protocol.") in s.enums["k8s.io.api.core.v1.Protocol"]


# ---- apimachinery's special types ------------------------------------------------------------------


def test_time_keeps_whole_seconds_and_zero_is_null() -> None:
    encoded = wellknown.encode(schema.TIME, "2025-01-01T00:00:10.5+01:00")
    assert encoded == b"\x08" + b"\xfa\xee\xd1\xbb\x06" + b"\x10\x00"  # 1735686010, nanos 0
    assert wellknown.decode(schema.TIME, encoded) == "2024-12-31T23:00:10Z"
    assert wellknown.decode(schema.TIME, b"") is None
    with pytest.raises(CodecError):
        wellknown.encode(schema.TIME, "yesterday")


def test_micro_time_keeps_microseconds() -> None:
    encoded = wellknown.encode(schema.MICRO_TIME, "2025-01-01T00:00:10.123456789Z")
    assert wellknown.decode(schema.MICRO_TIME, encoded) == "2025-01-01T00:00:10.123456Z"
    nanos = dict((n, v) for n, _w, v in wire.fields(encoded))[2]
    assert nanos == 123456000


def test_int_or_string_quantity_raw_extension() -> None:
    assert wellknown.encode(schema.INT_OR_STRING, 8080) == b"\x08\x00\x10\x90\x3f\x1a\x00"
    assert wellknown.encode(schema.INT_OR_STRING, "http") == b"\x08\x01\x10\x00\x1a\x04http"
    for value in (8080, "http", 0, -3):
        assert wellknown.decode(schema.INT_OR_STRING, wellknown.encode(schema.INT_OR_STRING, value)) == value
    assert wellknown.encode(schema.QUANTITY, "100m") == b"\x0a\x04100m"
    assert wellknown.decode(schema.QUANTITY, wellknown.encode(schema.QUANTITY, 2)) == "2"
    raw = wellknown.encode(schema.RAW_EXTENSION, {"a": [1]})
    assert raw == b'\x0a\x09{"a":[1]}'
    assert wellknown.decode(schema.RAW_EXTENSION, raw) == {"a": [1]}
    assert wellknown.decode(schema.FIELDS_V1, wellknown.encode(schema.FIELDS_V1, {"f:x": {}})) == {"f:x": {}}
    for name, bad in ((schema.INT_OR_STRING, 1.5), (schema.INT_OR_STRING, True), (schema.QUANTITY, None)):
        with pytest.raises(CodecError):
            wellknown.encode(name, bad)


# ---- envelope and watch frames ---------------------------------------------------------------------


def test_envelope_is_magic_then_unknown() -> None:
    assert envelope.wrap("v1", "Namespace", b"\x0a\x00") == (
        b"k8s\x00"
        + b"\x0a\x0f\x0a\x02v1\x12\x09Namespace"  # typeMeta {apiVersion, kind}
        + b"\x12\x02\x0a\x00"  # raw
        + b"\x1a\x00\x22\x00"  # contentEncoding, contentType: empty, written as Go does
    )
    assert envelope.unwrap(envelope.wrap("coordination.k8s.io/v1", "Lease", b"xyz")) == (
        "coordination.k8s.io/v1",
        "Lease",
        b"xyz",
    )
    for bad in (b"", b"k8s\x00", b'{"kind":"Pod"}', b"k8s\x00\x0a\x05"):
        with pytest.raises(CodecError):
            envelope.unwrap(bad)


def test_watch_frame_is_length_then_raw_watch_event() -> None:
    obj = envelope.wrap("v1", "Pod", b"")
    frame = envelope.watch_frame("ADDED", obj)
    event = b"\x0a\x05ADDED" + b"\x12" + bytes([len(obj) + 2]) + b"\x0a" + bytes([len(obj)]) + obj
    assert frame == len(event).to_bytes(4, "big") + event
    assert envelope.read_watch_frames(frame + frame, schema.load()) == [
        ("ADDED", {"kind": "Pod", "apiVersion": "v1"}),
        ("ADDED", {"kind": "Pod", "apiVersion": "v1"}),
    ]
