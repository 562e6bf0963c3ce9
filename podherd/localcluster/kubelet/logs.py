"""Container logs kept by the local kubelet and served by `/pods/{name}/log`, one log per container instance.

Like the CRI log files: every instance of a container (a start; a restart is a new instance with a new
container ID) has its own log, made of timestamped records (`logformat.Record`). Output is split
into records at newlines as it arrives; a line still open waits for its newline, and is written as a
partial record when it grows past 16 KiB (the runtime's maximum line) or the instance ends. A
container keeps its current and its previous instance, which is what ``kubectl logs -p`` reads after
a restart. Kept in memory, capped per instance (the newest records survive), because the local
cluster's pods are short-lived tasks. A `follow` reader is woken on every record and ends when the
instance's log is closed (the instance exited) or dropped (the pod is gone).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from podherd.localcluster.kubelet.logformat import LogOptions, LogWriter, Record, tail

LogKey = tuple[str, str, str]  # namespace, pod, container
MAX_LINE = 16 * 1024  # containerd's maximum CRI log line: longer output is split into partial records
KEEP_INSTANCES = 2  # the current instance and the previous one


@dataclass
class InstanceLog:
    """The records of one container instance; `first` is the sequence number of `records[0]`."""

    records: deque[Record] = field(default_factory=deque)
    size: int = 0
    first: int = 0
    open_line: bytearray = field(default_factory=bytearray)
    closed: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def end(self) -> int:
        return self.first + len(self.records)

    def since(self, seq: int) -> list[Record]:
        """The records from sequence number `seq` on (from the oldest kept if `seq` was dropped)."""
        start = max(seq - self.first, 0)
        return [self.records[i] for i in range(start, len(self.records))]


class LogStore:
    """Per-instance log records. Used only from the server's event loop."""

    def __init__(self, cap_bytes: int = 4 * 1024 * 1024, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.cap = cap_bytes
        self.clock_ns = clock_ns
        self._logs: dict[LogKey, dict[str, InstanceLog]] = {}

    # ---- writing (the runtime) ----------------------------------------------------------------------
    def open(self, namespace: str, pod: str, container: str, container_id: str) -> None:
        """A new instance starts: its log is added, the one before the previous is forgotten."""
        instances = self._logs.setdefault((namespace, pod, container), {})
        instances[container_id] = InstanceLog()
        while len(instances) > KEEP_INSTANCES:
            _end(instances.pop(next(iter(instances))))

    def _log(self, key: LogKey, container_id: str) -> InstanceLog | None:
        log = self._logs.get(key, {}).get(container_id)
        return None if log is None or log.closed else log

    def append(self, namespace: str, pod: str, container: str, container_id: str, chunk: bytes) -> None:
        """Output of an open instance, split into records; output for an unknown or closed instance is dropped."""
        log = self._log((namespace, pod, container), container_id)
        if log is None:
            return
        now = self.clock_ns()
        log.open_line += chunk
        while True:
            nl = log.open_line.find(b"\n", 0, MAX_LINE)
            if nl >= 0:
                cut = nl + 1  # a full line
            elif len(log.open_line) >= MAX_LINE:
                cut = MAX_LINE  # a partial record of a line too long for one
            else:
                return
            self._add(log, Record(now, bytes(log.open_line[:cut])))
            del log.open_line[:cut]

    def _add(self, log: InstanceLog, record: Record) -> None:
        log.records.append(record)
        log.size += len(record.data)
        while log.size > self.cap and len(log.records) > 1:
            log.size -= len(log.records.popleft().data)
            log.first += 1
        log.changed.set()

    def close(self, namespace: str, pod: str, container: str, container_id: str) -> None:
        """The instance exited: what is left of an open line becomes a partial record, followers finish."""
        log = self._log((namespace, pod, container), container_id)
        if log is None:
            return
        if log.open_line:
            self._add(log, Record(self.clock_ns(), bytes(log.open_line)))
            log.open_line.clear()
        _end(log)

    def drop_pod(self, namespace: str, pod: str) -> None:
        """Forget a removed pod's logs (and end any followers)."""
        for key in [k for k in self._logs if k[0] == namespace and k[1] == pod]:
            for log in self._logs.pop(key).values():
                _end(log)

    # ---- reading (the log handler) ------------------------------------------------------------------
    def _instance(self, key: LogKey, container_id: str | None) -> InstanceLog | None:
        """The instance's log; with no id, the newest instance's (what an in-process reader usually means)."""
        instances = self._logs.get(key, {})
        if container_id is None:
            return next(reversed(instances.values()), None)
        return instances.get(container_id)

    def has(self, namespace: str, pod: str, container: str, container_id: str | None = None) -> bool:
        return self._instance((namespace, pod, container), container_id) is not None

    def read(
        self, namespace: str, pod: str, container: str, container_id: str | None = None, opts: LogOptions | None = None
    ) -> bytes:
        log = self._instance((namespace, pod, container), container_id)
        if log is None:
            return b""
        opts = opts or LogOptions()
        return LogWriter(opts).render(tail(list(log.records), opts.tail))

    async def follow(
        self, namespace: str, pod: str, container: str, container_id: str, opts: LogOptions
    ) -> AsyncIterator[bytes]:
        """Yield what is there (tailed), then every new record until the instance's log closes or the limit is hit."""
        log = self._logs.get((namespace, pod, container), {}).get(container_id)
        if log is None:
            return
        writer = LogWriter(opts)
        seq = log.end
        first = writer.render(tail(list(log.records), opts.tail))
        if first:
            yield first
        while not writer.done:
            if log.end > seq:
                chunk = writer.render(log.since(seq))
                seq = log.end
                if chunk:
                    yield chunk
                continue
            if log.closed:
                return
            log.changed.clear()
            await log.changed.wait()


def _end(log: InstanceLog) -> None:
    log.closed = True
    log.changed.set()
