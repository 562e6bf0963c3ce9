"""Taking over a dead replica's work: orphaned running tasks, completed pods, kept done pods.

Runs from the replica's loop. Every `check_period` it asks its `AliveSource` who is
alive; a sibling newly seen dead triggers a sweep at once (policy `podherd`),
otherwise sweeps run every `sweep_interval` (`orphaned_tasks_check_interval`). If the
alive set cannot be determined the sweep is skipped and counted — never widened.

1. Orphaned running tasks: `TaskStore.take_over` moves each attempt of a dead owner to
   exactly one survivor (conditional UPDATE); its pod is then claimed with a
   compare-and-swap and followed by our executor. For a pod that is gone, the store
   decides at that moment: never launched → create it now (same deterministic name);
   launched → the try is lost; recorded by someone else → nothing to do.
2. Completed pods of dead owners: listed with the seed's selector and a phase field
   selector (metadata only), claimed one by one (CAS); the winner records the
   result if it is not yet recorded, then deletes or labels done; a loser drops it.
3. Done pods of dead owners past retention are deleted.

It sees the world only through ports (`PodAPI`, `TaskStore`, `AliveSource`, `Executor`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from kubernetes.client.exceptions import ApiException

from podherd.core.executor.cleanup import Cleaner
from podherd.core.executor.retention import RetentionSweep
from podherd.core.ha.planner import Claim, Policy, claim_patch, plan_claims, sweep_selector
from podherd.core.kube.classify import unusable
from podherd.core.kube.errors import Conflict, Invalid, NotFound
from podherd.core.kube.health import ApiHealth
from podherd.core.labels import LabelScheme
from podherd.core.podstatus import TERMINAL_PHASES
from podherd.core.ports import AliveSource, Clock, Executor, Launch, MissingPod, PodAPI, PodRef, TaskStore
from podherd.core.stats import Tally

log = logging.getLogger("podherd.sweeper")


@dataclass(frozen=True)
class SweepSettings:
    policy: Policy = Policy.PODHERD
    check_period: float = 2.5  # how often liveness is asked (half a heartbeat: takeover lag <= 1 heartbeat)
    sweep_interval: float = 300.0  # `orphaned_tasks_check_interval`
    retention: float = 86400.0  # `done_pod_retention` of dead owners' kept pods


@dataclass(frozen=True)
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


class Sweeper:
    def __init__(
        self,
        pods: PodAPI,
        store: TaskStore,
        executor: Executor,
        alive: AliveSource,
        cleaner: Cleaner,
        health: ApiHealth,
        scheme: LabelScheme,
        self_id: int,
        settings: SweepSettings,
        namespaces: Callable[[], list[str]],
        after_sweep: Callable[[], object] = lambda: None,
        clock: Clock = time.monotonic,
    ) -> None:
        """`after_sweep`: housekeeping at the end of each sweep (the Liveness deletes stale Leases)."""
        self.pods = pods
        self.store = store
        self.executor = executor
        self.liveness = alive
        self.health = health
        self.scheme = scheme
        self.me = str(self_id)
        self.self_id = self_id
        self.settings = settings
        self.namespaces = namespaces
        self.after_sweep = after_sweep
        self.clock = clock
        self.alive: set[int] | None = None
        self._tally = Tally(SweepStats)
        self._last_check = 0.0
        self._last_sweep = 0.0
        self._first = True
        self._owed = False  # a sweep was due while the API was unusable
        self._pending: dict[tuple[str, str], tuple[Launch, str]] = {}  # adoptions to retry
        self.retention = RetentionSweep(
            pods,
            cleaner,
            scheme,
            namespaces,
            owners=lambda: None,
            retention=settings.retention,
            period=0,
            exclude=self._not_dead,
            clock=clock,
        )

    @property
    def stats(self) -> SweepStats:
        return self._tally.snapshot()

    def _not_dead(self) -> list[str] | None:
        """Owners whose done pods are not ours to expire: me (the owner sweep does mine) and the alive."""
        return None if self.alive is None else [self.me, *map(str, self.alive)]

    # ---- the loop hook ------------------------------------------------------------------------
    def tick(self) -> int:
        now = self.clock()
        if now - self._last_check < self.settings.check_period and not self._first:
            return 0
        retried = self.retry_adoptions()
        self._last_check = now
        alive = self.liveness.alive_siblings()
        if alive is None:
            self._tally.add("skipped")
            return retried
        newly_dead = (self.alive or set()) - alive
        self.alive = alive
        if newly_dead:
            self._tally.add("deaths_seen", len(newly_dead))
            log.warning("replica %s: siblings %s are no longer alive", self.me, sorted(newly_dead))
        due = now - self._last_sweep >= self.settings.sweep_interval
        if self._first or due or self._owed or (newly_dead and self.settings.policy == Policy.PODHERD):
            if not self.health.ready:  # a survivor the API accepts may take it; else we do, later
                self._owed = True
                self._tally.add("skipped_api")
                return retried
            self._first = self._owed = False
            self._last_sweep = now
            return retried + self.sweep(alive)
        return retried

    def sweep(self, alive: set[int]) -> int:
        started = self.clock()
        self._tally.add("sweeps")
        work = self.take_over(alive)
        work += self.sweep_completed(alive)
        work += self.retention.run()
        self.after_sweep()
        if work:
            self._tally.set("last_takeover_seconds", self.clock() - started)
        return work

    # ---- 1. orphaned running tasks ------------------------------------------------------------
    def take_over(self, alive: set[int]) -> int:
        try:
            dead = self.store.dead_owners_with_work()
        except Exception as e:
            log.warning("takeover skipped: database unavailable (%s)", type(e).__name__)
            return 0
        dead = {d for d in dead if d != self.self_id and d not in alive}
        n = 0
        for owner in sorted(dead):
            try:
                work = self.store.take_over(owner)
            except Exception as e:
                log.warning("takeover of replica %s failed (%s)", owner, type(e).__name__)
                continue
            for w in work:
                if not self._adopt(w, str(owner)):
                    self._pending[(w.pod.namespace, w.pod.name)] = (w, str(owner))
            n += len(work)
            self._tally.add("tasks_taken_over", len(work))
            if work:
                log.warning("replica %s took over %d tasks of dead replica %s", self.me, len(work), owner)
        return n

    def adopt(self, work: Launch, dead_owner: int) -> None:
        """Take over one attempt of `dead_owner` that a front-end's own scheduler handed over.

        Airflow's scheduler hands a dead scheduler's task instances to `try_adopt_task_instances`;
        they go the same way as `take_over`'s: CAS claim, follow, or (404) ask the store. A claim the
        API did not answer is retried on the next ticks.
        """
        self._tally.add("tasks_taken_over")
        if not self._adopt(work, str(dead_owner)):
            self._pending[(work.pod.namespace, work.pod.name)] = (work, str(dead_owner))

    def _adopt(self, work: Launch, dead: str) -> bool:
        """Claim the attempt's pod (CAS) and follow it; create it if it never existed; count it lost if gone.

        The claim comes first whatever the store says of the attempt: a replica killed between its
        create call and recording the pod's uid leaves a live pod behind an attempt still marked
        launching. On a 404 the snapshot `take_over` returned is not trusted: the store decides, at
        that moment, whether this try was never launched and is ours (another survivor may have
        claimed the pod, recorded it and deleted it meanwhile).

        Returns False when the API did not answer usefully: the adoption is retried next tick.
        """
        ns, name = work.pod.namespace, work.pod.name
        try:
            pod = self.pods.json_patch_pod(ns, name, claim_patch(self.scheme, dead, self.me))
        except NotFound:
            self._missing_pod(work)
            return True
        except (Conflict, Invalid):  # the owner is not the dead replica any more
            self._tally.add("claims_lost")
            return self._follow_if_ours(work)
        except ApiException as e:
            log.info("claiming pod %s failed (%s); retrying next tick", name, e.status)
            return False
        except Exception as e:
            log.info("claiming pod %s failed (%s); retrying next tick", name, type(e).__name__)
            return False
        self._tally.add("claims_won")
        self.executor.launch([work], pods={name: pod})
        return True

    def _missing_pod(self, work: Launch) -> None:
        decision = self.store.decide_missing_pod(work.ref)
        if decision == MissingPod.RELAUNCH:
            self._tally.add("relaunched")
            fresh = replace(work, launched=False, pod=PodRef(work.pod.namespace, work.pod.name))
            self.executor.launch([fresh])  # never created: create it now (409 = it exists)
        elif decision == MissingPod.LOST:
            self._tally.add("pods_lost")
            self.executor.record_lost(work)
        else:
            self._tally.add("settled")  # recorded by whoever claimed the pod first: nothing to do

    def retry_adoptions(self) -> int:
        """Adoptions whose claim call failed (API trouble) are retried until they resolve."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        for key, (work, dead) in pending.items():
            if not self._adopt(work, dead):
                self._pending[key] = (work, dead)
        return len(pending) - len(self._pending)

    def _follow_if_ours(self, work: Launch) -> bool:
        """After a lost claim: if the pod is already ours (an earlier sweep), follow it; else it is theirs."""
        try:
            pod = self.pods.get_pod(work.pod.namespace, work.pod.name)
        except NotFound:
            self._missing_pod(work)
            return True
        except Exception:
            return False
        if (pod["metadata"].get("labels") or {}).get(self.scheme.owner_key) == self.me:
            self.executor.launch([work], pods={work.pod.name: pod})
        return True

    # ---- 2. completed pods --------------------------------------------------------------------
    def sweep_completed(self, alive: set[int]) -> int:
        policy = self.settings.policy
        selector = sweep_selector(policy, self.me, map(str, alive), self.scheme)
        n = 0
        for ns in self.namespaces():
            for phase in TERMINAL_PHASES:
                try:
                    pods, _rv = self.pods.list_pods(ns, selector, f"status.phase={phase}", metadata_only=True)
                except Exception as e:  # refusals are logged once by the API's health
                    level = logging.DEBUG if unusable(e) else logging.INFO
                    log.log(level, "completed-pod sweep of %s skipped (%s)", ns, type(e).__name__)
                    continue
                for claim in plan_claims(pods, policy, self.me, {str(a) for a in alive}, self.scheme):
                    n += self._claim_completed(claim, ns)
        return n

    def _claim_completed(self, claim: Claim, namespace: str) -> int:
        try:
            if isinstance(claim.patch, list):
                pod = self.pods.json_patch_pod(namespace, claim.name, claim.patch)
            else:
                pod = self.pods.merge_patch_pod(namespace, claim.name, claim.patch)
        except (NotFound, Conflict, Invalid):
            self._tally.add("claims_lost")  # another survivor won: drop it, no retry
            return 0
        except ApiException as e:
            log.info("claim of %s failed (%s)", claim.name, e.status)
            return 0
        self._tally.add("claims_won")
        self.executor.finish_pod(pod, namespace)
        return 1
