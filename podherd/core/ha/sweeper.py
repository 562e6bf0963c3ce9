"""Taking over a dead replica's work: orphaned running tasks, completed pods, kept done pods.

Runs from the replica's loop. Every heartbeat period it asks `Liveness` who is
alive; a sibling newly seen dead triggers a sweep at once (policy `podherd`),
otherwise sweeps run every `orphaned_tasks_check_interval`. If the alive set
cannot be determined the sweep is skipped and counted — never widened.

1. Orphaned running tasks: `take_over_tasks` moves each task of a dead owner to
   exactly one survivor (conditional UPDATE); its pod is then claimed with a
   compare-and-swap and followed by our watcher. A pod that is gone counts the
   try as lost; a pod never created is created now (same deterministic name).
2. Completed pods of dead owners: listed with the seed's selector and a phase field
   selector (metadata only), claimed one by one (CAS); the winner records the
   result if it is not yet recorded, then deletes or labels done; a loser drops it.
3. Done pods of dead owners past retention are deleted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException
from sqlalchemy import Engine

from podherd.core.executor.executor import KubernetesExecutor
from podherd.core.executor.retention import RetentionSweep
from podherd.core.ha.liveness import Liveness
from podherd.core.ha.planner import PODHERD, TERMINAL_PHASES, claim_patch, plan_claims, sweep_selector
from podherd.core.kube.classify import unusable
from podherd.core.kube.client import KubeClient
from podherd.core.labels import LabelScheme
from podherd.standalone.db import queries
from podherd.standalone.db.rows import ClaimedTask

log = logging.getLogger("podherd.sweeper")


@dataclass
class SweepStats:
    sweeps: int = 0
    skipped: int = 0  # alive set unknown
    skipped_api: int = 0  # the Kubernetes API is unusable for us
    claims_won: int = 0
    claims_lost: int = 0
    tasks_taken_over: int = 0
    pods_lost: int = 0
    relaunched: int = 0  # taken-over tries that were never launched, created now
    settled: int = 0  # taken-over tries another survivor had already finished
    deaths_seen: int = 0
    last_takeover_seconds: float = 0.0
    leases_deleted: int = 0


class Sweeper:
    def __init__(
        self,
        kube: KubeClient,
        engine: Engine,
        executor: KubernetesExecutor,
        liveness: Liveness,
        scheme: LabelScheme,
        self_id: int,
        policy: str,
        check_period: float,
        sweep_interval: float,
        retention: float,
        namespaces: Callable[[], list[str]],
    ) -> None:
        self.kube = kube
        self.engine = engine
        self.executor = executor
        self.liveness = liveness
        self.scheme = scheme
        self.me = str(self_id)
        self.self_id = self_id
        self.policy = policy
        self.check_period = check_period
        self.sweep_interval = sweep_interval
        self.namespaces = namespaces
        self.stats = SweepStats()
        self.alive: set[int] | None = None
        self._last_check = 0.0
        self._last_sweep = 0.0
        self._first = True
        self._owed = False  # a sweep was due while the API was unusable
        self._pending: dict[tuple[str, str], tuple[ClaimedTask, str]] = {}  # adoptions to retry
        self.retention = RetentionSweep(
            kube,
            executor.cleaner,
            scheme,
            namespaces,
            owners=lambda: None,
            retention=retention,
            period=0,
            exclude=self._not_dead,
        )

    def _not_dead(self) -> list[str] | None:
        """Owners whose done pods are not ours to expire: me (the owner sweep does mine) and the alive."""
        return None if self.alive is None else [self.me, *map(str, self.alive)]

    # ---- the loop hook ------------------------------------------------------------------------
    def tick(self) -> int:
        now = time.monotonic()
        if now - self._last_check < self.check_period and not self._first:
            return 0
        retried = self.retry_adoptions()
        self._last_check = now
        alive = self.liveness.alive_siblings()
        if alive is None:
            self.stats.skipped += 1
            return retried
        newly_dead = (self.alive or set()) - alive
        self.alive = alive
        if newly_dead:
            self.stats.deaths_seen += len(newly_dead)
            log.warning("replica %s: siblings %s are no longer alive", self.me, sorted(newly_dead))
        due = now - self._last_sweep >= self.sweep_interval
        if self._first or due or self._owed or (newly_dead and self.policy == PODHERD):
            if not self.kube.health.ready:  # a survivor the API accepts may take it; else we do, later
                self._owed = True
                self.stats.skipped_api += 1
                return retried
            self._first = self._owed = False
            self._last_sweep = now
            return retried + self.sweep(alive)
        return retried

    def sweep(self, alive: set[int]) -> int:
        started = time.monotonic()
        self.stats.sweeps += 1
        work = self.take_over(alive)
        work += self.sweep_completed(alive)
        work += self.retention.run()
        self.delete_stale_leases()
        if work:
            self.stats.last_takeover_seconds = time.monotonic() - started
        return work

    # ---- 1. orphaned running tasks ------------------------------------------------------------
    def take_over(self, alive: set[int]) -> int:
        try:
            dead = queries.dead_job_ids_with_work(self.engine, queries.SCHEDULER_JOB, self.liveness.threshold)
        except Exception as e:
            log.warning("takeover skipped: database unavailable (%s)", type(e).__name__)
            return 0
        dead = {d for d in dead if d != self.self_id and d not in alive}
        n = 0
        for owner in sorted(dead):
            try:
                tasks = queries.take_over_tasks(self.engine, owner, self.self_id)
            except Exception as e:
                log.warning("takeover of replica %s failed (%s)", owner, type(e).__name__)
                continue
            for task in tasks:
                if not self._adopt_task(task, str(owner)):
                    self._pending[(task.namespace, task.pod_name)] = (task, str(owner))
            n += len(tasks)
            self.stats.tasks_taken_over += len(tasks)
            if tasks:
                log.warning("replica %s took over %d tasks of dead replica %s", self.me, len(tasks), owner)
        return n

    def _adopt_task(self, task: ClaimedTask, dead: str) -> bool:
        """Claim the task's pod (CAS) and follow it; create it if it never existed; count it lost if gone.

        The claim comes first whatever the attempt row says: a replica killed between its create
        call and recording the pod's uid leaves a live pod behind an attempt still marked launching.
        On a 404 the snapshot `take_over_tasks` returned is not trusted: the database decides, at
        that moment and under the task's lock, whether this try was never launched and is ours
        (another survivor may have claimed the pod, recorded it and deleted it meanwhile).

        Returns False when the API did not answer usefully: the adoption is retried next tick.
        """
        try:
            pod = self.kube.json_patch_pod(task.namespace, task.pod_name, claim_patch(self.scheme, dead, self.me))
        except ApiException as e:
            if e.status == 404:
                self._missing_pod(task)
                return True
            if e.status in (409, 422):  # the owner is not the dead replica any more
                self.stats.claims_lost += 1
                return self._follow_if_ours(task)
            log.info("claiming pod %s failed (%s); retrying next tick", task.pod_name, e.status)
            return False
        except Exception as e:
            log.info("claiming pod %s failed (%s); retrying next tick", task.pod_name, type(e).__name__)
            return False
        self.stats.claims_won += 1
        self.executor.launch([task], pods={task.pod_name: pod})
        return True

    def _missing_pod(self, task: ClaimedTask) -> None:
        decision = queries.decide_missing_pod(self.engine, task.task_id, task.try_number, self.self_id)
        if decision == queries.RELAUNCH:
            self.stats.relaunched += 1
            self.executor.launch([_relaunch(task)])  # never created: create it now (409 = it exists)
        elif decision == queries.LOST:
            self.stats.pods_lost += 1
            self.executor.record_lost(task)
        else:
            self.stats.settled += 1  # recorded by whoever claimed the pod first: nothing to do

    def retry_adoptions(self) -> int:
        """Adoptions whose claim call failed (API trouble) are retried until they resolve."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        for key, (task, dead) in pending.items():
            if not self._adopt_task(task, dead):
                self._pending[key] = (task, dead)
        return len(pending) - len(self._pending)

    def _follow_if_ours(self, task: ClaimedTask) -> bool:
        """After a lost claim: if the pod is already ours (an earlier sweep), follow it; else it is theirs."""
        try:
            pod = self.kube.get_pod(task.namespace, task.pod_name)
        except ApiException as e:
            if e.status == 404:
                self._missing_pod(task)
                return True
            return False
        except Exception:
            return False
        if (pod["metadata"].get("labels") or {}).get(self.scheme.owner_key) == self.me:
            self.executor.launch([task], pods={task.pod_name: pod})
        return True

    def delete_stale_leases(self) -> int:
        """Delete Leases of replicas gone for a long time (a kill -9 never deletes its own)."""
        if self.liveness.kube is None:
            return 0
        n = 0
        for name in self.liveness.stale_leases():
            try:
                self.liveness.kube.delete_lease(self.liveness.lease_namespace, name)
                n += 1
            except ApiException as e:
                if e.status != 404:
                    continue
            self.liveness.forget(name)
        self.stats.leases_deleted += n
        return n

    # ---- 2. completed pods --------------------------------------------------------------------
    def sweep_completed(self, alive: set[int]) -> int:
        selector = sweep_selector(self.policy, self.me, map(str, alive), self.scheme)
        n = 0
        for ns in self.namespaces():
            for phase in TERMINAL_PHASES:
                try:
                    pods, _rv = self.kube.list_pods(ns, selector, f"status.phase={phase}", metadata_only=True)
                except Exception as e:  # refusals are logged once by the API's health
                    level = logging.DEBUG if unusable(e) else logging.INFO
                    log.log(level, "completed-pod sweep of %s skipped (%s)", ns, type(e).__name__)
                    continue
                for claim in plan_claims(pods, self.policy, self.me, {str(a) for a in alive}, self.scheme):
                    n += self._claim_completed(claim, ns)
        return n

    def _claim_completed(self, claim: Any, namespace: str) -> int:
        try:
            if claim.conditional:
                pod = self.kube.json_patch_pod(namespace, claim.name, claim.patch)
            else:
                pod = self.kube.merge_patch_pod(namespace, claim.name, claim.patch)
        except ApiException as e:
            if e.status in (404, 409, 422):
                self.stats.claims_lost += 1  # another survivor won: drop it, no retry
                return 0
            log.info("claim of %s failed (%s)", claim.name, e.status)
            return 0
        self.stats.claims_won += 1
        self.executor.finish_foreign(pod, namespace)
        return 1


def _relaunch(task: ClaimedTask) -> ClaimedTask:
    from dataclasses import replace

    return replace(task, attempt_state="launching", pod_uid=None)
