"""A bounded set of recently seen keys: memory that cannot grow with the number of pods ever run."""

from __future__ import annotations

from collections import OrderedDict


class RecentSet:
    """Insertion-ordered; adding past `maxlen` forgets the oldest key.

    Used for "this pod was finished here already", which only has to hold for the short time
    between a claim's answer and the watch event about the same pod: forgetting an old uid costs
    at worst one idempotent re-record and one 404 on delete, never a wrong result.
    """

    def __init__(self, maxlen: int = 10_000) -> None:
        if maxlen <= 0:
            raise ValueError("maxlen must be positive")
        self.maxlen = maxlen
        self._keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.maxlen:
            self._keys.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
