"""Who is alive: a front-end's replica registry, optionally confirmed by one Lease per replica.

`alive_siblings()` answers a set of replica ids, or None when it cannot tell.
None means "skip this sweep", never "assume everyone else is dead": the seed's
fallback to "exclude only myself" on a DB error is what re-enables the thrash
during a database outage (DESIGN §4.7).

With `both` (the default) a replica counts as alive if either source says so.
Sweeps therefore only ever act on replicas both sources agree are dead, and
either source alone keeps the sweeps running while the other is down.

The registry is the front-end's (`AliveSource`: the standalone scheduler's `job`
table, or Airflow's); the Leases are judged here (lease.py), from local observation.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum

from podherd.core.ha.lease import LeaseObserver
from podherd.core.kube.health import UNUSABLE, ApiHealth
from podherd.core.ports import AliveSource, Clock, LeaseAPI
from podherd.core.stats import Tally

log = logging.getLogger("podherd.liveness")


class Mode(StrEnum):
    """`kubernetes_executor.liveness`: which sources say who is alive."""

    DB = "db"
    LEASE = "lease"
    BOTH = "both"


class Availability:
    """Logs a liveness source going away or coming back once, not at every check."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._down = False

    def down(self, why: str) -> None:
        if not self._down:
            self._down = True
            log.warning("liveness: %s unavailable (%s); using the other source or skipping sweeps", self.name, why)

    def up(self) -> None:
        if self._down:
            self._down = False
            log.info("liveness: %s available again", self.name)


@dataclass(frozen=True)
class LivenessStats:
    db_failures: int = 0  # the registry could not answer
    lease_failures: int = 0
    unknown: int = 0  # answers of "cannot tell"
    leases_deleted: int = 0  # stale Leases of long-gone replicas


class Liveness:
    """Answers the alive-sibling set from the configured sources (`db`, `lease` or `both`)."""

    def __init__(
        self,
        self_id: int,
        threshold: float,
        mode: str = Mode.BOTH,
        registry: AliveSource | None = None,
        leases: LeaseAPI | None = None,
        lease_namespace: str = "default",
        health: ApiHealth | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        if mode not in tuple(Mode):
            raise ValueError(f"liveness must be db, lease or both, not {mode!r}")
        self.mode = Mode(mode)
        if self.mode != Mode.LEASE and registry is None:
            raise ValueError("db liveness needs a replica registry")
        if self.mode != Mode.DB and leases is None:
            raise ValueError("lease liveness needs a Kubernetes client")
        self.registry = registry if self.mode != Mode.LEASE else None
        self.leases = LeaseObserver(leases, lease_namespace, self_id, threshold, clock) if leases is not None else None
        self.health = health
        self._tally = Tally(LivenessStats)
        self._lease_source = Availability("leases")

    @property
    def stats(self) -> LivenessStats:
        return self._tally.snapshot()

    def alive_siblings(self) -> set[int] | None:
        db = self._from_registry()
        leases = self._from_leases() if self.mode != Mode.DB else None
        if db is None and leases is None:
            self._tally.add("unknown")
            return None
        return (db or set()) | (leases or set())

    def stale_leases(self) -> list[str]:
        """Leases of replicas gone for a long time (lease.py), as last observed."""
        return self.leases.stale() if self.leases is not None else []

    def delete_stale_leases(self) -> int:
        """Delete the Leases of replicas gone for a long time (a kill -9 never deletes its own)."""
        if self.leases is None:
            return 0
        n = self.leases.delete_stale()
        self._tally.add("leases_deleted", n)
        return n

    def _from_registry(self) -> set[int] | None:
        if self.registry is None:
            return None
        alive = self.registry.alive_siblings()
        if alive is None:  # the registry blinked: this source cannot answer now (it logs why, once)
            self._tally.add("db_failures")
        return alive

    def _from_leases(self) -> set[int] | None:
        assert self.leases is not None
        if self.health is not None and self.health.snapshot().state == UNUSABLE:  # no request per check while refused
            self._tally.add("lease_failures")
            return None
        try:
            alive = self.leases.alive()
        except Exception as e:
            self._tally.add("lease_failures")
            self._lease_source.down(type(e).__name__)
            return None
        self._lease_source.up()
        return alive
