"""A queue other threads fill and the loop thread drains, where nothing handed out is ever dropped.

If handling an item raises (typically: the task store is down), that item is kept and handed out
first on the next drain, and the error propagates so the loop backs off. A terminal pod sends no
further events and a create is answered once: a dropped item would strand its attempt.
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    def __init__(self) -> None:
        self._queue: queue.Queue[T] = queue.Queue()
        self._retry: deque[T] = deque()

    def put(self, item: T) -> None:
        """Thread-safe."""
        self._queue.put(item)

    def take(self, limit: int | None = None) -> list[T]:
        """Up to `limit` items, oldest first (those put back by `unread` before any new one)."""
        items: list[T] = []
        while self._retry and (limit is None or len(items) < limit):
            items.append(self._retry.popleft())
        while limit is None or len(items) < limit:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def unread(self, items: list[T]) -> None:
        """Put taken items back, in order, ahead of everything else (their handling did not commit)."""
        self._retry.extendleft(reversed(items))

    def drain(self, handle: Callable[[T], None], limit: int | None = None) -> int:
        """Hand items to `handle` in order (at most `limit`); returns how many were handled."""
        n = 0
        while limit is None or n < limit:
            if self._retry:
                item = self._retry.popleft()
            else:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            try:
                handle(item)
            except Exception:
                self._retry.appendleft(item)
                raise
            n += 1
        return n
