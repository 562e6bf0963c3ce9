"""One coordination.k8s.io Lease per replica: its owner renews it, everyone else observes it.

Expiry is judged the client-go way (`isLeaseValid`): by when *this* process last saw the lease
change (resourceVersion/renewTime), plus its duration. Remote clocks are never compared with the
local one, so clock skew between hosts does not matter.

A replica killed with -9 never deletes its own Lease, so any member deletes Leases not seen to
change for a long time (the apiserver identity-lease GC pattern): otherwise every liveness check
would list them forever.
"""

from __future__ import annotations

import logging
import time

from kubernetes.client.exceptions import ApiException

from podherd.core.kube.errors import Conflict, NotFound
from podherd.core.ports import Clock, Lease, LeaseAPI
from podherd.timefmt import micro

log = logging.getLogger("podherd.liveness")

LEASE_LABEL = "podherd.io/replica-lease"
LEASE_PREFIX = "podherd-replica-"
STALE_FACTOR = 3.0  # a Lease unchanged for this many durations belongs to a replica long gone


def lease_name(job_id: int) -> str:
    return f"{LEASE_PREFIX}{job_id}"


class ReplicaLease:
    """This replica's Lease, renewed from the heartbeat thread."""

    def __init__(self, leases: LeaseAPI, namespace: str, job_id: int, duration: float, hostname: str) -> None:
        self.leases = leases
        self.namespace = namespace
        self.name = lease_name(job_id)
        self.job_id = job_id
        self.duration = max(1, int(duration))
        self.hostname = hostname
        self._current: Lease | None = None

    def renew(self) -> None:
        """Create or renew with optimistic concurrency (PUT with the last RV; 409 → re-read)."""
        now = micro()
        if self._current is None:
            try:
                self._current = self.leases.get_lease(self.namespace, self.name)
            except NotFound:
                self._current = self.leases.create_lease(self.namespace, self._new(now))
                return
        body = dict(self._current)
        body["spec"] = {**(body.get("spec") or {}), "renewTime": now, "holderIdentity": str(self.job_id)}
        try:
            self._current = self.leases.replace_lease(self.namespace, self.name, body)
        except ApiException as e:
            self._current = None  # re-read next time (409: someone wrote it; 404: deleted)
            if not isinstance(e, NotFound | Conflict):
                raise

    def _new(self, now: str) -> Lease:
        return {
            "metadata": {"name": self.name, "labels": {LEASE_LABEL: "true"}},
            "spec": {
                "holderIdentity": str(self.job_id),
                "leaseDurationSeconds": self.duration,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }

    def release(self) -> None:
        """On a clean stop: delete our lease so successors need not wait for it to expire."""
        try:
            self.leases.delete_lease(self.namespace, self.name)
        except Exception as e:
            log.info("could not delete lease %s (%s)", self.name, type(e).__name__)


class LeaseObserver:
    """Other replicas' Leases as this process has seen them change."""

    def __init__(
        self, leases: LeaseAPI, namespace: str, self_id: int, default_duration: float, clock: Clock = time.monotonic
    ) -> None:
        self.leases = leases
        self.namespace = namespace
        self.self_id = self_id
        self.default_duration = default_duration
        self.clock = clock
        self._observed: dict[str, tuple[str, float, float]] = {}  # lease -> (version, seen at, duration)

    def alive(self) -> set[int]:
        """Holders of Leases seen to change within their duration (me excluded). Raises on API errors."""
        leases = self.leases.list_leases(self.namespace, f"{LEASE_LABEL}=true")
        now = self.clock()
        alive: set[int] = set()
        seen: set[str] = set()
        for lease in leases:
            meta = lease.get("metadata") or {}
            spec = lease.get("spec") or {}
            name = meta.get("name", "")
            seen.add(name)
            version = f"{meta.get('resourceVersion')}/{spec.get('renewTime')}"
            duration = float(spec.get("leaseDurationSeconds") or self.default_duration)
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

    def stale(self, factor: float = STALE_FACTOR) -> list[str]:
        """Leases not seen to change for `factor` x their duration: their replica is long gone."""
        now = self.clock()
        return sorted(name for name, (_v, seen_at, dur) in self._observed.items() if now - seen_at > factor * dur)

    def delete_stale(self) -> int:
        """Delete the stale Leases (a 404 means someone else did); returns how many this call deleted."""
        n = 0
        for name in self.stale():
            try:
                self.leases.delete_lease(self.namespace, name)
                n += 1
            except NotFound:
                pass
            except ApiException:
                continue
            self._observed.pop(name, None)
        return n
