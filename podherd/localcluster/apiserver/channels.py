"""The Kubernetes channel protocols that carry exec and attach over a WebSocket (wsstream, remotecommand).

Every message starts with a channel: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize. The binary
protocols (``v5.channel.k8s.io``, ``v4.channel.k8s.io``, ``channel.k8s.io``) put the channel in the
first byte; the base64 ones (``v4.base64.channel.k8s.io``, ``base64.channel.k8s.io``) send text whose
first character is the channel's digit and whose rest is base64. From v4 on, the error channel
carries a ``metav1.Status`` as JSON (Success, or Failure with reason NonZeroExitCode and a cause
ExitCode holding the exit code); before v4 it carries only a failure's message. v5 adds the close
signal: a message ``[255, channel]`` from the client half-closes that channel (stdin's EOF). Pure.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
CLOSE = 255

V5, V4, V4_BASE64, V1, V1_BASE64 = (
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
)
SUPPORTED = (V5, V4, V4_BASE64, V1, V1_BASE64)  # offered in this order; the client's preference wins


@dataclass(frozen=True)
class ChannelProtocol:
    name: str
    base64: bool
    status_json: bool  # v4+: the error channel carries a Status
    close_signal: bool  # v5: [255, channel] half-closes a channel

    def encode(self, channel: int, data: bytes) -> bytes | str:
        """One message from the server on `channel`."""
        if self.base64:
            return str(channel) + base64.b64encode(data).decode("ascii")
        return bytes([channel]) + data

    def decode(self, message: bytes | str) -> tuple[int, bytes] | None:
        """(channel, data) of a client message; None for an empty or undecodable one. A text message on a
        binary protocol is taken as its UTF-8 bytes (the Python client sends strings so)."""
        if self.base64:
            text = message.decode("ascii", "replace") if isinstance(message, bytes) else message
            if not text or not text[0].isdigit():
                return None
            try:
                return int(text[0]), base64.b64decode(text[1:], validate=True)
            except (binascii.Error, ValueError):
                return None
        raw = message.encode("utf-8") if isinstance(message, str) else message
        return (raw[0], raw[1:]) if raw else None

    def status(self, status: dict[str, Any]) -> bytes:
        """The error channel's payload for a final Status ("" for a pre-v4 success)."""
        if self.status_json:
            return json.dumps(status, separators=(",", ":")).encode()
        return b"" if status.get("status") == "Success" else str(status.get("message", "")).encode()


def negotiated(name: str | None) -> ChannelProtocol:
    """The protocol the handshake settled on; no subprotocol at all is the original binary channel protocol."""
    if name in (V5, V4):
        return ChannelProtocol(name, base64=False, status_json=True, close_signal=name == V5)
    if name == V4_BASE64:
        return ChannelProtocol(name, base64=True, status_json=True, close_signal=False)
    if name == V1_BASE64:
        return ChannelProtocol(name, base64=True, status_json=False, close_signal=False)
    return ChannelProtocol(name or "", base64=False, status_json=False, close_signal=False)


def success() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_status(code: int, detail: str) -> dict[str, Any]:
    """A command's non-zero exit as the error channel reports it (codeExitToStatusError)."""
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: {detail}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error(message: str) -> dict[str, Any]:
    """apierrors.NewInternalError as the error channel carries it."""
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {message}",
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    }


def parse_resize(data: bytes) -> list[tuple[int, int]]:
    """The terminal sizes in a resize message: one or more JSON objects {"Width": w, "Height": h}."""
    sizes = []
    decoder, text, i = json.JSONDecoder(), data.decode("utf-8", "replace"), 0
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        try:
            obj, i = decoder.raw_decode(text, i)
        except ValueError:
            break
        if isinstance(obj, dict):
            sizes.append((int(obj.get("Width") or 0), int(obj.get("Height") or 0)))
    return sizes
