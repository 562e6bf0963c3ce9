"""Can this replica use the Kubernetes API right now? One answer for the claim gate, /readyz and `status`.

A replica whose requests are refused (connection, TLS, 401, RBAC 403) must claim nothing: every
try it claimed would fail in seconds and burn the task's tries (DESIGN §4.10). `ApiHealth` is fed
by every request the `KubeClient` makes, so it needs no traffic of its own while things work:

- *unknown* at start: nothing answered yet, so nothing is claimed;
- *ok* after any answer that shows the API accepts us (2xx, and 4xx other than 401/403);
- *unusable* after a refusal (`classify.unusable`), with the reason, until something succeeds.

While unusable, `probe_due()` paces recovery probes with exponential backoff (0.5 s doubling to
`max_backoff`); the streak only resets after the API has stayed usable for `stable_after`
seconds, so an API that accepts reads but refuses creates is not hammered. Each change of state
is logged once, as one line without a traceback: no flood while the API is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from podherd.core.kube.classify import Unusable

log = logging.getLogger("podherd.api")

UNKNOWN = "unknown"
OK = "ok"
UNUSABLE = "unusable"


@dataclass(frozen=True)
class HealthSnapshot:
    state: str
    reason: str  # "" when ok
    since: float  # clock time of the last change
    refusals: int  # requests refused as unusable, in total
    recoveries: int  # unusable -> ok transitions


class ApiHealth:
    """Thread-safe: requests on any thread report; the loop, probes and metrics read."""

    def __init__(
        self,
        name: str = "replica",
        clock: Callable[[], float] = time.monotonic,
        max_backoff: float = 10.0,
        stable_after: float = 60.0,
    ) -> None:
        self.name = name
        self.clock = clock
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self._lock = threading.Lock()
        self._state = UNKNOWN
        self._reason = "the Kubernetes API has not answered yet"
        self._since = clock()
        self._streak = 0  # refusal episodes since the API was last stably usable
        self._next_probe = 0.0
        self._refusals = 0
        self._recoveries = 0
        self.changed = threading.Event()  # set on every change (a probe thread waits on it)

    @property
    def ready(self) -> bool:
        return self._state == OK

    @property
    def reason(self) -> str:
        return "" if self._state == OK else self._reason

    def snapshot(self) -> HealthSnapshot:
        with self._lock:
            return HealthSnapshot(self._state, self.reason, self._since, self._refusals, self._recoveries)

    def succeeded(self) -> None:
        """The API accepted a request from us."""
        if self._state == OK:  # the hot path: no lock, no allocation
            return
        with self._lock:
            if self._state == OK:
                return
            was = self._state
            self._state, self._reason, self._since = OK, "", self.clock()
            if was == UNUSABLE:
                self._recoveries += 1
                log.warning("%s: the Kubernetes API answers again; claiming resumes", self.name)
        self.changed.set()

    def refused(self, why: Unusable) -> None:
        """The API refused a request in a way no retry of the same request can fix by itself."""
        now = self.clock()
        with self._lock:
            self._refusals += 1
            reason = str(why)
            if self._state == UNUSABLE and reason == self._reason:
                return
            if self._state == OK and now - self._since >= self.stable_after:
                self._streak = 0
            self._streak += 1
            self._state, self._reason, self._since = UNUSABLE, reason, now
            self._next_probe = now + self._backoff()
            log.warning("%s: the Kubernetes API is unusable (%s); claiming nothing until it answers", self.name, reason)
        self.changed.set()

    def probe_due(self) -> bool:
        """True (once per backoff step) when a recovery probe should run now."""
        with self._lock:
            if self._state == OK:
                return False
            now = self.clock()
            if now < self._next_probe:
                return False
            if self._state == UNUSABLE:
                self._streak += 1
            self._next_probe = now + self._backoff()
            return True

    def seconds_to_probe(self) -> float:
        with self._lock:
            return 0.0 if self._state == OK else max(0.0, self._next_probe - self.clock())

    def _backoff(self) -> float:
        return min(self.max_backoff, 0.5 * 2 ** max(0, self._streak - 1))
