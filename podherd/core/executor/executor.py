"""The Kubernetes executor: launch attempts as pods, follow them, record results, clean up.

All state changes happen on the replica's loop thread in `sync()`: creates run
on a thread pool and report back through a queue; the watchers feed pod events
through another. Per attempt the order is always: result committed in the DB,
then the pod deleted (uid precondition) or labelled done (DESIGN §4.4).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException
from sqlalchemy import Engine

from podherd.config import Config
from podherd.core.executor.attempts import (
    CREATING,
    DELETE,
    LAUNCHED,
    Attempt,
    cleanup_action,
    pod_body,
    pod_identity,
)
from podherd.core.executor.cleanup import Cleaner, CleanupJob
from podherd.core.executor.leftovers import LeftoverSweep
from podherd.core.executor.recent import RecentSet
from podherd.core.executor.watcher import PodEvent, PodWatcher
from podherd.core.kube.classify import ALREADY_EXISTS, ErrorClass, Unusable, backoff_delay, classify_exception, unusable
from podherd.core.kube.client import KubeClient
from podherd.core.labels import LabelScheme, owner_selector
from podherd.core.podstatus import LOST, Outcome, deleted_outcome, pod_outcome, timeout_outcome
from podherd.standalone.db import queries
from podherd.standalone.db.rows import ClaimedTask

log = logging.getLogger("podherd.executor")


@dataclass
class ExecutorStats:
    launched: int = 0
    create_retries: int = 0
    create_failures: int = 0
    already_existed: int = 0
    succeeded: int = 0
    failed: int = 0
    timeouts: int = 0
    lost: int = 0
    released: int = 0  # attempts another replica took (claimed, or labelled done)
    resynced: int = 0  # pods the watch had missed, found by the reconcile pass
    handed_back: int = 0  # tries given back uncounted (the API refused us before creating the pod)


@dataclass(frozen=True)
class _Created:
    key: tuple[str, str]
    pod: dict[str, Any] | None
    error: ErrorClass | None
    refused: Unusable | None = None  # the API refused us outright: no pod can exist


class KubernetesExecutor:
    """Runs one replica's attempts. Not thread-safe: call everything but `stop` from one thread."""

    def __init__(
        self,
        kube: KubeClient,
        engine: Engine,
        config: Config,
        owner_id: int,
        scheme: LabelScheme,
        template: dict[str, Any] | None = None,
        wake: threading.Event | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.kube = kube
        self.engine = engine
        self.cfg = config.kubernetes_executor
        self.owner_id = owner_id
        self.scheme = scheme
        self.template = template
        self.clock = clock
        self.wake = wake or threading.Event()
        self.fatal = frozenset(self.cfg.worker_pod_pending_fatal_container_state_reasons)
        self.attempts: dict[tuple[str, str], Attempt] = {}
        self.events: queue.Queue[PodEvent] = queue.Queue()
        self.watchers: dict[str, PodWatcher] = {}
        self.stats = ExecutorStats()
        self.cleaner = Cleaner(kube, scheme, str(owner_id))
        self._created: queue.Queue[_Created] = queue.Queue()
        self._creators = ThreadPoolExecutor(
            max_workers=max(1, self.cfg.worker_pods_creation_batch_size), thread_name_prefix="podherd-create"
        )
        self._last_reconcile = clock()
        self._finished = RecentSet(10_000)  # uids finished here lately (a claim's answer, then its watch event)
        self.leftovers = LeftoverSweep(
            self._known_pods,
            self._busy,
            lambda pod, ns: self.finish_foreign(pod, ns, again=True),
            period=min(config.scheduler.orphaned_tasks_check_interval, 60.0),
            clock=clock,
        )
        self._retry_events: deque[PodEvent] = deque()
        self._retry_created: deque[_Created] = deque()

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.watch(self.cfg.namespace)

    def watch(self, namespace: str) -> PodWatcher:
        """Follow this replica's pods in `namespace` (one watcher per namespace, started on first use)."""
        w = self.watchers.get(namespace)
        if w is None:
            selector = owner_selector(self.scheme, str(self.owner_id))
            w = PodWatcher(self.kube, namespace, selector, self.events, on_event=self.wake.set)
            w.start()
            self.watchers[namespace] = w
        return w

    def stop(self, wait_cleanup: bool = True) -> None:
        for w in self.watchers.values():
            w.stop()
        self._creators.shutdown(wait=True)
        self.cleaner.shutdown(wait=wait_cleanup)

    def hand_back(self, delete_launched: bool) -> tuple[int, int]:
        """On a stop: give back the tries this replica will not finish; returns (handed back, left).

        Creates in flight answer first. A try whose pod surely does not exist goes back to the
        queue uncounted. With `delete_launched` (`podherd run`, which has no survivors to take
        over), a launched pod is deleted at once (uid precondition) and its try handed back too;
        otherwise it is left for a survivor's takeover, as is anything this cannot settle now.
        Nothing is left `running` with nobody to finish it: the job row is ended next.
        """
        self._creators.shutdown(wait=True)
        try:
            self._drain_created()
        except Exception as e:  # the database is down: what is left goes to takeover
            log.warning("hand back: could not settle create answers (%s)", type(e).__name__)
        handed = left = 0
        for att in list(self.attempts.values()):
            if self._hand_back_one(att, delete_launched):
                handed += 1
            else:
                left += 1
        return handed, left

    def _hand_back_one(self, att: Attempt, delete_launched: bool) -> bool:
        never_created = att.phase == CREATING and not att.uid and not att.maybe_created
        if not never_created:
            if not delete_launched or not att.uid:
                return False
            try:
                self.kube.delete_pod(att.task.namespace, att.task.pod_name, att.uid, grace_seconds=0)
            except ApiException as e:
                if e.status != 404:
                    return False
            except Exception:
                return False
        try:
            released = queries.release_attempt(self.engine, att.task.task_id, att.task.try_number, self.owner_id)
        except Exception:
            return False
        if released:
            self.attempts.pop(att.key, None)
            self.stats.handed_back += 1
        return released

    def _drain_created(self) -> int:
        """Handle the create answers that came back; a failed one (DB down) is kept for the next call."""
        work = 0
        while self._retry_created or not self._created.empty():
            done = self._retry_created.popleft() if self._retry_created else self._created.get_nowait()
            try:
                self._on_created(done)
            except Exception:
                self._retry_created.appendleft(done)
                raise
            work += 1
        return work

    def free_slots(self, parallelism: int) -> int:
        return max(0, parallelism - len(self.attempts))

    def busy(self) -> bool:
        return bool(self.attempts) or self.cleaner.busy() > 0

    # ---- launching ----------------------------------------------------------------------------
    def launch(self, tasks: list[ClaimedTask], pods: dict[str, dict[str, Any]] | None = None) -> None:
        """Start tracking claimed attempts; their pods are created in bounded batches by `sync()`.

        `pods` maps pod names to pods that already exist and are now ours (taken over from a dead
        replica): those are followed, not created.
        """
        now = self.clock()
        wall = time.time()
        for t in tasks:
            started = now
            if t.attempt_started_at is not None:  # taken over: the timeout counts from the attempt's start
                started = now - max(0.0, wall - t.attempt_started_at.timestamp())
            att = Attempt(t, started=started)
            pod = (pods or {}).get(t.pod_name)
            if pod is not None:
                att.phase = LAUNCHED
                att.uid = pod["metadata"].get("uid")
                att.last_pod = pod
            elif t.attempt_state != "launching" or t.pod_uid:
                att.phase = LAUNCHED  # restarted: the pod may exist; the watcher will tell
                att.uid = t.pod_uid
            self.attempts[att.key] = att
            self.watch(t.namespace)
            if pod is not None:
                self.events.put(PodEvent("SYNC", pod, t.namespace))  # it may have finished already

    def record_lost(self, task: ClaimedTask) -> None:
        """A taken-over task whose pod is gone: the try counts as failed ("pod lost"), retried if tries remain."""
        self.stats.lost += 1
        self._record(Attempt(task, started=self.clock()), LOST)

    def _create_due(self) -> None:
        now = self.clock()
        budget = self.cfg.worker_pods_creation_batch_size
        for att in list(self.attempts.values()):
            if budget <= 0:
                break
            if att.phase == CREATING and not att.creating and att.next_create_at <= now:
                att.creating = True
                budget -= 1
                self._creators.submit(self._create, att.key, att.task)

    def _create(self, key: tuple[str, str], task: ClaimedTask) -> None:
        """Thread-pool body: one create call; the loop thread handles the answer."""
        try:
            pod = self.kube.create_pod(task.namespace, pod_body(task, self.scheme, self.template))
            self._created.put(_Created(key, pod, None))
        except Exception as e:
            self._created.put(_Created(key, None, classify_exception(e), unusable(e)))
        self.wake.set()

    def _on_created(self, done: _Created) -> None:
        att = self.attempts.get(done.key)
        if att is None:
            return
        att.creating = False
        if done.error is None and done.pod is not None:
            self._launched(att, done.pod)
            return
        err = done.error
        assert err is not None
        if done.refused is not None:
            if not att.maybe_created:
                self._hand_back(att, str(done.refused))
            else:  # an earlier answer was ambiguous: keep the try, wait for the API, never burn it
                att.refusals += 1
                att.next_create_at = self.clock() + backoff_delay(att.refusals, base=1.0, cap=30.0)
            return
        if err.kind == ALREADY_EXISTS:
            self._adopt_existing(att)
            return
        if err.transient:
            att.maybe_created = True  # a 5xx or a timeout may come after the server created it
        if err.transient and att.create_errors < self.cfg.task_publish_max_retries:
            att.create_errors += 1
            self.stats.create_retries += 1
            att.next_create_at = self.clock() + max(err.retry_after or 0.0, backoff_delay(att.create_errors))
            log.info("create of %s failed (%s), retry %d", att.task.pod_name, err.reason, att.create_errors)
            return
        self.stats.create_failures += 1
        reason = f"pod create failed: {err.reason}" if err.reason else "pod create failed"
        self._record(att, Outcome("failed", reason=reason, message=err.message))

    def _hand_back(self, att: Attempt, why: str) -> None:
        """Give the try back uncounted: the task is queued again and this replica forgets it.

        Only for attempts whose pod surely does not exist (the API refused the create before
        doing anything, and no earlier create of this try got an ambiguous answer), so the
        next claim may create the same pod name afresh.
        """
        released = queries.release_attempt(self.engine, att.task.task_id, att.task.try_number, self.owner_id)
        self.attempts.pop(att.key, None)
        if released:
            self.stats.handed_back += 1
            log.info("%s try %d handed back uncounted (%s)", att.task.name, att.task.try_number, why)

    def _adopt_existing(self, att: Attempt) -> None:
        """409 AlreadyExists means 'already launched' (deterministic names): never a second run."""
        try:
            pod = self.kube.get_pod(att.task.namespace, att.task.pod_name)
        except Exception as e:
            att.next_create_at = self.clock() + backoff_delay(att.create_errors)
            att.create_errors += 1
            log.info("could not read existing pod %s (%s); will retry", att.task.pod_name, type(e).__name__)
            return
        if pod_identity(pod, self.scheme) != (att.task.task_id, att.task.try_number):
            self._record(att, Outcome("failed", reason="pod name taken", message="a pod of another task has this name"))
            return
        self.stats.already_existed += 1
        self._launched(att, pod)

    def _launched(self, att: Attempt, pod: dict[str, Any]) -> None:
        uid = pod["metadata"].get("uid")
        if uid:  # first, so that a DB error leaves the attempt untouched for the retry
            queries.record_attempt_launched(self.engine, att.task.task_id, att.task.try_number, uid)
        att.phase = LAUNCHED
        att.uid = uid
        self.stats.launched += 1

    # ---- the loop's step ----------------------------------------------------------------------
    def sync(self, max_events: int = 5000) -> int:
        """Handle create answers and pod events, start due creates, enforce timeouts. Returns work done.

        If handling fails (typically: the database is down), the item is kept and handled first on
        the next call, and the error propagates so the loop backs off. Nothing is dropped: a
        terminal pod sends no further events, so a dropped one would strand its task.
        """
        work = self._drain_created()
        for _ in range(max_events):
            if self._retry_events:
                ev = self._retry_events.popleft()
            else:
                try:
                    ev = self.events.get_nowait()
                except queue.Empty:
                    break
            try:
                self._on_event(ev)
            except Exception:
                self._retry_events.appendleft(ev)
                raise
            work += 1
        self._create_due()
        work += self._enforce_timeouts()
        if self.clock() - self._last_reconcile > 15.0:
            self._last_reconcile = self.clock()
            self._reconcile()
        return work

    # ---- events -------------------------------------------------------------------------------
    def _on_event(self, ev: PodEvent) -> None:
        meta = ev.pod.get("metadata") or {}
        att = self.attempts.get((ev.namespace, meta.get("name", "")))
        if att is None:
            if ev.type not in ("DELETED", "GONE"):
                self.finish_foreign(ev.pod, ev.namespace)
            return
        uid = meta.get("uid")
        if att.uid and uid != att.uid:
            return  # an older incarnation of the same name
        if att.uid is None and uid:
            att.uid = uid
            if att.phase == CREATING and not att.creating:
                att.phase = LAUNCHED
        att.last_pod = ev.pod
        if ev.type in ("DELETED", "GONE"):
            self._on_gone(att, ev)
            return
        outcome = pod_outcome(ev.pod, self.fatal)
        if outcome.state == "running" and not att.running:
            queries.record_attempt_state(self.engine, att.task.task_id, att.task.try_number, "running")
            att.running = True  # after the write: a DB error leaves it to be retried with the event
        if outcome.terminal:
            self._finish(att, outcome, ev.pod)

    def _on_gone(self, att: Attempt, ev: PodEvent) -> None:
        """The pod left our watch: deleted, claimed by another replica, or labelled done. Look before acting."""
        try:
            pod = self.kube.get_pod(att.task.namespace, att.task.pod_name)
        except ApiException as e:
            if e.status != 404:
                return  # we will see it again on the next re-list or reconcile
            pod = None
        except Exception:
            return
        if pod is not None and pod["metadata"].get("uid") == att.uid:
            labels = pod["metadata"].get("labels") or {}
            if labels.get(self.scheme.owner_key) != str(self.owner_id) or labels.get(self.scheme.done_key):
                self.stats.released += 1
                self.attempts.pop(att.key, None)  # no longer ours to finish
            elif ev.type == "GONE":  # still ours, but the watch missed it (e.g. a new API server): use what we read
                self.stats.resynced += 1
                self._on_event(PodEvent("SYNC", pod, att.task.namespace))
            return
        outcome = deleted_outcome(ev.pod)  # a terminal last state is the result; else "pod deleted"
        if ev.type == "GONE" and outcome.reason == "pod deleted":
            outcome = LOST  # it vanished between two lists: nobody saw how it ended
        if outcome.reason == LOST.reason:
            self.stats.lost += 1
        self._record(att, outcome)

    def finish_foreign(self, pod: dict[str, Any], namespace: str, again: bool = False) -> bool:
        """A terminal pod now ours that no attempt tracks (claimed from a dead replica, or left over).

        Records its result if nobody has (idempotent), then cleans it up - once per pod uid, so a
        claim answered directly and then seen again by the watch is not written twice. `again`:
        the leftover sweep found it still there (its cleanup gave up): clean it up once more.
        """
        meta = pod.get("metadata") or {}
        uid = meta.get("uid", "")
        ident = pod_identity(pod, self.scheme)
        outcome = pod_outcome(pod, self.fatal)
        if ident is None or not outcome.terminal or (uid in self._finished and not again):
            return False
        att = self.attempts.get((namespace, meta.get("name", "")))
        if att is not None and att.uid in (None, uid):
            att.uid = uid  # we were following it too (taken over while launching): finish it once, here
            self._finish(att, outcome, pod)
            return True
        task_id, try_number = ident
        state = "success" if outcome.state == "success" else "failed"
        details = None if state == "success" else outcome.to_details()
        queries.record_result(self.engine, task_id, try_number, state, outcome.exit_code, details, self.owner_id)
        self._finished.add(uid)  # only once the result is committed: a failed record is retried
        phase = (pod.get("status") or {}).get("phase")
        action = cleanup_action(
            state == "success",
            phase in ("Succeeded", "Failed"),
            self.cfg.delete_worker_pods,
            self.cfg.delete_worker_pods_on_failure,
        )
        self.cleaner.submit(CleanupJob(namespace, meta["name"], uid, action))
        return True

    # ---- results ------------------------------------------------------------------------------
    def _record(self, att: Attempt, outcome: Outcome, log_tail: str = "") -> str:
        """Commit the attempt's outcome (idempotent) and forget the attempt."""
        state = "success" if outcome.state == "success" else "failed"
        details = None if state == "success" else outcome.to_details()
        if details is not None and log_tail:
            details["log_tail"] = log_tail
        result = queries.record_result(
            self.engine, att.task.task_id, att.task.try_number, state, outcome.exit_code, details, self.owner_id
        )
        self.attempts.pop(att.key, None)
        if state == "success":
            self.stats.succeeded += 1
        else:
            self.stats.failed += 1
        log.info("%s try %d: %s %s -> task %s", att.task.name, att.task.try_number, state, outcome.reason, result)
        return result

    def _finish(self, att: Attempt, outcome: Outcome, pod: dict[str, Any] | None, grace: int | None = None) -> None:
        self._record(att, outcome, self._log_tail(att, outcome, pod))  # result first ...
        if att.uid:
            self._finished.add(att.uid)
        phase = ((pod or {}).get("status") or {}).get("phase")
        action = cleanup_action(
            outcome.state == "success",
            phase in ("Succeeded", "Failed"),
            self.cfg.delete_worker_pods,
            self.cfg.delete_worker_pods_on_failure,
        )
        if att.phase == LAUNCHED or att.uid:  # ... then the pod
            ns, name = att.key
            self.cleaner.submit(CleanupJob(ns, name, att.uid, action, grace if action == DELETE else None))

    def _log_tail(self, att: Attempt, outcome: Outcome, pod: dict[str, Any] | None) -> str:
        """The failing container's last log lines, read before the pod can be removed (failures only)."""
        if outcome.state != "failed" or pod is None or not outcome.container or outcome.exit_code is None:
            return ""
        try:
            return self.kube.pod_log(att.task.namespace, att.task.pod_name, outcome.container)[-4000:]
        except Exception:  # best effort: the result must not wait on logs
            return ""

    def _enforce_timeouts(self) -> int:
        now = self.clock()
        n = 0
        for att in list(self.attempts.values()):
            if att.timed_out(now) and not att.creating:
                self.stats.timeouts += 1
                self._finish(att, timeout_outcome(att.task.timeout_seconds or 0), None)
                n += 1
        return n

    def _known_pods(self) -> list[tuple[str, dict[str, Any]]]:
        """What our watches know right now (their own threads update them: copy, then read)."""
        return [(ns, pod) for ns, w in list(self.watchers.items()) for pod in list(w.known.values())]

    def _busy(self, namespace: str, name: str, uid: str) -> bool:
        """An attempt follows this pod, or a cleanup of it is in flight: not a leftover."""
        return (namespace, name) in self.attempts or self.cleaner.working_on(uid)

    def _reconcile(self) -> None:
        """Level-triggered check: a launched pod the watcher no longer knows after a sync is gone."""
        for att in list(self.attempts.values()):
            w = self.watchers.get(att.task.namespace)
            if w is None or att.phase != LAUNCHED or not att.uid or not w.synced.is_set():
                continue
            if att.uid not in w.known and self.clock() - att.started > 15.0:
                self._on_gone(att, PodEvent("GONE", att.last_pod or {"metadata": {}}, att.task.namespace))
