"""The Kubernetes executor: launch attempts as pods, follow them, record results, clean up.

All state changes happen on the replica's loop thread in `sync()`: creates run
on a thread pool and report back through a queue; the watchers feed pod events
through another. Per attempt the order is always: result committed in the task
store, then the pod deleted (uid precondition) or labelled done (DESIGN §4.4) —
one path (`results.Results.finish`) for attempts this replica ran and for pods it took over.

It knows the world only through ports: pods through `PodAPI`, results through
`TaskStore` (+ a `ResultGate` when results are committed later: results.py); what to launch comes
as `Launch`es with manifests the front-end built.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from podherd.core.executor.attempts import (
    Attempt,
)
from podherd.core.executor.batch import Batch, Then
from podherd.core.executor.cleanup import Cleaner
from podherd.core.executor.creates import CreateAnswer, Creates
from podherd.core.executor.creating import CreateAnswers
from podherd.core.executor.handback import hand_back, revoke_pod
from podherd.core.executor.inbox import Inbox
from podherd.core.executor.leftovers import LeftoverSweep
from podherd.core.executor.results import Results
from podherd.core.executor.settings import ExecutorSettings
from podherd.core.executor.watcher import EventType, PodEvent, PodWatcher
from podherd.core.kube.errors import NotFound
from podherd.core.labels import LabelScheme
from podherd.core.podstatus import (
    FAILED,
    LOST,
    RUNNING,
    SUCCESS,
    Outcome,
    deleted_outcome,
    pod_outcome,
    timeout_outcome,
)
from podherd.core.ports import Clock, Launch, Pod, PodAPI, PodRef, ResultGate, Running, StoreOp, TaskStore
from podherd.core.selectors import owner_selector
from podherd.core.stats import Tally

log = logging.getLogger("podherd.executor")

RECONCILE_EVERY = 15.0  # seconds between level-triggered checks of what the watches know
GONE_TYPES = (EventType.DELETED, EventType.GONE)


@dataclass(frozen=True)
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


def _phase(pod: Pod | None) -> str | None:
    return ((pod or {}).get("status") or {}).get("phase")


class KubernetesExecutor(CreateAnswers):
    """Runs one replica's attempts. Not thread-safe: call everything but `stop` from one thread."""

    def __init__(
        self,
        pods: PodAPI,
        store: TaskStore,
        settings: ExecutorSettings,
        owner_id: int,
        scheme: LabelScheme,
        wake: threading.Event | None = None,
        clock: Clock = time.monotonic,
        gate: ResultGate | None = None,
    ) -> None:
        self.pods = pods
        self.store = store
        self.settings = settings
        self.owner_id = owner_id
        self.scheme = scheme
        self.clock = clock
        self.wake = wake or threading.Event()
        self.attempts: dict[tuple[str, str], Attempt] = {}
        self.events: Inbox[PodEvent] = Inbox()
        self.watchers: dict[str, PodWatcher] = {}
        self.cleaner = Cleaner(pods, scheme, str(owner_id))
        self.results = Results(store, pods, self.cleaner, settings, gate)
        self.creates = Creates(pods, settings.worker_pods_creation_batch_size, self.wake)
        self.leftovers = LeftoverSweep(
            self._known_pods,
            self._busy,
            lambda pod, ns: self.finish_pod(pod, ns, again=True),
            period=settings.leftover_period,
            clock=clock,
        )
        self._tally = Tally(ExecutorStats)
        self._last_reconcile = clock()
        self._batch: Batch | None = None  # the store writes of the sync in progress

    @property
    def stats(self) -> ExecutorStats:
        return self._tally.snapshot()

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.watch(self.settings.namespace)

    def watch(self, namespace: str) -> PodWatcher:
        """Follow this replica's pods in `namespace` (one watcher per namespace, started on first use)."""
        w = self.watchers.get(namespace)
        if w is None:
            selector = owner_selector(self.scheme, str(self.owner_id))
            w = PodWatcher(self.pods, namespace, selector, self.events.put, on_event=self.wake.set)
            w.start()
            self.watchers[namespace] = w
        return w

    def stop(self, wait_cleanup: bool = True) -> None:
        for w in self.watchers.values():
            w.stop()
        self.creates.shutdown()
        self.cleaner.shutdown(wait=wait_cleanup)

    def hand_back(self, delete_launched: bool) -> tuple[int, int]:
        """On a stop: give back the tries this replica will not finish (handback.py); returns (handed back, left).

        Creates in flight answer first. Nothing is left `running` with nobody to finish it: what is
        not handed back belongs to an owner about to end, whose work survivors take over.
        """
        self.creates.shutdown()
        try:
            self.creates.drain(self._on_created)
        except Exception as e:  # the task store is down: what is left goes to takeover
            log.warning("hand back: could not settle create answers (%s)", type(e).__name__)
        handed = hand_back(list(self.attempts.values()), self.pods, self.store, delete_launched)
        for att in handed:
            self.attempts.pop(att.key, None)
            self._tally.add("handed_back")
        return len(handed), len(self.attempts)

    def free_slots(self, parallelism: int) -> int:
        return max(0, parallelism - len(self.attempts))

    def busy(self) -> bool:
        return bool(self.attempts) or self.cleaner.busy() > 0

    # ---- launching ----------------------------------------------------------------------------
    def launch(self, work: Sequence[Launch], pods: Mapping[str, Pod] | None = None) -> None:
        """Start tracking attempts; their pods are created in bounded batches by `sync()`.

        `pods` maps pod names to pods that already exist and are now ours (taken over from a dead
        replica): those are followed, not created. So are attempts whose front-end says they may
        have been launched already; the watcher tells what became of them.
        """
        now = self.clock()
        wall = time.time()
        for w in work:
            started = now
            if w.started_at is not None:  # begun elsewhere: the timeout counts from the attempt's start
                started = now - max(0.0, wall - w.started_at.timestamp())
            att = Attempt(w, started=started)
            pod = (pods or {}).get(w.pod.name)
            if pod is not None:
                att.launched, att.uid, att.last_pod = True, pod["metadata"].get("uid"), pod
            elif w.launched:
                att.launched, att.uid = True, w.pod.uid
            self.attempts[att.key] = att
            self.watch(w.pod.namespace)
            if pod is not None:
                self.events.put(PodEvent(EventType.SYNC, pod, w.pod.namespace))  # it may have finished already

    def record_lost(self, work: Launch) -> None:
        """A taken-over attempt whose pod is gone: the try counts as failed ("pod lost"), retried if tries remain."""
        self._tally.add("lost")
        self._settle(Attempt(work, started=self.clock()), LOST, clean=False)

    # ---- the loop's step ----------------------------------------------------------------------
    def sync(self, max_events: int = 5000) -> int:
        """Handle create answers and pod events, enforce timeouts, then start due creates. Returns work done.

        The loop's store writes go in one batch (`batch.py`): one transaction, then the cleanups and
        other follow-ups. If it fails (typically: the task store is down), the attempts go back to
        how they were, the answers and events are put back to be handled first on the next call,
        and the error propagates so the loop backs off. Nothing is dropped: a terminal pod sends no
        further events, so a dropped one would strand its task.
        """
        answers, events = self.creates.take(), self.events.take(max_events)
        now = self.clock()
        reconcile = now - self._last_reconcile > RECONCILE_EVERY
        timed_out = [att for att in self.attempts.values() if att.timed_out(now) and not att.creating]
        saved = self._save(answers, events, timed_out, everything=reconcile)
        self._batch = batch = Batch()
        try:
            for answer in answers:
                self._on_created(answer)
            for ev in events:
                self._on_event(ev)
            work = len(answers) + len(events) + self._time_out(timed_out)
            if reconcile:
                self._last_reconcile = now
                self._reconcile()
            follow_ups = batch.commit(self.store)
        except Exception:
            self._restore(saved)
            self.creates.unread(answers)
            self.events.unread(events)
            raise
        finally:
            self._batch = None
        for follow_up in follow_ups:
            follow_up()
        self._create_due()
        return work + self.results.release_waiting()

    def revoke(self, namespace: str, name: str) -> bool:
        """Stop following an attempt, recording nothing, and delete its pod (handback.revoke_pod)."""
        att = self.attempts.pop((namespace, name), None)
        if att is not None:
            revoke_pod(att, self.cleaner)
        return att is not None

    def _save(
        self, answers: list[CreateAnswer], events: list[PodEvent], timed_out: list[Attempt], everything: bool
    ) -> tuple[dict[tuple[str, str], Attempt], dict[tuple[str, str], Attempt]]:
        """What a failed commit puts back: the attempts as they were, copied only where this loop may
        change them (the ones its answers, events and timeouts name), unless `everything`."""
        if everything:
            keys: Iterable[tuple[str, str]] = list(self.attempts)
        else:
            keys = {a.key for a in answers} | {(ev.namespace, ev.name) for ev in events}
            keys |= {att.key for att in timed_out}
        return dict(self.attempts), {k: copy.copy(self.attempts[k]) for k in keys if k in self.attempts}

    def _restore(self, saved: tuple[dict[tuple[str, str], Attempt], dict[tuple[str, str], Attempt]]) -> None:
        attempts, copies = saved
        attempts.update(copies)
        self.attempts = attempts

    def _write(self, op: StoreOp, then: Then | None = None) -> None:
        """A store write: in the running sync's batch, or at once outside a sync (the sweeper's calls)."""
        if self._batch is not None:
            self._batch.add(op, then)
            return
        [answer] = self.store.apply([op])
        if then is not None:
            then(answer)

    # ---- events -------------------------------------------------------------------------------
    def _on_event(self, ev: PodEvent) -> None:
        meta = ev.pod.get("metadata") or {}
        att = self.attempts.get((ev.namespace, meta.get("name", "")))
        if att is None:
            if ev.type not in GONE_TYPES:
                self.finish_pod(ev.pod, ev.namespace)
            return
        uid = meta.get("uid")
        if att.uid and uid != att.uid:
            return  # an older incarnation of the same name
        if att.uid is None and uid:
            att.uid = uid
            if not att.launched and not att.creating:
                att.launched = True
        att.last_pod = ev.pod
        if ev.type in GONE_TYPES:
            self._on_gone(att, ev)
            return
        outcome = pod_outcome(ev.pod, self.settings.fatal_reasons)
        if outcome.state == RUNNING and not att.running:
            self._write(Running(att.ref))
            att.running = True
        if outcome.terminal:
            self._settle(att, outcome, ev.pod)

    def _on_gone(self, att: Attempt, ev: PodEvent) -> None:
        """The pod left our watch: deleted, claimed by another replica, or labelled done. Look before acting."""
        try:
            pod: Pod | None = self.pods.get_pod(*att.key)
        except NotFound:
            pod = None
        except Exception:
            return  # we will see it again on the next re-list or reconcile
        if pod is not None and pod["metadata"].get("uid") == att.uid:
            labels = pod["metadata"].get("labels") or {}
            if labels.get(self.scheme.owner_key) != str(self.owner_id) or labels.get(self.scheme.done_key):
                self._tally.add("released")
                self.attempts.pop(att.key, None)  # no longer ours to finish
            elif ev.type == EventType.GONE:  # still ours, but the watch missed it (e.g. a new API server)
                self._tally.add("resynced")
                self._on_event(PodEvent(EventType.SYNC, pod, ev.namespace))
            return
        outcome = deleted_outcome(ev.pod)  # a terminal last state is the result; else "pod deleted"
        if ev.type == EventType.GONE and outcome.reason == "pod deleted":
            outcome = LOST  # it vanished between two lists: nobody saw how it ended
        if outcome.reason == LOST.reason:
            self._tally.add("lost")
        self._settle(att, outcome, clean=False)

    # ---- results: commit, then clean ----------------------------------------------------------
    def finish_pod(self, pod: Pod, namespace: str, again: bool = False) -> bool:
        """A terminal pod now ours that no attempt tracks (claimed from a dead replica, or left over).

        Records its result if nobody has (idempotent), then cleans it up - once per pod uid, so a
        claim answered directly and then seen again by the watch is not written twice. `again`:
        the leftover sweep found it still there (its cleanup gave up): clean it up once more.
        """
        meta = pod.get("metadata") or {}
        uid = meta.get("uid", "")
        ref = self.scheme.identity(pod)
        outcome = pod_outcome(pod, self.settings.fatal_reasons)
        if ref is None or not outcome.terminal or (self._finishing(uid) and not again):
            return False
        att = self.attempts.get((namespace, meta.get("name", "")))
        if att is not None and att.uid in (None, uid):
            att.uid = uid  # we were following it too (taken over while launching): finish it once, here
            self._settle(att, outcome, pod)
            return True
        if self._batch is not None:
            self._batch.uids.add(uid)  # a second event for it in this sync must not finish it again
        self.results.finish(self._write, ref, outcome, PodRef(namespace, meta["name"], uid), _phase(pod))
        return True

    def _finishing(self, uid: str) -> bool:
        return uid in self.results.finished or (self._batch is not None and uid in self._batch.uids)

    def _settle(self, att: Attempt, outcome: Outcome, pod: Pod | None = None, *, clean: bool = True) -> None:
        """Finish a tracked attempt and forget it; `clean=False` when its pod is gone or never was."""
        log_tail = self.results.log_tail(PodRef(*att.key), outcome, pod) if clean else ""
        self.attempts.pop(att.key, None)
        if att.uid and self._batch is not None:
            self._batch.uids.add(att.uid)
        state = SUCCESS if outcome.state == SUCCESS else FAILED

        def recorded(result: object) -> None:
            self._tally.add("succeeded" if state == SUCCESS else "failed")
            log.info("%s try %d: %s %s -> task %s", att.work.name, att.ref.try_number, state, outcome.reason, result)

        pod_ref = att.pod_ref() if clean else None
        self.results.finish(self._write, att.ref, outcome, pod_ref, _phase(pod), log_tail, then=recorded)

    # ---- level-triggered checks ---------------------------------------------------------------
    def _time_out(self, timed_out: list[Attempt]) -> int:
        """End attempts past their timeout (their pods are deleted once the failure is recorded)."""
        for att in timed_out:
            if self.attempts.get(att.key) is att:  # not settled meanwhile by an event of this loop
                self._tally.add("timeouts")
                self._settle(att, timeout_outcome(att.work.timeout_seconds or 0))
        return len(timed_out)

    def _known_pods(self) -> list[tuple[str, Pod]]:
        """What our watches know right now (their own threads update them: copy, then read)."""
        return [(ns, pod) for ns, w in list(self.watchers.items()) for pod in list(w.known.values())]

    def _busy(self, namespace: str, name: str, uid: str) -> bool:
        """An attempt follows this pod, or a cleanup of it is in flight: not a leftover."""
        return (namespace, name) in self.attempts or self.cleaner.working_on(uid) or self.results.waiting_on(uid)

    def _reconcile(self) -> None:
        """A launched pod the watcher no longer knows after a sync is gone (the watch missed its end)."""
        for att in list(self.attempts.values()):
            w = self.watchers.get(att.key[0])
            if w is None or not att.launched or not att.uid or not w.synced.is_set():
                continue
            if att.uid not in w.known and self.clock() - att.started > RECONCILE_EVERY:
                self._on_gone(att, PodEvent(EventType.GONE, att.last_pod or {"metadata": {}}, att.key[0]))
