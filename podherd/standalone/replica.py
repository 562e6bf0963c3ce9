"""One scheduler replica: registry row, heartbeat thread, and the claim → launch → sync loop.

The heartbeat runs on its own thread with its own short transactions, so a slow
loop never makes a live replica look dead (DESIGN §4.8). Stopping (SIGTERM)
stops claiming, finishes the current loop, marks the job row ended and leaves
running pods for the survivors to adopt.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from podherd import __version__
from podherd.config import Config
from podherd.core.executor.executor import KubernetesExecutor
from podherd.core.executor.retention import RetentionSweep
from podherd.core.ha.liveness import Liveness, ReplicaLease
from podherd.core.ha.sweeper import Sweeper
from podherd.core.kube.client import KubeClient
from podherd.core.kube.recovery import Recovery
from podherd.core.labels import get_scheme
from podherd.core.podspec import pod_name
from podherd.metrics import Metrics
from podherd.standalone.db import queries

log = logging.getLogger("podherd.scheduler")


@dataclass
class ReplicaStats:
    loops: int = 0
    claimed: int = 0
    heartbeats: int = 0
    heartbeat_failures: int = 0
    loop_seconds_max: float = 0.0
    loop_seconds: list[float] = field(default_factory=list)


class Heartbeat(threading.Thread):
    """Writes `latest_heartbeat` every period, independent of the loop."""

    def __init__(self, replica: Replica, period: float) -> None:
        super().__init__(name="podherd-heartbeat", daemon=True)
        self.replica = replica
        self.period = period
        self.stopping = threading.Event()
        self.hooks: list[Callable[[], None]] = []  # e.g. Lease renewal (HA)

    def run(self) -> None:
        while not self.stopping.wait(self.period):
            self.beat()

    def beat(self) -> None:
        r = self.replica
        try:
            queries.heartbeat(r.engine, r.job_id, readiness=r.not_ready_reason())
            r.stats.heartbeats += 1
            r.last_heartbeat_ok = time.monotonic()
        except queries.JobEndedError:
            log.error("replica %s: our job row was ended by someone else; stopping", r.job_id)
            r.request_stop()
        except Exception as e:  # the DB blinked: keep trying, the loop keeps working
            r.stats.heartbeat_failures += 1
            log.warning("replica %s: heartbeat failed (%s)", r.job_id, type(e).__name__)
        for hook in self.hooks:
            try:
                hook()
            except Exception as e:  # e.g. a Lease renewal while the API is down: health logs that once
                log.debug("heartbeat hook failed: %s", type(e).__name__)


class Replica:
    """A scheduler replica. `start()`, then `run()` until `request_stop()` (or a predicate) ends it."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        kube: KubeClient,
        template: dict[str, Any] | None = None,
        hostname: str | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.kube = kube
        self.template = template
        self.hostname = hostname or socket.gethostname()
        self.scheme = get_scheme(config.core.label_scheme)
        self.job_id = 0
        self.executor: KubernetesExecutor | None = None
        self.heartbeat: Heartbeat | None = None
        self.stats = ReplicaStats()
        self.wake = threading.Event()
        self._stop = threading.Event()
        self.loop_hooks: list[Callable[[], int]] = []  # periodic extras (HA sweeps) run each loop
        self.only_ids: set[int] | None = None  # claim only these tasks (podherd run)
        self.lease: ReplicaLease | None = None
        self.sweeper: Sweeper | None = None
        self.metrics: Metrics | None = None
        self.last_heartbeat_ok = time.monotonic()
        self.last_loop_at = time.monotonic()
        self.recovery = Recovery(kube, config.kubernetes_executor.namespace)
        self._last_error = ""

    @property
    def user_agent(self) -> str:
        return f"podherd/{__version__} (replica {self.job_id})"

    def start(self) -> None:
        self.job_id = queries.register_job(self.engine, queries.SCHEDULER_JOB, self.hostname, os.getpid())
        self.kube.set_user_agent(self.user_agent)
        self.kube.health.name = f"replica {self.job_id}"
        self.executor = KubernetesExecutor(
            self.kube, self.engine, self.config, self.job_id, self.scheme, self.template, wake=self.wake
        )
        k = self.config.kubernetes_executor
        retention = RetentionSweep(
            self.kube,
            self.executor.cleaner,
            self.scheme,
            namespaces=lambda: list(self.executor.watchers) if self.executor else [],
            owners=lambda: [str(self.job_id)],
            retention=k.done_pod_retention,
            period=min(max(k.done_pod_retention / 4, 1.0), self.config.scheduler.orphaned_tasks_check_interval),
        )
        self.loop_hooks.append(retention.maybe_run)
        self.loop_hooks.append(self.executor.leftovers.maybe_run)
        self.heartbeat = Heartbeat(self, self.config.scheduler.scheduler_heartbeat_sec)
        self._start_ha()
        self.heartbeat.start()
        self.recovery.start()
        self.executor.start()
        log.info("replica %s started on %s (pid %s)", self.job_id, self.hostname, os.getpid())

    def _start_ha(self) -> None:
        """Liveness (DB + optional Lease), the adoption sweeper, metrics."""
        sched = self.config.scheduler
        k = self.config.kubernetes_executor
        assert self.executor is not None and self.heartbeat is not None
        if k.liveness in ("lease", "both"):
            self.lease = ReplicaLease(
                self.kube, k.namespace, self.job_id, sched.scheduler_health_check_threshold, self.hostname
            )
            try:
                self.lease.renew()
            except Exception as e:  # the DB row is enough to start; the heartbeat thread keeps trying
                log.warning("replica %s: could not create its lease yet (%s)", self.job_id, type(e).__name__)
            self.heartbeat.hooks.append(self.lease.renew)
        liveness = Liveness(
            self.engine, self.job_id, sched.scheduler_health_check_threshold, k.liveness, self.kube, k.namespace
        )
        ex = self.executor
        self.sweeper = Sweeper(
            self.kube,
            self.engine,
            ex,
            liveness,
            self.scheme,
            self.job_id,
            sched.adoption_policy,
            check_period=sched.scheduler_heartbeat_sec / 2,  # lease observation + tick lag <= 1 heartbeat
            sweep_interval=sched.orphaned_tasks_check_interval,
            retention=k.done_pod_retention,
            namespaces=lambda: sorted(set(ex.watchers) | {k.namespace}),
        )
        self.loop_hooks.append(self.sweeper.tick)
        self.metrics = Metrics(self)

    def health(self, probe: str) -> tuple[bool, str]:
        """`healthz`: the heartbeat thread runs and the loop is not stuck. `readyz`: the database
        answered recently and every watch has synced. A DB outage makes a replica unready, not
        unhealthy: restarting it would not bring the database back."""
        period = self.config.scheduler.scheduler_heartbeat_sec
        now = time.monotonic()
        if probe == "healthz":
            beating = self.heartbeat is not None and self.heartbeat.is_alive()
            looping = now - self.last_loop_at < max(60.0, 10 * period)
            ok = beating and looping and not self.stopping
            return ok, f"heartbeat thread {'alive' if beating else 'dead'}, loop {'ok' if looping else 'stuck'}\n"
        db_ok = now - self.last_heartbeat_ok < 3 * period + 1
        synced = self.executor is not None and all(w.synced.is_set() for w in self.executor.watchers.values())
        api = self.kube.health.reason
        return db_ok and synced and not api and not self.stopping, (
            f"database {'ok' if db_ok else 'unreachable'}, watches {'synced' if synced else 'not synced'}, "
            f"api {'ok' if not api else 'unusable: ' + api}\n"
        )

    def not_ready_reason(self) -> str:
        """Why this replica claims nothing now ("" when it may claim); shown by `podherd status`."""
        if self.stopping:
            return "stopping"
        return self.kube.health.reason

    def request_stop(self) -> None:
        self._stop.set()
        self.wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def step(self) -> int:
        """One loop: claim what fits, launch, process events. Returns how much work was done."""
        ex = self.executor
        assert ex is not None
        started = time.monotonic()
        work = 0
        if not self.stopping and self.kube.health.ready:  # never claim what the API would refuse
            free = ex.free_slots(self.config.core.parallelism)
            if free:
                claimed = queries.claim_queued_tasks(self.engine, self.job_id, free, pod_name, self.only_ids)
                if claimed:
                    self.stats.claimed += len(claimed)
                    ex.launch(claimed)
                    work += len(claimed)
        work += ex.sync()
        for hook in self.loop_hooks:
            work += hook()
        elapsed = time.monotonic() - started
        self.last_loop_at = time.monotonic()
        if self.metrics is not None:
            self.metrics.loop_seconds.observe(elapsed)
        self.stats.loops += 1
        self.stats.loop_seconds_max = max(self.stats.loop_seconds_max, elapsed)
        if len(self.stats.loop_seconds) < 100_000:
            self.stats.loop_seconds.append(elapsed)
        return work

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Loop until stopped (or `until()` is true); sleeps only when a loop found nothing to do."""
        idle = self.config.scheduler.loop_idle_sleep
        while not self.stopping:
            try:
                work = self.step()
                self._last_error = ""
            except Exception as e:  # a failed loop (e.g. the DB is down) must not end the replica
                self._loop_failed(e)
                work = 0
                time.sleep(min(1.0, idle * 5 or 1.0))
            if until is not None and until():
                return
            if not work:
                self.wake.wait(idle)
                self.wake.clear()

    def _loop_failed(self, e: Exception) -> None:
        """Log a failing loop once per distinct error, not once per loop; a traceback only for bugs."""
        from sqlalchemy.exc import DBAPIError

        key = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
        if key == self._last_error:
            return
        self._last_error = key
        if isinstance(e, DBAPIError):
            log.warning("replica %s: loop failed, database unavailable (%s); retrying", self.job_id, key)
        elif self.kube.health.reason:
            log.warning("replica %s: loop failed while the API is unusable (%s); retrying", self.job_id, key)
        else:
            log.exception("replica %s: loop failed; retrying", self.job_id)

    def shutdown(self, end_state: str = "success", hand_back_all: bool = False) -> None:
        """Stop claiming, hand back what was not launched, leave running pods for adoption, end the job row.

        `hand_back_all` (`podherd run`): also delete launched pods and hand their tries back, since
        no survivor is there to take them over. Either way no task stays `running` with no owner
        to finish it: what is not handed back belongs to an ended job, which survivors take over.
        """
        self._stop.set()
        if self.executor is not None:
            try:
                handed, left = self.executor.hand_back(delete_launched=hand_back_all)
                if handed or left:
                    log.info("replica %s: %d tries handed back, %d left for takeover", self.job_id, handed, left)
            except Exception as e:
                log.warning("replica %s: hand back failed (%s); its work is left for takeover", self.job_id, e)
        if self.heartbeat is not None:
            self.heartbeat.stopping.set()
        self.recovery.stop()
        if self.executor is not None:
            self.executor.stop()
        if self.lease is not None:
            self.lease.release()
        if self.metrics is not None:
            self.metrics.close()
        if self.job_id:
            try:
                queries.end_job(self.engine, self.job_id, end_state)
            except Exception:
                log.exception("replica %s: could not mark the job row ended", self.job_id)
        log.info("replica %s stopped", self.job_id)
