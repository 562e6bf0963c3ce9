"""How the kubelet writes a container's log out for `pods/log`: tail, since, timestamps, limitBytes (pure).

A container's log is a list of records as the runtime writes them in the CRI log format: each has
the time it was written and its bytes, ending in a newline unless the line was cut (a partial
record: a line longer than 16 KiB, or output that ended without a newline). ``ReadLogs``
(``pkg/kubelet/kuberuntime/logs``) then: keeps the last ``tailLines`` records, skips those written
before ``since`` (``sinceSeconds`` ago or ``sinceTime``, the later of the two), prefixes each with
its time in RFC3339Nano with all nine digits (``types.RFC3339NanoFixed``) and a space when
``timestamps`` is set, and stops after ``limitBytes`` bytes, cutting the last record.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """One CRI log entry: when it was written (Unix ns) and its bytes (with the newline if it ended one)."""

    ts: int
    data: bytes


@dataclass(frozen=True)
class LogOptions:
    """The kubelet's LogOptions: None means unset (no tail, no since, no limit)."""

    tail: int | None = None
    since_ns: int | None = None
    limit_bytes: int | None = None
    timestamps: bool = False
    follow: bool = False


def format_ts(ts_ns: int) -> str:
    """RFC3339NanoFixed in UTC: ``2026-03-01T10:00:00.123456789Z`` (always nine fractional digits)."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def since_ns(now_ns: int, since_seconds: int | None, since_time_ns: int | None) -> int | None:
    """NewLogOptions: sinceSeconds counts back from now; a later sinceTime wins."""
    since = now_ns - since_seconds * 1_000_000_000 if since_seconds is not None else None
    if since_time_ns is not None and (since is None or since_time_ns > since):
        since = since_time_ns
    return since


class LogWriter:
    """Writes records out per the options, remembering how many of `limit_bytes` are left (for follow)."""

    def __init__(self, opts: LogOptions) -> None:
        self.opts = opts
        self.remaining = opts.limit_bytes

    @property
    def done(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    def render(self, records: Iterable[Record]) -> bytes:
        out = bytearray()
        for r in records:
            if self.done:
                break
            if self.opts.since_ns is not None and r.ts < self.opts.since_ns:
                continue
            line = (format_ts(r.ts).encode() + b" " + r.data) if self.opts.timestamps else r.data
            if self.remaining is not None:
                line = line[: self.remaining]
                self.remaining -= len(line)
            out += line
        return bytes(out)


def tail(records: list[Record], lines: int | None) -> list[Record]:
    """The last `lines` records (the file's last lines, as the kubelet counts them)."""
    if lines is None:
        return records
    return records[-lines:] if lines > 0 else []
