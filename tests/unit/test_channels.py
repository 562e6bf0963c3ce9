"""apiserver.channels: the channel protocols' framing and the error channel's Status (pure)."""

from __future__ import annotations

import json

import pytest

from podherd.localcluster.apiserver import channels


def test_binary_protocols_frame_with_a_channel_byte() -> None:
    v5 = channels.negotiated("v5.channel.k8s.io")
    assert (v5.base64, v5.status_json, v5.close_signal) == (False, True, True)
    assert v5.encode(1, b"hi") == b"\x01hi"
    assert v5.decode(b"\x00abc") == (0, b"abc")
    assert v5.decode("\x00text") == (0, b"text")  # the Python client sends str as a TEXT frame
    assert v5.decode(b"") is None and v5.decode(bytes([255, 0])) == (255, b"\x00")
    assert not channels.negotiated("v4.channel.k8s.io").close_signal


def test_base64_protocols_frame_with_a_digit() -> None:
    b64 = channels.negotiated("v4.base64.channel.k8s.io")
    assert b64.encode(2, b"err") == "2ZXJy"
    assert b64.decode("0aGk=") == (0, b"hi") and b64.decode("x") is None and b64.decode("0!!") is None


@pytest.mark.parametrize("name", [None, "", "channel.k8s.io", "base64.channel.k8s.io"])
def test_pre_v4_error_channel_carries_only_a_failures_message(name: str | None) -> None:
    proto = channels.negotiated(name)
    assert proto.status(channels.success()) == b""
    assert proto.status(channels.internal_error("boom")) == b"Internal error occurred: boom"


def test_v4_status_shapes() -> None:
    v4 = channels.negotiated("v4.channel.k8s.io")
    assert json.loads(v4.status(channels.success())) == {"metadata": {}, "status": "Success"}
    failure = json.loads(v4.status(channels.exit_status(3, "command terminated with exit code 3")))
    assert failure == {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: command terminated with exit code 3",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }
    assert list(failure) == ["metadata", "status", "message", "reason", "details"]  # the Go struct's order


def test_resize_messages() -> None:
    assert channels.parse_resize(b'{"Width":80,"Height":24}') == [(80, 24)]
    assert channels.parse_resize(b'{"Width":1,"Height":2}\n{"Width":3,"Height":4}') == [(1, 2), (3, 4)]
    assert channels.parse_resize(b"nonsense") == []
