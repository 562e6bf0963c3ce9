"""The local cluster's object store: one global resourceVersion, bounded history.

It plays etcd + the apiserver's watch cache. All calls happen on the server's
event loop thread, so there are no locks. Stored objects are treated as
immutable: every write stores a new dict, so readers (lists, watch fan-out,
snapshots for paged lists) can hand out references without copying.

History keeps the last `history_limit` events. It serves watches that resume
from an old resourceVersion and exact-RV / continue lists (by undoing events
newer than the RV); anything older than the retained window answers 410, as a
compacted etcd does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from podherd.timefmt import micro as now_micro
from podherd.timefmt import rfc3339 as now_rfc3339

__all__ = ["Event", "Key", "Store", "TooOld", "WatchItem", "Watcher", "now_micro", "now_rfc3339"]

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds
Matcher = Callable[[dict[str, Any]], bool]


@dataclass(slots=True)
class Event:
    """A committed change. For DELETED, `obj` is the last state carrying the delete's RV."""

    type: str  # ADDED | MODIFIED | DELETED
    resource: str
    key: Key
    rv: int
    obj: dict[str, Any]
    old: dict[str, Any] | None


@dataclass(slots=True)
class WatchItem:
    """One item on a watcher's queue: an event as the watcher sees it, a bookmark, or the end."""

    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK | ERROR | CLOSE
    obj: dict[str, Any] | None = None
    rv: int = 0
    # Encoded lines shared by all watchers' items for one commit whose `obj` is that event's object,
    # keyed by the encoder (format, type, resource); None when `obj` is this watcher's own.
    encoded: dict[Any, bytes] | None = field(default=None, compare=False, repr=False)


class Watcher:
    """A registered watch: filters events and applies selector transitions (API.md §4)."""

    def __init__(self, resource: str, namespace: str | None, matches: Matcher, max_queue: int) -> None:
        self.resource = resource
        self.namespace = namespace
        self.matches = matches
        self.queue: asyncio.Queue[WatchItem] = asyncio.Queue()
        self.max_queue = max_queue
        self.closed = False
        self.sent_rv = 0

    def in_scope(self, key: Key) -> bool:
        return self.namespace is None or key[0] == self.namespace

    def offer(self, ev: Event, encoded: dict[Any, bytes] | None = None) -> None:
        if self.closed or ev.resource != self.resource or not self.in_scope(ev.key):
            return
        item = transition(ev, self.matches, encoded)
        if item is None:
            return
        if self.queue.qsize() >= self.max_queue:
            # A watcher that cannot keep up is ended, as the apiserver does; the client re-watches.
            self.close()
            return
        self.queue.put_nowait(item)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(WatchItem("CLOSE"))


def transition(ev: Event, matches: Matcher, encoded: dict[Any, bytes] | None = None) -> WatchItem | None:
    """Map a storage event to what a selector-filtered watcher sees (cache_watcher.go convertToWatchEvent).

    Items carrying `ev.obj` get `encoded`, the commit's cache shared among watchers.
    """
    if ev.type == "ADDED":
        return WatchItem("ADDED", ev.obj, ev.rv, encoded) if matches(ev.obj) else None
    if ev.type == "DELETED":
        return WatchItem("DELETED", ev.obj, ev.rv, encoded) if matches(ev.obj) else None
    new_m = matches(ev.obj)
    old_m = ev.old is not None and matches(ev.old)
    if new_m and old_m:
        return WatchItem("MODIFIED", ev.obj, ev.rv, encoded)
    if new_m:
        return WatchItem("ADDED", ev.obj, ev.rv, encoded)
    if old_m and ev.old is not None:
        gone = dict(ev.old)
        gone["metadata"] = {**ev.old["metadata"], "resourceVersion": str(ev.rv)}
        return WatchItem("DELETED", gone, ev.rv)
    return None


class TooOld(Exception):
    """The requested resourceVersion is older than the retained history."""


@dataclass
class Store:
    history_limit: int = 50_000
    watcher_queue_limit: int = 200_000
    rv: int = 1000
    floor: int = 1000  # oldest RV from which history is complete (events with rv > floor are kept)
    _objects: dict[str, dict[Key, dict[str, Any]]] = field(default_factory=dict)
    _sorted: dict[str, list[Key]] = field(default_factory=dict)
    _history: deque[Event] = field(default_factory=deque)
    _watchers: set[Watcher] = field(default_factory=set)
    _listeners: list[Callable[[Event], None]] = field(default_factory=list)
    _snapshots: dict[tuple[str, int], tuple[dict[Key, dict[str, Any]], list[Key]]] = field(default_factory=dict)
    compactions: int = 0

    # ---- reads -------------------------------------------------------------------------------
    def get(self, resource: str, key: Key) -> dict[str, Any] | None:
        return self._objects.get(resource, {}).get(key)

    def count(self, resource: str) -> int:
        return len(self._objects.get(resource, {}))

    def sorted_keys(self, resource: str) -> list[Key]:
        keys = self._sorted.get(resource)
        if keys is None:
            keys = sorted(self._objects.get(resource, {}))
            self._sorted[resource] = keys
        return keys

    def items(self, resource: str, namespace: str | None) -> Iterable[tuple[Key, dict[str, Any]]]:
        """Live objects in storage-key order, optionally in one namespace."""
        objs = self._objects.get(resource, {})
        for key in self.sorted_keys(resource):
            if namespace is None or key[0] == namespace:
                yield key, objs[key]

    def snapshot_sorted(self, resource: str, rv: int) -> tuple[dict[Key, dict[str, Any]], list[Key]]:
        """The objects of `resource` as they were at `rv`, with their keys in storage order.

        The live dict is returned for the current RV: callers must not hold it across an await.
        """
        cached = self._snapshots.get((resource, rv))
        if cached is not None:
            return cached
        if rv >= self.rv:
            return self._objects.get(resource, {}), self.sorted_keys(resource)
        state = self.snapshot(resource, rv)
        keys = sorted(state)
        self._remember(resource, rv, state, keys)
        return state, keys

    def pin_snapshot(self, resource: str, rv: int, objs: dict[Key, dict[str, Any]], keys: list[Key]) -> None:
        """Keep the state a paged list started from, so its continue tokens stay cheap and exact."""
        if (resource, rv) not in self._snapshots:
            live = objs is self._objects.get(resource)
            self._remember(resource, rv, dict(objs) if live else objs, keys)

    def _remember(self, resource: str, rv: int, objs: dict[Key, dict[str, Any]], keys: list[Key]) -> None:
        if len(self._snapshots) >= 16:
            self._snapshots.pop(next(iter(self._snapshots)))
        self._snapshots[(resource, rv)] = (objs, keys)

    def snapshot(self, resource: str, rv: int) -> dict[Key, dict[str, Any]]:
        """The objects of `resource` exactly as they were at `rv` (raises TooOld beyond history)."""
        if rv >= self.rv:
            return dict(self._objects.get(resource, {}))
        if rv < self.floor:
            raise TooOld(rv)
        state = dict(self._objects.get(resource, {}))
        for ev in reversed(self._history):
            if ev.rv <= rv:
                break
            if ev.resource != resource:
                continue
            if ev.type == "ADDED":
                state.pop(ev.key, None)
            elif ev.old is not None:
                state[ev.key] = ev.old
        return state

    # ---- writes ------------------------------------------------------------------------------
    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def _stamp(self, obj: dict[str, Any], rv: int) -> dict[str, Any]:
        out = dict(obj)
        out["metadata"] = {**obj.get("metadata", {}), "resourceVersion": str(rv)}
        return out

    def create(self, resource: str, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        rv = self._next_rv()
        stored = self._stamp(obj, rv)
        self._objects.setdefault(resource, {})[key] = stored
        self._sorted.pop(resource, None)
        self._commit(Event("ADDED", resource, key, rv, stored, None))
        return stored

    def update(self, resource: str, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        old = self._objects[resource][key]
        rv = self._next_rv()
        stored = self._stamp(obj, rv)
        self._objects[resource][key] = stored
        self._commit(Event("MODIFIED", resource, key, rv, stored, old))
        return stored

    def delete(self, resource: str, key: Key) -> dict[str, Any]:
        old = self._objects[resource].pop(key)
        self._sorted.pop(resource, None)
        rv = self._next_rv()
        last = self._stamp(old, rv)
        self._commit(Event("DELETED", resource, key, rv, last, old))
        return last

    def _commit(self, ev: Event) -> None:
        self._history.append(ev)
        while len(self._history) > self.history_limit:
            dropped = self._history.popleft()
            self.floor = dropped.rv
        encoded: dict[Any, bytes] = {}  # lives as long as the watchers' queued items: not kept in history
        for w in list(self._watchers):
            w.offer(ev, encoded)
        for fn in self._listeners:
            fn(ev)

    def compact(self) -> None:
        """Forget all history (fault injection): older RVs and continue tokens now get 410."""
        self._history.clear()
        self._snapshots.clear()
        self.floor = self.rv
        self.compactions += 1

    # ---- watch -------------------------------------------------------------------------------
    def subscribe(self, fn: Callable[[Event], None]) -> None:
        """Call `fn` synchronously after every committed event (the kubelet uses this)."""
        self._listeners.append(fn)

    def unsubscribe(self, fn: Callable[[Event], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def watch(self, resource: str, namespace: str | None, matches: Matcher, since: int | None) -> Watcher:
        """Register a watcher. `since=None` replays the current state as ADDED; else events after `since`."""
        w = Watcher(resource, namespace, matches, self.watcher_queue_limit)
        if since is None:
            for _key, obj in self.items(resource, namespace):
                if matches(obj):
                    w.queue.put_nowait(WatchItem("ADDED", obj, int(obj["metadata"]["resourceVersion"])))
        elif since < self.floor:
            raise TooOld(since)
        else:
            for ev in self._history:
                if ev.rv > since:
                    w.offer(ev)
        self._watchers.add(w)
        return w

    def unwatch(self, w: Watcher) -> None:
        self._watchers.discard(w)
        w.closed = True

    def watchers(self) -> list[Watcher]:
        return list(self._watchers)
