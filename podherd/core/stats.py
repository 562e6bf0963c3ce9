"""Counters a component keeps and the frozen snapshot it hands out: what metrics and tests read.

A component counts into a `Tally` of its stats dataclass and exposes `stats` as a snapshot, so a
reader (the Prometheus collector, a test, a benchmark) gets plain immutable numbers and never a
live object it could change or see change halfway. Increments take a lock: some components count
from worker threads (cleanup, creates).
"""

from __future__ import annotations

import threading
from dataclasses import fields
from typing import Any, Generic, TypeVar

S = TypeVar("S")


class Tally(Generic[S]):
    """Mutable counters named after the fields of the frozen dataclass `kind`."""

    def __init__(self, kind: type[S]) -> None:
        self._kind = kind
        self._values: dict[str, Any] = {f.name: f.default for f in fields(kind)}  # type: ignore[arg-type]
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._values[name] += n  # KeyError on a misspelt counter: caught by any test that runs it

    def set(self, name: str, value: Any) -> None:
        with self._lock:
            if name not in self._values:
                raise KeyError(name)
            self._values[name] = value

    def snapshot(self) -> S:
        with self._lock:
            return self._kind(**self._values)
