"""One informer-style pod watch per namespace that never dies (DESIGN §4.9).

List (paged, raw JSON) then watch from the list's resourceVersion with
bookmarks. The watch resumes from the highest resourceVersion seen. A 410
(HTTP or an in-stream ERROR) re-lists and diffs against what was known: pods
still there arrive as SYNC, pods gone arrive as GONE. A dropped connection or
read timeout resumes the watch. Duplicate events (same uid, RV not newer) are
dropped here, so the executor sees each change once. Each pod is kept without
`metadata.managedFields` (`trimmed`), as client-go informers' transforms do: nothing here
reads it, and it is about a quarter of a pod's JSON and more of its memory.

Events go to `out` (the executor's inbox, drained by the replica's loop); the
watcher itself never touches the task store.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from kubernetes.client.exceptions import ApiException

from podherd.core.kube.classify import unusable
from podherd.core.kube.errors import Expired
from podherd.core.ports import Pod, PodAPI
from podherd.core.stats import Tally

log = logging.getLogger("podherd.watcher")


class EventType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    SYNC = "SYNC"  # seen in a re-list (or read directly): the pod as it is now
    GONE = "GONE"  # vanished between two lists: nobody saw how it ended


@dataclass(frozen=True)
class PodEvent:
    type: EventType
    pod: Pod
    namespace: str

    @property
    def name(self) -> str:
        return self.pod["metadata"]["name"]

    @property
    def uid(self) -> str:
        return self.pod["metadata"].get("uid", "")


@dataclass(frozen=True)
class WatcherStats:
    relists: int = 0
    expired: int = 0  # 410s, HTTP or in-stream
    restarts: int = 0  # watch streams (re)opened
    errors: int = 0
    too_large: int = 0  # 504 "Too large resource version": the server is behind our RV; re-list
    events: int = 0
    duplicates: int = 0
    synced_at: float = 0.0  # monotonic time of the last completed list


def trimmed(pod: Pod) -> Pod:
    """The pod as the watcher keeps and passes it on: without `metadata.managedFields` (in place)."""
    meta = pod.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return pod


def _rv(obj: Pod) -> int:
    try:
        return int(obj["metadata"]["resourceVersion"])
    except (KeyError, ValueError, TypeError):
        return 0


class PodWatcher(threading.Thread):
    """Follows the pods matching `label_selector` in one namespace; feeds `out`."""

    def __init__(
        self,
        pods: PodAPI,
        namespace: str,
        label_selector: str,
        out: Callable[[PodEvent], None],
        watch_timeout: int = 300,
        read_timeout: float = 90.0,
        on_event: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name=f"podherd-watch-{namespace}", daemon=True)
        self.pods = pods
        self.namespace = namespace
        self.selector = label_selector
        self.out = out
        self.watch_timeout = watch_timeout
        self.read_timeout = read_timeout
        self.on_event = on_event
        self._tally = Tally(WatcherStats)
        self.rv = ""
        self.known: dict[str, Pod] = {}  # uid -> last pod seen (matching the selector)
        self._seen_rv: dict[str, int] = {}
        self._stop = threading.Event()
        self.synced = threading.Event()

    @property
    def stats(self) -> WatcherStats:
        return self._tally.snapshot()

    def stop(self) -> None:
        self._stop.set()

    # ---- loop ---------------------------------------------------------------------------------
    def run(self) -> None:
        backoff = 0.2
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self.relist()
                    need_list = False
                self.watch_once()
                backoff = 0.2
            except Expired:  # HTTP or in-stream 410: our resourceVersion left the server's history
                self._tally.add("expired")
                need_list = True
            except ApiException as e:
                self._tally.add("errors")
                if too_large_rv(e):  # the server's history restarted below our RV (a new store, a restore)
                    self._tally.add("too_large")
                    need_list = True
                    continue
                level = logging.DEBUG if unusable(e) else logging.WARNING  # the API's health logs refusals once
                log.log(level, "watch of %s failed (%s %s); retrying", self.namespace, e.status, e.reason)
                backoff = self._pause(backoff)
            except Exception as e:  # connection drops, timeouts, protocol errors: resume, never die
                self._tally.add("errors")
                level = logging.DEBUG if unusable(e) else logging.INFO
                log.log(
                    level, "watch of %s interrupted (%s); resuming from %s", self.namespace, type(e).__name__, self.rv
                )
                backoff = self._pause(backoff)

    def _pause(self, backoff: float) -> float:
        self._stop.wait(backoff * (0.5 + random.random()))
        return min(backoff * 2, 10.0)

    def relist(self) -> None:
        """List, then report what changed since the last list: SYNC for pods newer than seen, GONE for pods gone."""
        items, rv = self.pods.list_pods(self.namespace, self.selector)
        self._tally.add("relists")
        current = {p["metadata"]["uid"]: trimmed(p) for p in items}
        for uid, pod in self.known.items():
            if uid not in current:
                self._emit(EventType.GONE, pod)
        for uid, pod in current.items():
            if self._seen_rv.get(uid, -1) < _rv(pod):
                self._emit(EventType.SYNC, pod)
        self.known = current
        self._seen_rv = {uid: _rv(p) for uid, p in current.items()}
        self.rv = rv
        self._tally.set("synced_at", time.monotonic())
        self.synced.set()

    def watch_once(self) -> None:
        """One watch stream from `rv`, until the server ends it; raises to make `run` re-list or back off."""
        self._tally.add("restarts")
        timeout = int(self.watch_timeout * (0.8 + 0.4 * random.random())) or 1
        for ev in self.pods.watch_pods(self.namespace, self.selector, self.rv, timeout, self.read_timeout):
            if self._stop.is_set():
                return
            self._on_watch_event(ev)

    def _on_watch_event(self, ev: Pod) -> None:
        etype = ev.get("type")
        obj = trimmed(ev.get("object") or {})
        if etype == "ERROR":
            if obj.get("code") == 410:
                raise Expired(str(obj.get("message", "")))
            raise ApiException(status=obj.get("code") or 500, reason=obj.get("message", "watch error"))
        rv = _rv(obj)
        if etype == "BOOKMARK":
            self._advance(rv)
            return
        if etype not in (EventType.ADDED, EventType.MODIFIED, EventType.DELETED):
            return
        uid = obj.get("metadata", {}).get("uid", "")
        if self._duplicate(etype, uid, rv):
            self._tally.add("duplicates")
            self._advance(rv)
            return
        if etype == EventType.DELETED:
            self.known.pop(uid, None)
            self._seen_rv.pop(uid, None)
        else:
            self.known[uid] = obj
            self._seen_rv[uid] = rv
        self._advance(rv)
        self._emit(EventType(etype), obj)

    def _duplicate(self, etype: str, uid: str, rv: int) -> bool:
        """Seen already: an add or change not newer than the last seen, or a delete of a pod not known."""
        if etype == EventType.DELETED:
            return uid not in self.known
        return self._seen_rv.get(uid, -1) >= rv

    def _advance(self, rv: int) -> None:
        """Resume from the highest RV seen (events are not guaranteed to arrive in RV order everywhere)."""
        if rv and (not self.rv or rv > int(self.rv)):
            self.rv = str(rv)

    def _emit(self, etype: EventType, pod: Pod) -> None:
        self._tally.add("events")
        self.out(PodEvent(etype, pod, self.namespace))
        if self.on_event is not None:
            self.on_event()


def too_large_rv(e: ApiException) -> bool:
    """A 504 `Too large resource version` (cause `ResourceVersionTooLarge`), as client-go's reflector checks."""
    if e.status != 504:
        return False
    body = e.body.decode("utf-8", "replace") if isinstance(e.body, bytes) else str(e.body or "")
    return "ResourceVersionTooLarge" in body or "Too large resource version" in body
