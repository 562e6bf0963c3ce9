"""One informer-style pod watch per namespace that never dies (DESIGN §4.9).

List (paged, raw JSON) then watch from the list's resourceVersion with
bookmarks. The watch resumes from the highest resourceVersion seen. A 410
(HTTP or an in-stream ERROR) re-lists and diffs against what was known: pods
still there arrive as SYNC, pods gone arrive as GONE. A dropped connection or
read timeout resumes the watch. Duplicate events (same uid, RV not newer) are
dropped here, so the executor sees each change once.

Events go to a thread-safe queue the replica's loop drains; the watcher itself
never touches the database.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

from podherd.core.kube.classify import unusable
from podherd.core.kube.client import KubeClient

log = logging.getLogger("podherd.watcher")


@dataclass(frozen=True)
class PodEvent:
    type: str  # ADDED | MODIFIED | DELETED | SYNC (seen in a re-list) | GONE (vanished between lists)
    pod: dict[str, Any]
    namespace: str

    @property
    def name(self) -> str:
        return self.pod["metadata"]["name"]

    @property
    def uid(self) -> str:
        return self.pod["metadata"].get("uid", "")


@dataclass
class WatcherStats:
    relists: int = 0
    expired: int = 0  # 410s, HTTP or in-stream
    restarts: int = 0  # watch streams (re)opened
    errors: int = 0
    too_large: int = 0  # 504 "Too large resource version": the server is behind our RV; re-list
    events: int = 0
    duplicates: int = 0
    synced_at: float = 0.0  # monotonic time of the last completed list


def _rv(obj: dict[str, Any]) -> int:
    try:
        return int(obj["metadata"]["resourceVersion"])
    except (KeyError, ValueError, TypeError):
        return 0


class PodWatcher(threading.Thread):
    """Follows the pods matching `label_selector` in one namespace; feeds `out`."""

    def __init__(
        self,
        kube: KubeClient,
        namespace: str,
        label_selector: str,
        out: queue.Queue[PodEvent],
        watch_timeout: int = 300,
        read_timeout: float = 90.0,
        on_event: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name=f"podherd-watch-{namespace}", daemon=True)
        self.kube = kube
        self.namespace = namespace
        self.selector = label_selector
        self.out = out
        self.watch_timeout = watch_timeout
        self.read_timeout = read_timeout
        self.on_event = on_event
        self.stats = WatcherStats()
        self.rv = ""
        self.known: dict[str, dict[str, Any]] = {}  # uid -> last pod seen (matching the selector)
        self._seen_rv: dict[str, int] = {}
        self._stop = threading.Event()
        self.synced = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    # ---- loop ---------------------------------------------------------------------------------
    def run(self) -> None:
        backoff = 0.2
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self._relist()
                    need_list = False
                self._watch_once()
                backoff = 0.2
            except _Expired:
                self.stats.expired += 1
                need_list = True
            except ApiException as e:
                self.stats.errors += 1
                if e.status == 410:
                    self.stats.expired += 1
                    need_list = True
                    continue
                if too_large_rv(e):  # the server's history restarted below our RV (a new store, a restore)
                    self.stats.too_large += 1
                    need_list = True
                    continue
                level = logging.DEBUG if unusable(e) else logging.WARNING  # the API's health logs refusals once
                log.log(level, "watch of %s failed (%s %s); retrying", self.namespace, e.status, e.reason)
                backoff = self._pause(backoff)
            except Exception as e:  # connection drops, timeouts, protocol errors: resume, never die
                self.stats.errors += 1
                level = logging.DEBUG if unusable(e) else logging.INFO
                log.log(
                    level, "watch of %s interrupted (%s); resuming from %s", self.namespace, type(e).__name__, self.rv
                )
                backoff = self._pause(backoff)

    def _pause(self, backoff: float) -> float:
        self._stop.wait(backoff * (0.5 + random.random()))
        return min(backoff * 2, 10.0)

    def _relist(self) -> None:
        items, rv = self.kube.list_pods(self.namespace, self.selector)
        self.stats.relists += 1
        current = {p["metadata"]["uid"]: p for p in items}
        for uid, pod in self.known.items():
            if uid not in current:
                self._emit("GONE", pod)
        for uid, pod in current.items():
            if self._seen_rv.get(uid, -1) < _rv(pod):
                self._emit("SYNC", pod)
        self.known = current
        self._seen_rv = {uid: _rv(p) for uid, p in current.items()}
        self.rv = rv
        self.stats.synced_at = time.monotonic()
        self.synced.set()

    def _watch_once(self) -> None:
        self.stats.restarts += 1
        timeout = int(self.watch_timeout * (0.8 + 0.4 * random.random())) or 1
        for ev in self.kube.watch_pods(self.namespace, self.selector, self.rv, timeout, self.read_timeout):
            if self._stop.is_set():
                return
            etype = ev.get("type")
            obj = ev.get("object") or {}
            if etype == "ERROR":
                if obj.get("code") == 410:
                    raise _Expired()
                raise ApiException(status=obj.get("code") or 500, reason=obj.get("message", "watch error"))
            rv = _rv(obj)
            if etype == "BOOKMARK":
                self._advance(rv)
                continue
            if etype not in ("ADDED", "MODIFIED", "DELETED"):
                continue
            uid = obj.get("metadata", {}).get("uid", "")
            if etype != "DELETED" and self._seen_rv.get(uid, -1) >= rv:
                self.stats.duplicates += 1
                self._advance(rv)
                continue
            if etype == "DELETED":
                if uid not in self.known:
                    self.stats.duplicates += 1
                    self._advance(rv)
                    continue
                self.known.pop(uid, None)
                self._seen_rv.pop(uid, None)
            else:
                self.known[uid] = obj
                self._seen_rv[uid] = rv
            self._advance(rv)
            self._emit(etype, obj)

    def _advance(self, rv: int) -> None:
        """Resume from the highest RV seen (events are not guaranteed to arrive in RV order everywhere)."""
        if rv and (not self.rv or rv > int(self.rv)):
            self.rv = str(rv)

    def _emit(self, etype: str, pod: dict[str, Any]) -> None:
        self.stats.events += 1
        self.out.put(PodEvent(etype, pod, self.namespace))
        if self.on_event is not None:
            self.on_event()


class _Expired(Exception):
    """The watch's resourceVersion is gone from the server's history: re-list."""


def too_large_rv(e: ApiException) -> bool:
    """A 504 `Too large resource version` (cause `ResourceVersionTooLarge`), as client-go's reflector checks."""
    if e.status != 504:
        return False
    body = e.body.decode("utf-8", "replace") if isinstance(e.body, bytes) else str(e.body or "")
    return "ResourceVersionTooLarge" in body or "Too large resource version" in body
