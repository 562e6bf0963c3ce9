"""Every part of one scheduler's executor, wired through the core's ports (as `standalone.replica` does).

The Airflow scheduler drives it from its loop: `launch` from `_process_workloads`, `step` from
`sync`. Apart from that loop, two threads of its own: the Lease keeper (a heartbeat that does not
depend on the scheduler's loop, DESIGN §4.8: a slow loop does not make this scheduler look dead
to podherd's liveness) and the API recovery probe. The core's watcher threads feed pod events.

    KubeClient (PodAPI + LeaseAPI) ── KubernetesExecutor(store, gate=store) ── Cleaner
        EventBufferStore (TaskStore + ResultGate) ── executor's event buffer, Airflow's DB
        Liveness(SchedulerJobs over the job table, Leases) ── Sweeper (takeover, completed pods)
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from podherd import __version__
from podherd.airflow.alive import SchedulerJobs
from podherd.airflow.keys import SCHEME, TIKey
from podherd.airflow.manifests import Mutate, PodSettings, TaskRun, launch_of
from podherd.airflow.options import Options
from podherd.airflow.store import EventBufferStore, EventSink, FoundPods, TaskInstances, pod_for
from podherd.core.executor.executor import KubernetesExecutor
from podherd.core.executor.retention import RetentionSweep
from podherd.core.ha.lease import ReplicaLease
from podherd.core.ha.liveness import Liveness, Mode
from podherd.core.ha.sweeper import Sweeper
from podherd.core.kube.client import KubeClient
from podherd.core.kube.recovery import Recovery
from podherd.core.ports import AttemptRef, Launch, PodRef
from podherd.core.selectors import owner_selector

log = logging.getLogger("podherd.airflow")


def user_agent(job_id: int | None, hostname: str) -> str:
    """`podherd/<v> (replica <job id>) airflow/<host>`: every request says which scheduler sent it."""
    who = f"(replica {job_id})" if job_id is not None else "(airflow)"
    return f"podherd/{__version__} {who} airflow/{hostname}"


class Templates:
    """Pod templates by path, re-read when the file changes (a bad one fails only the tasks using it)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def load(self, path: str) -> dict[str, Any] | None:
        if not path:
            return None
        mtime = os.stat(path).st_mtime
        cached = self._cache.get(path)
        if cached is None or cached[0] != mtime:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f) or {}
            if not isinstance(doc, dict):
                raise ValueError(f"pod template {path} is not a mapping")
            cached = self._cache[path] = (mtime, doc)
        return cached[1]


class LeaseKeeper(threading.Thread):
    """Renews this scheduler's Lease every heartbeat, whatever the scheduler's loop is doing."""

    def __init__(self, lease: ReplicaLease, period: float) -> None:
        super().__init__(name="podherd-lease", daemon=True)
        self.lease = lease
        self.period = period
        self.stopping = threading.Event()

    def run(self) -> None:
        while True:
            try:
                self.lease.renew()
            except Exception as e:  # the API's health logs refusals once
                log.debug("lease renewal failed: %s", type(e).__name__)
            if self.stopping.wait(self.period):
                return


@dataclass(frozen=True)
class Wiring:
    """What the runtime gets from Airflow: its settings, identity and the two ports into Airflow."""

    options: Options
    job_id: int
    hostname: str
    airflow_version: str
    sink: EventSink
    tis: TaskInstances
    alive_query: Callable[[], set[int]]
    mutate: Mutate | None = None


class Runtime:
    def __init__(self, w: Wiring, kube: KubeClient | None = None) -> None:
        o = self.options = w.options
        self.job_id = w.job_id
        self.mutate = w.mutate
        self.kube = kube or KubeClient.from_settings(o.kube, user_agent(w.job_id, w.hostname))
        self.kube.health.name = f"scheduler {w.job_id}"
        self.templates = Templates()
        self.pod_settings = PodSettings(o.namespace, o.kube_image, w.airflow_version)
        self.store = EventBufferStore(
            w.sink, w.tis, w.job_id, self.kube, lambda: self.sweeper.alive, self.find_pods, self.launch_of
        )
        ex = self.executor = KubernetesExecutor(self.kube, self.store, o.executor, w.job_id, SCHEME, gate=self.store)
        self.retention = RetentionSweep(
            self.kube,
            ex.cleaner,
            SCHEME,
            namespaces=self.namespaces,
            owners=lambda: [str(w.job_id)],
            retention=o.done_pod_retention,
            period=min(max(o.done_pod_retention / 4, 1.0), o.sweep.sweep_interval),
        )
        self.lease = ReplicaLease(self.kube, o.lease_namespace, w.job_id, o.threshold, w.hostname)
        self.liveness = Liveness(
            w.job_id,
            o.threshold,
            o.liveness,
            SchedulerJobs(w.alive_query, w.job_id),
            self.kube,
            o.lease_namespace,
            health=self.kube.health,
        )
        self.sweeper = Sweeper(
            self.kube,
            self.store,
            ex,
            self.liveness,
            ex.cleaner,
            self.kube.health,
            SCHEME,
            w.job_id,
            o.sweep,
            namespaces=self.namespaces,
            after_sweep=self.liveness.delete_stale_leases,
        )
        self.keeper = LeaseKeeper(self.lease, o.heartbeat) if o.liveness != Mode.DB else None
        self.recovery = Recovery(self.kube, o.namespace)
        self.deferred: list[tuple[TaskRun, int]] = []  # adoptions waiting for their owner's pods to be claimable

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self.keeper is not None:
            self.keeper.start()
        self.recovery.start()
        for ns in self.options.namespaces:
            self.executor.watch(ns)
        log.info("podherd executor started: scheduler %s, namespaces %s", self.job_id, list(self.options.namespaces))

    def stop(self) -> None:
        """Stop threads and watches; pods keep running (survivors take them over), and our Lease is
        released so that they need not wait for it to expire."""
        if self.keeper is not None:
            self.keeper.stopping.set()
        self.recovery.stop()
        self.executor.stop(wait_cleanup=True)
        if self.keeper is not None:
            self.lease.release()
        self.kube.close()

    def namespaces(self) -> list[str]:
        return sorted(set(self.options.namespaces) | set(self.executor.watchers))

    def not_ready(self) -> str:
        """Why nothing should be launched now ("" when ready): the API refuses us, or a watch has not synced."""
        if self.kube.health.reason:
            return self.kube.health.reason
        unsynced = sorted(ns for ns, w in self.executor.watchers.items() if not w.synced.is_set())
        return f"watch not synced yet: {', '.join(unsynced)}" if unsynced else ""

    # ---- work ---------------------------------------------------------------------------------
    def launch_of(self, run: TaskRun, existing: tuple[AttemptRef, PodRef] | None = None) -> Launch:
        """Raises when the pod cannot be built (bad template, a failing pod_mutation_hook)."""
        template = self.templates.load(run.template_file or self.options.pod_template_file)
        return launch_of(run, self.job_id, self.pod_settings, template, existing, self.mutate)

    def step(self) -> int:
        """One `sync()`: events and creates, the own sweeps, the takeover sweeper, deferred adoptions."""
        work = self.executor.sync()
        work += self.retention.maybe_run()
        work += self.executor.leftovers.maybe_run()
        work += self.sweeper.tick()
        return work + self._adopt_deferred()

    def find_pods(self, owner: int) -> FoundPods:
        """`owner`'s not-done pods by (task instance, try), listed (metadata only) in every namespace we use."""
        found: dict[tuple[Any, int], list[tuple[AttemptRef, PodRef]]] = {}
        selector = owner_selector(SCHEME, str(owner))
        for ns in self.namespaces():
            pods, _rv = self.kube.list_pods(ns, selector, metadata_only=True)
            for pod in pods:
                ref = SCHEME.identity(pod)
                key = TIKey.from_ref(ref) if ref is not None else None
                if ref is not None and key is not None:
                    meta = pod["metadata"]
                    found.setdefault((key.ti, key.try_number), []).append(
                        (ref, PodRef(ns, meta["name"], meta.get("uid")))
                    )
        return found

    def adopt(self, runs: Sequence[TaskRun], owner: int) -> None:
        """Task instances Airflow's scheduler handed over: claim their pods now, or once we can.

        Their pods are found by listing `owner`'s pods (the provider's have random names); if the
        list fails, the claims wait (a claim by the wrong name would relaunch a running task).
        Airflow judges by the job row alone, whose heartbeat comes from the scheduler's loop: a
        slow loop can make a live scheduler look dead while its Lease still says alive. Then the
        task instances are ours in Airflow's books, but its pods are left alone until the Lease
        expires too (DESIGN §4.2: no write to a live scheduler's pods).
        """
        self.deferred.extend((run, owner) for run in runs)
        self._adopt_deferred()

    def _adopt_deferred(self) -> int:
        alive = self.sweeper.alive
        if not self.deferred or alive is None:
            return 0
        waiting: list[tuple[TaskRun, int]] = []
        listed: dict[int, FoundPods | None] = {}
        for run, owner in self.deferred:
            if owner in alive:
                waiting.append((run, owner))
                continue
            if owner not in listed:
                try:
                    listed[owner] = self.find_pods(owner)
                except Exception as e:
                    log.info("adoption: listing scheduler %s's pods failed (%s); retrying", owner, type(e).__name__)
                    listed[owner] = None
            found = listed[owner]
            if found is None:
                waiting.append((run, owner))
            else:
                self.sweeper.adopt(self.launch_of(run, pod_for(run.key, found)), owner)
        done = len(self.deferred) - len(waiting)
        self.deferred = waiting
        return done

    def revoke(self, key: TIKey) -> int:
        """Stop following every attempt of this try (any queueing) and delete their pods."""
        revoked = 0
        for (ns, name), att in list(self.executor.attempts.items()):
            other = TIKey.from_ref(att.ref)
            if other is not None and other.ti == key.ti and other.try_number == key.try_number:
                revoked += self.executor.revoke(ns, name)
        return revoked
