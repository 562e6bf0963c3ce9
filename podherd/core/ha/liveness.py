"""Who is alive: the DB registry, optionally confirmed by one coordination.k8s.io Lease per replica.

`alive_siblings()` answers a set of replica ids, or None when it cannot tell.
None means "skip this sweep", never "assume everyone else is dead": the seed's
fallback to "exclude only myself" on a DB error is what re-enables the thrash
during a database outage (DESIGN §4.7).

With `both` (the default) a replica counts as alive if either source says so.
Sweeps therefore only ever act on replicas both sources agree are dead, and
either source alone keeps the sweeps running while the other is down.

Lease expiry is judged the client-go way (`isLeaseValid`): by when *this*
process last saw the lease change (resourceVersion/renewTime), plus its
duration. Remote clocks are never compared with the local one, so clock skew
between hosts does not matter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes.client.exceptions import ApiException
from sqlalchemy import Engine

from podherd.core.kube.client import KubeClient
from podherd.core.kube.health import UNUSABLE
from podherd.standalone.db import queries
from podherd.timefmt import micro

log = logging.getLogger("podherd.liveness")

LEASE_LABEL = "podherd.io/replica-lease"
LEASE_PREFIX = "podherd-replica-"


def lease_name(job_id: int) -> str:
    return f"{LEASE_PREFIX}{job_id}"


@dataclass
class LivenessStats:
    db_failures: int = 0
    lease_failures: int = 0
    unknown: int = 0  # answers of "cannot tell"
    renewals: int = 0
    renew_failures: int = 0


class ReplicaLease:
    """This replica's Lease, renewed from the heartbeat thread."""

    def __init__(self, kube: KubeClient, namespace: str, job_id: int, duration: float, hostname: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = lease_name(job_id)
        self.job_id = job_id
        self.duration = max(1, int(duration))
        self.hostname = hostname
        self._current: dict | None = None

    def renew(self) -> None:
        """Create or renew with optimistic concurrency (PUT with the last RV; 409 → re-read)."""
        now = micro()
        if self._current is None:
            try:
                self._current = self.kube.get_lease(self.namespace, self.name)
            except ApiException as e:
                if e.status != 404:
                    raise
                body = {
                    "metadata": {"name": self.name, "labels": {LEASE_LABEL: "true"}},
                    "spec": {
                        "holderIdentity": str(self.job_id),
                        "leaseDurationSeconds": self.duration,
                        "acquireTime": now,
                        "renewTime": now,
                        "leaseTransitions": 0,
                    },
                }
                self._current = self.kube.create_lease(self.namespace, body)
                return
        body = dict(self._current)
        body["spec"] = {**(body.get("spec") or {}), "renewTime": now, "holderIdentity": str(self.job_id)}
        try:
            self._current = self.kube.replace_lease(self.namespace, self.name, body)
        except ApiException as e:
            self._current = None  # re-read next time (409: someone wrote it; 404: deleted)
            if e.status not in (404, 409):
                raise

    def release(self) -> None:
        """On a clean stop: delete our lease so successors need not wait for it to expire."""
        try:
            self.kube.delete_lease(self.namespace, self.name)
        except Exception as e:
            log.info("could not delete lease %s (%s)", self.name, type(e).__name__)


class Liveness:
    """Answers the alive-sibling set from the configured sources (`db`, `lease` or `both`)."""

    def __init__(
        self,
        engine: Engine,
        self_id: int,
        threshold: float,
        mode: str = "both",
        kube: KubeClient | None = None,
        lease_namespace: str = "default",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in ("db", "lease", "both"):
            raise ValueError(f"liveness must be db, lease or both, not {mode!r}")
        if mode != "db" and kube is None:
            raise ValueError("lease liveness needs a Kubernetes client")
        self.engine = engine
        self.self_id = self_id
        self.threshold = threshold
        self.mode = mode
        self.kube = kube
        self.lease_namespace = lease_namespace
        self.clock = clock
        self.stats = LivenessStats()
        self._observed: dict[str, tuple[str, float, float]] = {}  # lease -> (rv, seen at, duration)
        self._down: dict[str, bool] = {"database": False, "leases": False}  # logged once per change

    def alive_siblings(self) -> set[int] | None:
        db = self._from_db() if self.mode in ("db", "both") else None
        leases = self._from_leases() if self.mode in ("lease", "both") else None
        if db is None and leases is None:
            self.stats.unknown += 1
            return None
        return (db or set()) | (leases or set())

    def stale_leases(self, factor: float = 3.0) -> list[str]:
        """Leases not seen to change for `factor` x their duration: their replica is long gone.

        Any member may delete them (the apiserver identity-lease GC pattern): a crashed replica
        never deletes its own, and otherwise every liveness check would list them forever.
        """
        now = self.clock()
        return sorted(name for name, (_v, seen_at, dur) in self._observed.items() if now - seen_at > factor * dur)

    def forget(self, name: str) -> None:
        self._observed.pop(name, None)

    def _from_db(self) -> set[int] | None:
        try:
            alive = queries.alive_sibling_ids(self.engine, self.self_id, queries.SCHEDULER_JOB, self.threshold)
        except Exception as e:  # the DB blinked: this source cannot answer now
            self.stats.db_failures += 1
            self._source("database", e)
            return None
        self._source("database", None)
        return alive

    def _source(self, name: str, error: Exception | None) -> None:
        """Log a source going away or coming back once, not at every check."""
        down = error is not None
        if self._down[name] == down:
            return
        self._down[name] = down
        if error is not None:
            log.warning(
                "liveness: %s unavailable (%s); using the other source or skipping sweeps", name, type(error).__name__
            )
        else:
            log.info("liveness: %s available again", name)

    def _from_leases(self) -> set[int] | None:
        assert self.kube is not None
        if self.kube.health.snapshot().state == UNUSABLE:  # no request per check while refused
            self.stats.lease_failures += 1
            return None
        try:
            leases = self.kube.list_leases(self.lease_namespace, f"{LEASE_LABEL}=true")
        except Exception as e:
            self.stats.lease_failures += 1
            self._source("leases", e)
            return None
        self._source("leases", None)
        now = self.clock()
        alive: set[int] = set()
        seen: set[str] = set()
        for lease in leases:
            meta = lease.get("metadata") or {}
            spec = lease.get("spec") or {}
            name = meta.get("name", "")
            seen.add(name)
            version = f"{meta.get('resourceVersion')}/{spec.get('renewTime')}"
            duration = float(spec.get("leaseDurationSeconds") or self.threshold)
            prev = self._observed.get(name)
            if prev is None or prev[0] != version:
                self._observed[name] = (version, now, duration)
            _v, seen_at, dur = self._observed[name]
            holder = str(spec.get("holderIdentity") or "")
            if holder.isdigit() and int(holder) != self.self_id and now - seen_at < dur:
                alive.add(int(holder))
        for gone in set(self._observed) - seen:
            del self._observed[gone]
        return alive
