"""Container logs kept by the local kubelet and served by `/pods/{name}/log`.

Kept in memory, capped per container (the tail survives), because the local
cluster's pods are short-lived tasks. A `follow` reader is woken on every append
and ends when the container's log is closed (the container exited).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

LogKey = tuple[str, str, str]  # namespace, pod, container


@dataclass
class _Log:
    data: bytearray = field(default_factory=bytearray)
    closed: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class LogStore:
    """Per-container log buffers. Used only from the server's event loop."""

    def __init__(self, cap_bytes: int = 4 * 1024 * 1024) -> None:
        self.cap = cap_bytes
        self._logs: dict[LogKey, _Log] = {}

    def open(self, namespace: str, pod: str, container: str) -> None:
        """Start (or restart) a container's log: previous content is replaced."""
        old = self._logs.get((namespace, pod, container))
        self._logs[(namespace, pod, container)] = _Log()
        if old is not None:
            old.closed = True
            old.changed.set()

    def append(self, namespace: str, pod: str, container: str, chunk: bytes) -> None:
        """Add output to an open log; output for a log never opened (or already dropped) is discarded."""
        log = self._logs.get((namespace, pod, container))
        if log is None or log.closed:
            return
        log.data += chunk
        if len(log.data) > self.cap:
            del log.data[: len(log.data) - self.cap]
        log.changed.set()

    def close(self, namespace: str, pod: str, container: str) -> None:
        log = self._logs.get((namespace, pod, container))
        if log is not None:
            log.closed = True
            log.changed.set()

    def has(self, namespace: str, pod: str, container: str) -> bool:
        return (namespace, pod, container) in self._logs

    def read(self, namespace: str, pod: str, container: str, tail_lines: int | None = None) -> bytes:
        log = self._logs.get((namespace, pod, container))
        if log is None:
            return b""
        return tail(bytes(log.data), tail_lines)

    async def follow(
        self, namespace: str, pod: str, container: str, tail_lines: int | None = None
    ) -> AsyncIterator[bytes]:
        """Yield what is there, then every new chunk until the container's log closes."""
        log = self._logs.get((namespace, pod, container))
        if log is None:
            return
        sent = len(log.data)
        first = tail(bytes(log.data), tail_lines)
        if first:
            yield first
        while True:
            if len(log.data) > sent:
                chunk = bytes(log.data[sent:])
                sent = len(log.data)
                yield chunk
                continue
            if log.closed:
                return
            log.changed.clear()
            await log.changed.wait()

    def drop_pod(self, namespace: str, pod: str) -> None:
        """Forget a removed pod's logs (and end any followers)."""
        for key in [k for k in self._logs if k[0] == namespace and k[1] == pod]:
            log = self._logs.pop(key)
            log.closed = True
            log.changed.set()


def tail(data: bytes, lines: int | None) -> bytes:
    """The last `lines` lines, as `kubectl logs --tail` shows them."""
    if lines is None or lines < 0:
        return data
    if lines == 0:
        return b""
    parts = data.splitlines(keepends=True)
    return b"".join(parts[-lines:])
