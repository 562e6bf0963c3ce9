"""One loop's task-store writes, committed together: one transaction per loop, not one per event.

The executor handles a loop's create answers and pod events first, adding each write here with
what must follow it (a pod cleanup, a log line, a counter). `commit` hands them to the store in one
`TaskStore.apply`; only when that returned are the follow-ups run, so a result is still committed
before its pod is removed (DESIGN §4.4). If the commit fails nothing follows: the executor puts
the loop's inputs back and handles them again next loop (every write is conditional and idempotent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podherd.core.ports import Release, Result, Running, StoreOp, TaskStore

Then = Callable[[Any], None]


class Batch:
    def __init__(self) -> None:
        self.ops: list[StoreOp] = []
        self._then: list[Then | None] = []
        self.uids: set[str] = set()  # pods finished in this batch (not yet in the executor's memory)

    def add(self, op: StoreOp, then: Then | None = None) -> None:
        """Write `op` at commit; `then(answer)` runs after the commit succeeded."""
        self.ops.append(op)
        self._then.append(then)

    def commit(self, store: TaskStore) -> list[Callable[[], None]]:
        """One `apply`; returns the follow-ups, bound to their answers, for the caller to run."""
        ops, thens = self._needed()
        if not ops:
            return []
        answers = store.apply(ops)
        return [_bind(then, answer) for then, answer in zip(thens, answers, strict=True) if then is not None]

    def _needed(self) -> tuple[list[StoreOp], list[Then | None]]:
        """The writes minus "running" for attempts this batch also ends: the result supersedes it."""
        ended = {op.ref for op in self.ops if isinstance(op, (Result, Release))}
        keep = [i for i, op in enumerate(self.ops) if not (isinstance(op, Running) and op.ref in ended)]
        return [self.ops[i] for i in keep], [self._then[i] for i in keep]


def _bind(then: Then, answer: Any) -> Callable[[], None]:
    return lambda: then(answer)
