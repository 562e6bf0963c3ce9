"""The Airflow front-end's store and liveness against small fakes: the event buffer, the task instance rows,
the gate's verdicts (wait, emit again, take over, hand over), missing pods, takeover. No Airflow, no I/O."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from podherd.airflow.alive import SchedulerJobs
from podherd.airflow.keys import SCHEME, TIKey, pod_annotations, pod_labels, pod_name
from podherd.airflow.manifests import PodSettings, TaskRun, launch_of
from podherd.airflow.store import TI, EventBufferStore, FoundPods, TIRow, Verdict, describe, verdict
from podherd.core.executor.executor import KubernetesExecutor
from podherd.core.executor.settings import ExecutorSettings
from podherd.core.podstatus import FAILED, SUCCESS, Outcome
from podherd.core.ports import AttemptRef, Durability, MissingPod, PodRef
from tests.unit.fakes import FakeClock, FakePods, Journal

ME, OTHER, DEAD = 5, 7, 3
RUN = "manual__2026-11-26T10:00:00+00:00"
KEY = TIKey("dag", "task", RUN, -1, 1, "q1")
SETTINGS = PodSettings("default", "img:1", "3.3.2")


class Sink:
    """The executor's event buffer and running set, as a scheduler would drain them."""

    def __init__(self) -> None:
        self.buffer: dict[TIKey, tuple[bool, str]] = {}
        self.emitted: list[tuple[TIKey, bool]] = []
        self.requeued: list[TIKey] = []
        self.running: set[TIKey] = set()
        self.known: set[TIKey] = set()
        self.dropped: list[TIKey] = []

    def finished(self, key: TIKey, success: bool, info: str | None) -> None:
        if info is None:
            self.dropped.append(key)
            return
        self.buffer[key] = (success, info)
        self.emitted.append((key, success))

    def pending(self, key: TIKey) -> bool:
        return key in self.buffer

    def requeue(self, key: TIKey) -> bool:
        if key not in self.known:
            return False
        self.requeued.append(key)
        return True

    def adopted(self, key: TIKey) -> None:
        self.running.add(key)


class Rows:
    """task_instance rows; `commit()` plays the scheduler's process_executor_events for our events."""

    def __init__(self, journal: Journal) -> None:
        self.rows: dict[TI, TIRow] = {}
        self.journal = journal
        self.claimed: list[TI] = []
        self.taken: list[int] = []
        self.runs: list[TaskRun] = []

    def put(self, key: TIKey, state: str | None, owner: int | None) -> None:
        self.rows[key.ti] = TIRow(key, state, owner)

    def rows_(self, tis: Sequence[TI]) -> dict[TI, TIRow]:
        return {ti: self.rows[ti] for ti in tis if ti in self.rows}

    def owners_with_work(self) -> set[int]:
        return {r.owner for r in self.rows.values() if r.owner is not None and r.owner != ME}

    def take_over(self, dead: int, me: int) -> list[TaskRun]:
        self.taken.append(dead)
        return list(self.runs)

    def claim_row(self, row: TIRow, me: int) -> bool:
        if self.rows.get(row.key.ti) != row:
            return False
        self.rows[row.key.ti] = replace(row, owner=me)
        self.claimed.append(row.key.ti)
        return True

    def commit(self, sink: Sink) -> None:
        for key, (success, _info) in list(sink.buffer.items()):
            row = self.rows.get(key.ti)
            if row is not None and row.owner == ME and row.key.same_attempt(key) and row.state != "success":
                self.put(row.key, "success" if success else "failed", ME)
                self.journal.add("scheduler", "commit", key.task_id)
        sink.buffer.clear()


class TIs:
    def __init__(self, rows: Rows) -> None:
        self.r = rows
        self.rows = rows.rows_
        self.owners_with_work = rows.owners_with_work
        self.take_over = rows.take_over
        self.claim_row = rows.claim_row


@pytest.fixture
def world() -> Iterator[tuple[Sink, Rows, FakePods]]:
    journal = Journal()
    server = FakePods(journal, scheme=SCHEME)
    yield Sink(), Rows(journal), server
    server.closed.set()


def store(
    sink: Sink,
    rows: Rows,
    server: FakePods,
    alive: set[int] | None = frozenset({OTHER}),
    found: FoundPods | None = None,
) -> EventBufferStore:
    def find(owner: int) -> FoundPods:
        if found is None:
            raise ConnectionError("API down")
        return found

    def make(run: TaskRun, existing: tuple[AttemptRef, PodRef] | None) -> object:
        return launch_of(run, ME, SETTINGS, None, existing)

    return EventBufferStore(sink, TIs(rows), ME, server.client(str(ME)), lambda: alive, find, make)  # type: ignore[arg-type]


def task_pod(key: TIKey, owner: int, phase: str) -> dict[str, object]:
    status: dict[str, object] = {"phase": phase}
    if phase in ("Succeeded", "Failed"):
        code = 0 if phase == "Succeeded" else 3
        status["containerStatuses"] = [{"name": "base", "state": {"terminated": {"exitCode": code}}}]
    labels = pod_labels(key, owner, "3.3.2")
    return {
        "metadata": {"name": pod_name(key), "labels": labels, "annotations": pod_annotations(key)},
        "status": status,
    }


# ---- the verdict (pure) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "alive", "pending", "expected"),
    [
        (None, set(), False, Verdict.DURABLE),  # the row is gone
        (TIRow(KEY, "success", ME), set(), False, Verdict.DURABLE),
        (TIRow(KEY, "up_for_retry", ME), set(), False, Verdict.DURABLE),
        (TIRow(replace(KEY, try_number=2), "queued", ME), set(), False, Verdict.DURABLE),  # next try
        (TIRow(KEY.with_queue_id("q2"), "queued", ME), set(), False, Verdict.DURABLE),  # requeued
        (TIRow(KEY, "running", ME), set(), True, Verdict.PENDING),  # the scheduler has not drained it yet
        (TIRow(KEY, "running", ME), set(), False, Verdict.EMIT_AGAIN),  # drained, not committed
        (TIRow(KEY, "queued", DEAD), {OTHER}, False, Verdict.TAKE_OVER),
        (TIRow(KEY, "queued", None), {OTHER}, False, Verdict.TAKE_OVER),
        (TIRow(KEY, "running", OTHER), {OTHER}, False, Verdict.HAND_OVER),
        (TIRow(KEY, "running", DEAD), None, False, Verdict.PENDING),  # alive unknown: touch nothing
    ],
)
def test_verdict(row: TIRow | None, alive: set[int] | None, pending: bool, expected: Verdict) -> None:
    assert verdict(row, KEY, ME, alive, pending) == expected


def test_the_event_info_says_why_a_pod_failed() -> None:
    info = describe(Outcome(FAILED, exit_code=3, reason="Error", message="boom", container="base"), "last line")
    assert info == "pod failed: Error; exit_code: 3; boom; container: base\nlast line"
    assert describe(Outcome(SUCCESS)) == "pod succeeded"


# ---- result before removal, with the core executor ------------------------------------------------------


def test_the_pod_is_removed_only_once_the_scheduler_committed_the_result(
    world: tuple[Sink, Rows, FakePods],
) -> None:
    sink, rows, server = world
    rows.put(KEY, "queued", ME)  # a pod that failed before the Task SDK ran: only our event can fail the TI
    p = server.add(task_pod(KEY, ME, "Failed"))
    st = store(sink, rows, server)
    ex = KubernetesExecutor(server.client(str(ME)), st, ExecutorSettings(), ME, SCHEME, clock=FakeClock(), gate=st)
    ex.launch([launch_of(TaskRun(KEY, "{}"), ME, SETTINGS, None)], pods={p["metadata"]["name"]: p})
    ex.sync()
    assert sink.emitted == [(KEY, False)] and server.writes == [], "in the buffer, not committed: the pod stays"
    ex.sync()
    assert server.writes == []
    rows.commit(sink)  # the scheduler's process_executor_events
    deadline = time.monotonic() + 5
    while len(rows.journal.entries) < 2:
        assert time.monotonic() < deadline
        ex.sync()
        time.sleep(0.002)
    whats = [what for _who, what, _which in rows.journal.entries]
    assert whats == ["commit", "patch pod"], "committed, then labelled done (failed pods are kept by default)"
    ex.stop()


@pytest.mark.parametrize(
    "now", [KEY.with_queue_id("q2"), replace(KEY, try_number=2), None], ids=["requeued", "next try", "row gone"]
)
def test_an_earlier_attempts_result_sends_no_event_and_frees_its_pod(
    world: tuple[Sink, Rows, FakePods], now: TIKey | None
) -> None:
    """A resumed deferral runs the same try again: the first pod's exit must not end the new run."""
    sink, rows, server = world
    if now is not None:
        rows.put(now, "queued", ME)
    st = store(sink, rows, server)
    assert st.record(KEY.ref, Outcome(SUCCESS)).startswith("an earlier attempt")
    assert sink.emitted == [] and sink.dropped == [KEY]
    where = PodRef("default", pod_name(KEY), "u")
    assert st.durable([(KEY.ref, where)]) == {where: Durability.DURABLE}


def test_an_event_drained_but_not_committed_is_emitted_again(world: tuple[Sink, Rows, FakePods]) -> None:
    sink, rows, server = world
    rows.put(KEY, "running", ME)
    st = store(sink, rows, server)
    st.record(KEY.ref, Outcome(FAILED, reason="OOMKilled", exit_code=137))
    sink.buffer.clear()  # drained, but the row was locked by someone else: skipped
    where = PodRef("default", pod_name(KEY), "u")
    assert st.durable([(KEY.ref, where)]) == {where: Durability.PENDING}
    assert sink.emitted == [(KEY, False), (KEY, False)] and "OOMKilled" in sink.buffer[KEY][1]


def test_a_completed_pod_of_a_dead_scheduler_gets_its_row_taken_over(world: tuple[Sink, Rows, FakePods]) -> None:
    sink, rows, server = world
    rows.put(KEY, "queued", DEAD)
    st = store(sink, rows, server)
    st.record(KEY.ref, Outcome(FAILED, reason="InvalidImageName"))
    sink.buffer.clear()  # our scheduler ignored it: the row was not ours
    where = PodRef("default", pod_name(KEY), "u")
    assert st.durable([(KEY.ref, where)]) == {where: Durability.PENDING}
    assert rows.claimed == [KEY.ti] and rows.rows[KEY.ti].owner == ME and len(sink.emitted) == 2
    rows.commit(sink)
    assert st.durable([(KEY.ref, where)]) == {where: Durability.DURABLE}


def test_a_live_schedulers_task_gets_our_pod_handed_over_with_a_cas(world: tuple[Sink, Rows, FakePods]) -> None:
    sink, rows, server = world
    rows.put(KEY, "running", OTHER)  # Airflow adopted it while we still ran its pod
    p = server.add(task_pod(KEY, ME, "Succeeded"))
    st = store(sink, rows, server)
    st.record(KEY.ref, Outcome(SUCCESS))
    where = PodRef("default", p["metadata"]["name"], p["metadata"]["uid"])
    assert st.durable([(KEY.ref, where)]) == {where: Durability.RELEASED}
    assert server.owner("default", p["metadata"]["name"]) == str(OTHER) and st.handed_over == 1
    # Not ours any more (someone relabelled it first): released, nothing written.
    server.writes.clear()
    assert st.durable([(KEY.ref, where)]) == {where: Durability.RELEASED} and server.writes == []


def test_nothing_is_touched_while_liveness_is_unknown(world: tuple[Sink, Rows, FakePods]) -> None:
    sink, rows, server = world
    rows.put(KEY, "running", OTHER)
    st = store(sink, rows, server, alive=None)
    where = PodRef("default", pod_name(KEY), "u")
    assert st.durable([(KEY.ref, where)]) == {where: Durability.PENDING}
    assert rows.claimed == [] and server.writes == [] and sink.emitted == []


# ---- missing pods, takeover, hand back --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "owner", "expected"),
    [
        ("queued", ME, MissingPod.RELAUNCH),  # queued and died before the create: launch it now
        ("queued", DEAD, MissingPod.RELAUNCH),  # being adopted (the scheduler holds the row)
        ("running", ME, MissingPod.LOST),
        ("success", ME, MissingPod.SETTLED),
        ("running", OTHER, MissingPod.SETTLED),  # a live scheduler's now
    ],
)
def test_a_missing_pod_is_decided_by_the_row_now(
    world: tuple[Sink, Rows, FakePods], state: str, owner: int, expected: MissingPod
) -> None:
    sink, rows, server = world
    rows.put(KEY, state, owner)
    assert store(sink, rows, server).decide_missing_pod(KEY.ref) == expected
    assert store(sink, rows, server).decide_missing_pod(replace(KEY, try_number=2).ref) == MissingPod.SETTLED


def test_takeover_lists_the_pods_first_and_follows_the_providers_random_names(
    world: tuple[Sink, Rows, FakePods],
) -> None:
    sink, rows, server = world
    rows.runs = [TaskRun(KEY.with_queue_id("3"), "{}"), TaskRun(replace(KEY, task_id="other"), "{}")]
    provider_ref = KEY.with_queue_id("").ref
    assert store(sink, rows, server, found=None).dead_owners_with_work() == set()
    with pytest.raises(ConnectionError):
        store(sink, rows, server, found=None).take_over(DEAD)
    assert rows.taken == [], "no listing, no takeover: a claim by the wrong name would relaunch a running task"
    found = {(KEY.ti, 1): [(provider_ref, PodRef("default", "dag-task-ab12cd34", "u1"))]}
    launches = store(sink, rows, server, found=found).take_over(DEAD)
    assert rows.taken == [DEAD]
    assert [(w.ref, w.pod.name) for w in launches] == [
        (provider_ref, "dag-task-ab12cd34"),
        (replace(KEY, task_id="other").ref, pod_name(replace(KEY, task_id="other"))),
    ]
    assert sink.running == {KEY.with_queue_id(""), replace(KEY, task_id="other")}, "as the pods say"


def test_release_requeues_a_known_workload(world: tuple[Sink, Rows, FakePods]) -> None:
    sink, rows, server = world
    st = store(sink, rows, server)
    assert not st.release(KEY.ref)
    sink.known.add(KEY)
    assert st.release(KEY.ref) and sink.requeued == [KEY]
    assert not st.release(AttemptRef("7", 1)), "not a task instance key"


# ---- liveness over the job table ----------------------------------------------------------------------


def test_the_job_table_says_none_when_it_cannot_tell_never_nobody() -> None:
    answers: list[set[int] | Exception] = [{ME, OTHER}, RuntimeError("database down"), {ME}]

    def query() -> set[int]:
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    jobs = SchedulerJobs(query, ME)
    assert jobs.alive_siblings() == {OTHER}
    assert jobs.alive_siblings() is None
    assert jobs.alive_siblings() == set()
