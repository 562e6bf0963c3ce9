"""The contract between the API server's exec/attach sessions and the kubelet's container runtime.

kube-apiserver proxies `pods/exec` and `pods/attach` to the kubelet's streaming server; here the API
server's WebSocket session (`apiserver.handlers.exec`) implements `StreamIO` and hands it to the
kubelet's `ContainerStreams`, which runs the command in the container (or joins its process) and
moves bytes through it. `StreamError` is what the runtime reports instead of an exit code (the
container is not running, the command cannot be started, the kubelet runs no processes); the
session turns it into the error channel's Status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

STDOUT, STDERR = 1, 2


class StreamError(Exception):
    """The runtime could not exec or attach; the message is the one kubectl prints (after "error: ")."""


@dataclass(frozen=True)
class Target:
    """The container a stream is about: namespace, pod name and uid, container name."""

    namespace: str
    pod: str
    uid: str
    container: str


class StreamIO(Protocol):
    """The client's side of a session, as the runtime sees it (implemented over WebSocket channels)."""

    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool

    async def read_stdin(self) -> bytes | None:
        """The next bytes the client sent on stdin; None once it closed stdin (or went away)."""

    async def write(self, channel: int, data: bytes) -> None:
        """Send output on `STDOUT` or `STDERR`."""

    async def next_resize(self) -> tuple[int, int] | None:
        """The next terminal size (columns, rows) the client sent; None when it sends no more."""


class ContainerStreams(Protocol):
    """What a kubelet runtime offers for exec and attach."""

    async def exec(self, target: Target, argv: list[str], io: StreamIO) -> int:
        """Run `argv` in the container; its exit code, or StreamError."""

    async def attach(self, target: Target, io: StreamIO) -> None:
        """Join the container's running process until it exits or the client leaves; StreamError if it cannot."""


class NoStreams:
    """A runtime with no processes to exec in or attach to (simulate mode)."""

    def __init__(self, why: str) -> None:
        self.why = why

    async def exec(self, target: Target, argv: list[str], io: StreamIO) -> int:
        raise StreamError(self.why)

    async def attach(self, target: Target, io: StreamIO) -> None:
        raise StreamError(self.why)
