"""One scheduler replica: registry row, heartbeat thread, and the claim → launch → sync loop.

The constructor registers the job row and builds every part (executor, sweeper, liveness,
Lease, heartbeat, recovery, metrics); `start()` only starts their threads. The heartbeat runs
on its own thread with its own short transactions, so a slow loop never makes a live replica
look dead (DESIGN §4.8). Stopping (SIGTERM) stops claiming, finishes the current loop, hands
back what was not launched, marks the job row ended and leaves running pods to the survivors.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from podherd import __version__
from podherd.config import Config
from podherd.core.executor.executor import KubernetesExecutor
from podherd.core.executor.retention import RetentionSweep
from podherd.core.ha.lease import ReplicaLease
from podherd.core.ha.liveness import Liveness, Mode
from podherd.core.ha.sweeper import Sweeper
from podherd.core.kube.client import KubeClient
from podherd.core.kube.recovery import Recovery
from podherd.core.labels import get_scheme
from podherd.core.podspec import pod_name
from podherd.core.ports import Launch
from podherd.core.stats import Tally
from podherd.metrics import Metrics, ReplicaSnapshot
from podherd.standalone.alive import JobTable
from podherd.standalone.db import queries
from podherd.standalone.db.models import JobState
from podherd.standalone.db.rows import ClaimedTask
from podherd.standalone.heartbeat import Heartbeat
from podherd.standalone.launches import launch_of
from podherd.standalone.store import DbTaskStore
from podherd.standalone.wiring import executor_settings, own_retention_period, sweep_settings

log = logging.getLogger("podherd.scheduler")


@dataclass(frozen=True)
class ReplicaStats:
    loops: int = 0
    claimed: int = 0
    heartbeats: int = 0
    heartbeat_failures: int = 0
    loop_seconds_max: float = 0.0


class Replica:
    """A scheduler replica. `start()`, then `run()` until `request_stop()` (or a predicate) ends it."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        kube: KubeClient,
        template: dict[str, Any] | None = None,
        hostname: str | None = None,
        only_ids: Collection[int] | None = None,
    ) -> None:
        """`only_ids`: claim only these tasks (`podherd run` runs just its file)."""
        self.config = config
        self.engine = engine
        self.kube = kube
        self.template = template
        self.hostname = hostname or socket.gethostname()
        self.only_ids = only_ids
        self.scheme = get_scheme(config.core.label_scheme)
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._claim_again_at = 0.0  # when the last claim found the queue empty: not before this again
        self._tally = Tally(ReplicaStats)
        self._last_error = ""
        self.last_heartbeat_ok = self.last_loop_at = time.monotonic()
        self.job_id = queries.register_job(engine, queries.SCHEDULER_JOB, self.hostname, os.getpid())
        kube.set_user_agent(self.user_agent)
        kube.health.name = f"replica {self.job_id}"
        self._build()

    def _build(self) -> None:
        """Every part, wired through the core's ports: the executor and sweeper never see the database."""
        cfg, k = self.config, self.config.kubernetes_executor
        threshold = cfg.scheduler.scheduler_health_check_threshold
        self.store = DbTaskStore(self.engine, self.job_id, threshold, self._launch_of)
        ex = self.executor = KubernetesExecutor(
            self.kube, self.store, executor_settings(cfg), self.job_id, self.scheme, wake=self.wake
        )
        self.retention = RetentionSweep(
            self.kube,
            ex.cleaner,
            self.scheme,
            namespaces=lambda: list(ex.watchers),
            owners=lambda: [str(self.job_id)],
            retention=k.done_pod_retention,
            period=own_retention_period(cfg),
        )
        self.lease = self._lease() if k.liveness != Mode.DB else None
        registry = JobTable(self.engine, self.job_id, threshold)
        self.liveness = Liveness(
            self.job_id, threshold, k.liveness, registry, self.kube, k.namespace, health=self.kube.health
        )
        self.sweeper = Sweeper(
            self.kube,
            self.store,
            ex,
            self.liveness,
            ex.cleaner,
            self.kube.health,
            self.scheme,
            self.job_id,
            sweep_settings(cfg),
            namespaces=lambda: sorted(set(ex.watchers) | {k.namespace}),
            after_sweep=self.liveness.delete_stale_leases,
        )
        self.loop_hooks: list[Callable[[], int]] = [self.retention.maybe_run, ex.leftovers.maybe_run, self.sweeper.tick]
        hooks = [self.lease.renew] if self.lease is not None else []
        self.heartbeat = Heartbeat(self._beat, cfg.scheduler.scheduler_heartbeat_sec, hooks)
        self.recovery = Recovery(self.kube, k.namespace)
        self.metrics = Metrics(self.snapshot, lambda: queries.count_tasks_by_state(self.engine))

    def _lease(self) -> ReplicaLease:
        """This replica's Lease, created now if the API lets us (else the heartbeat thread keeps trying)."""
        k = self.config.kubernetes_executor
        threshold = self.config.scheduler.scheduler_health_check_threshold
        lease = ReplicaLease(self.kube, k.namespace, self.job_id, threshold, self.hostname)
        try:
            lease.renew()
        except Exception as e:  # the DB row is enough to start
            log.warning("replica %s: could not create its lease yet (%s)", self.job_id, type(e).__name__)
        return lease

    def _launch_of(self, task: ClaimedTask) -> Launch:
        return launch_of(task, self.scheme, self.template)

    @property
    def user_agent(self) -> str:
        return f"podherd/{__version__} (replica {self.job_id})"

    @property
    def stats(self) -> ReplicaStats:
        return self._tally.snapshot()

    def snapshot(self) -> ReplicaSnapshot:
        """What the metrics show, read from every part at once."""
        ex = self.executor
        return ReplicaSnapshot(
            requests=dict(self.kube.requests.counts),
            api=self.kube.health.snapshot(),
            sweeper=self.sweeper.stats,
            executor=ex.stats,
            running=len(ex.attempts),
            cleanup=ex.cleaner.stats,
            leftovers=ex.leftovers.stats,
            watches={ns: w.stats for ns, w in list(ex.watchers.items())},
            heartbeat_failures=self.stats.heartbeat_failures,
        )

    def start(self) -> None:
        """Start the threads: heartbeat, API recovery, the first watch."""
        self.heartbeat.start()
        self.recovery.start()
        self.executor.start()
        log.info("replica %s started on %s (pid %s)", self.job_id, self.hostname, os.getpid())

    def _beat(self) -> None:
        """Heartbeat thread: stamp the job row with this replica's readiness."""
        try:
            queries.heartbeat(self.engine, self.job_id, readiness=self.not_ready_reason())
            self._tally.add("heartbeats")
            self.last_heartbeat_ok = time.monotonic()
        except queries.JobEndedError:
            log.error("replica %s: our job row was ended by someone else; stopping", self.job_id)
            self.request_stop()
        except Exception as e:  # the DB blinked: keep trying, the loop keeps working
            self._tally.add("heartbeat_failures")
            log.warning("replica %s: heartbeat failed (%s)", self.job_id, type(e).__name__)

    def health(self, probe: str) -> tuple[bool, str]:
        """`healthz`: the heartbeat thread runs and the loop is not stuck. `readyz`: the replica may
        claim (`not_ready_reason`): the database answered recently, every watch has synced and the
        API accepts us. A DB outage makes a replica unready, not unhealthy: restarting it would not
        bring the database back."""
        period = self.config.scheduler.scheduler_heartbeat_sec
        now = time.monotonic()
        if probe == "healthz":
            beating = self.heartbeat.is_alive()
            looping = now - self.last_loop_at < max(60.0, 10 * period)
            ok = beating and looping and not self.stopping
            return ok, f"heartbeat thread {'alive' if beating else 'dead'}, loop {'ok' if looping else 'stuck'}\n"
        why = self.not_ready_reason()
        return not why, ("ready: database ok, watches synced, api ok" if not why else f"not ready: {why}") + "\n"

    def not_ready_reason(self) -> str:
        """Why this replica claims nothing now ("" when it may claim). One condition for the claim
        gate, `/readyz` and `podherd status`: never claim what could not be followed or created."""
        if self.stopping:
            return "stopping"
        api = self.kube.health.reason
        if api:
            return api
        if time.monotonic() - self.last_heartbeat_ok >= 3 * self.config.scheduler.scheduler_heartbeat_sec + 1:
            return "database unreachable (no heartbeat written lately)"
        unsynced = sorted(ns for ns, w in self.executor.watchers.items() if not w.synced.is_set())
        if unsynced:
            return f"watch not synced yet: {', '.join(unsynced)}"
        return ""

    def request_stop(self) -> None:
        self._stop.set()
        self.wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def step(self) -> int:
        """One loop: process events, then claim what fits and start its pods, run the hooks. Returns the work done.

        Events first: the results they record free slots, and the claim right after fills them in the
        same loop (claiming first would leave them empty until the next loop).
        """
        started = time.monotonic()
        work = self.executor.sync()
        claimed = self._claim()
        if claimed:
            self.executor.create_due()
        work += claimed
        for hook in self.loop_hooks:
            work += hook()
        elapsed = time.monotonic() - started
        self.last_loop_at = time.monotonic()
        self.metrics.loop_seconds.observe(elapsed)
        self._tally.add("loops")
        if elapsed > self.stats.loop_seconds_max:
            self._tally.set("loop_seconds_max", elapsed)
        return work

    def _claim(self) -> int:
        """Claim queued tasks for the free slots, unless stopping or the API would refuse their pods."""
        if self.not_ready_reason():
            return 0
        free = self.executor.free_slots(self.config.core.parallelism)
        if not free:
            return 0
        now = time.monotonic()
        if now < self._claim_again_at:  # the queue was empty a moment ago: do not ask every loop
            return 0
        claimed = queries.claim_queued_tasks(self.engine, self.job_id, free, pod_name, self.only_ids)
        self._claim_again_at = 0.0 if claimed else now + self.config.scheduler.loop_idle_sleep
        if claimed:
            self._tally.add("claimed", len(claimed))
            self.executor.launch([self._launch_of(t) for t in claimed])
        return len(claimed)

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Loop until stopped (or `until()` is true).

        A loop that found nothing to do sleeps until an event wakes it (or `loop_idle_sleep`); one
        that did work waits `loop_batch_window` first, so the next handles what came in meanwhile
        together: one database transaction for many events instead of one each.
        """
        idle = self.config.scheduler.loop_idle_sleep
        window = self.config.scheduler.loop_batch_window
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
            elif window:
                self._stop.wait(window)

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

    def shutdown(self, end_state: str = JobState.SUCCESS, hand_back_all: bool = False) -> None:
        """Stop claiming, hand back what was not launched, leave running pods for adoption, end the job row.

        `hand_back_all` (`podherd run`): also delete launched pods and hand their tries back, since
        no survivor is there to take them over. Either way no task stays `running` with no owner
        to finish it: what is not handed back belongs to an ended job, which survivors take over.
        """
        self._stop.set()
        try:
            handed, left = self.executor.hand_back(delete_launched=hand_back_all)
            if handed or left:
                log.info("replica %s: %d tries handed back, %d left for takeover", self.job_id, handed, left)
        except Exception as e:
            log.warning("replica %s: hand back failed (%s); its work is left for takeover", self.job_id, e)
        self.heartbeat.stopping.set()
        self.recovery.stop()
        self.executor.stop()
        if self.lease is not None:
            self.lease.release()
        self.metrics.close()
        try:
            queries.end_job(self.engine, self.job_id, end_state)
        except Exception:
            log.exception("replica %s: could not mark the job row ended", self.job_id)
        log.info("replica %s stopped", self.job_id)
