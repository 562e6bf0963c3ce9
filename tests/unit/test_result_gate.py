"""The core's additions for a front-end that commits results later (Airflow): the result gate, revoke,
the sweeper's `adopt`, and keys made of several annotations. In-memory ports, no I/O."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from podherd.core.executor.executor import KubernetesExecutor
from podherd.core.executor.settings import ExecutorSettings
from podherd.core.labels import AIRFLOW_SCHEME, AIRFLOW_TI_SCHEME, PODHERD_SCHEME, decode_key, encode_key
from podherd.core.ports import AttemptRef, Durability, PodRef
from tests.unit.fakes import FakeClock, FakePods, FakeTasks, TaskBook, pod

S = PODHERD_SCHEME


class Gate:
    """Answers what the test sets; remembers what it was asked."""

    def __init__(self) -> None:
        self.answer: Durability = Durability.PENDING
        self.asked: list[list[AttemptRef]] = []

    def durable(self, waiting: Sequence[tuple[AttemptRef, PodRef]]) -> Mapping[PodRef, Durability]:
        self.asked.append([ref for ref, _pod in waiting])
        return {pod: self.answer for _ref, pod in waiting}


@pytest.fixture
def world() -> Iterator[tuple[TaskBook, FakePods]]:
    book = TaskBook()
    server = FakePods(book.journal)
    yield book, server
    server.closed.set()


def until(ex: KubernetesExecutor, done: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "condition not reached"
        ex.sync()
        time.sleep(0.002)


def gated(book: TaskBook, server: FakePods, gate: Gate) -> KubernetesExecutor:
    return KubernetesExecutor(
        server.client("5"), FakeTasks(book, 5), ExecutorSettings(), 5, S, clock=FakeClock(), gate=gate
    )


def test_with_a_gate_the_pod_waits_until_the_result_is_durable(world: tuple[TaskBook, FakePods]) -> None:
    book, server = world
    work = book.add(owner=5, name="p", launched=True)
    p = server.add(pod("p", "5", "Succeeded", work.ref))
    gate = Gate()
    ex = gated(book, server, gate)
    assert ex.finish_pod(p, "default")
    for _ in range(3):
        ex.sync()
    assert server.writes == [] and gate.asked[-1] == [work.ref], "recorded, not yet durable: the pod stays"
    assert ex._busy("default", "p", p["metadata"]["uid"]), "a waiting pod is not a leftover"
    gate.answer = Durability.DURABLE
    until(ex, lambda: ("default", "p") not in server.pods)
    assert [what for _who, what, _which in book.journal.entries] == ["record result", "delete pod"]
    ex.sync()
    assert len(gate.asked) == 4, "nothing waits any more: the gate is not asked again"


def test_a_released_pod_is_forgotten_without_a_write(world: tuple[TaskBook, FakePods]) -> None:
    book, server = world
    work = book.add(owner=5, name="p", launched=True)
    p = server.add(pod("p", "5", "Failed", work.ref))
    gate = Gate()
    gate.answer = Durability.RELEASED
    ex = gated(book, server, gate)
    ex.finish_pod(p, "default")
    ex.sync()
    ex.sync()
    assert not ex.results.waiting and server.writes == [] and len(gate.asked) == 1


def test_revoke_forgets_the_attempt_and_deletes_its_pod(world: tuple[TaskBook, FakePods]) -> None:
    book, server = world
    work = book.add(owner=5, name="p", launched=True)
    p = server.add(pod("p", "5", "Running", work.ref))
    ex = gated(book, server, Gate())
    ex.launch([work], pods={"p": p})
    assert ex.revoke("default", "p") and not ex.attempts
    until(ex, lambda: ("default", "p") not in server.pods)
    assert not ex.revoke("default", "p")
    assert book.rows[work.ref].result is None, "a revoked attempt records nothing"


def test_revoking_an_attempt_never_created_writes_nothing(world: tuple[TaskBook, FakePods]) -> None:
    book, server = world
    work = book.add(owner=5, name="p")
    ex = gated(book, server, Gate())
    ex.launch([work])  # not created yet: creates start in sync()
    assert ex.revoke("default", "p")
    for _ in range(3):
        ex.sync()
    assert server.writes == [] and ex.cleaner.busy() == 0


def test_keys_of_several_annotations_round_trip_and_read_the_anchors_pods() -> None:
    key = encode_key(["dag", "task", "manual__2026-01-01T00:00:00+00:00", "-1", ""])
    assert decode_key(key) == ["dag", "task", "manual__2026-01-01T00:00:00+00:00", "-1", ""]
    assert decode_key("5") is None and decode_key('{"a": 1}') is None and decode_key('["a", 1]') is None
    ref = AttemptRef(key, 2)
    annotations = AIRFLOW_TI_SCHEME.identity_annotations(ref)
    assert annotations == {
        "dag_id": "dag",
        "task_id": "task",
        "run_id": "manual__2026-01-01T00:00:00+00:00",
        "try_number": "2",
    }, "parts equal to their default are left out, as the anchor writes map_index only when mapped"
    assert AIRFLOW_TI_SCHEME.identity({"metadata": {"annotations": annotations}}) == ref
    mapped = {**annotations, "map_index": "3", "podherd.io/queue-id": "q1"}
    assert AIRFLOW_TI_SCHEME.identity({"metadata": {"annotations": mapped}}) == AttemptRef(
        encode_key(["dag", "task", "manual__2026-01-01T00:00:00+00:00", "3", "q1"]), 2
    )
    no_run = {k: v for k, v in annotations.items() if k != "run_id"}
    assert AIRFLOW_TI_SCHEME.identity({"metadata": {"annotations": no_run}}) is None, "run_id is required"
    with pytest.raises(ValueError):
        AIRFLOW_TI_SCHEME.identity_annotations(AttemptRef("7", 1))
    # The standalone airflow scheme is unchanged: one annotation is the key.
    assert AIRFLOW_SCHEME.identity({"metadata": {"annotations": {"task_id": "7", "try_number": "1"}}}) == AttemptRef(
        "7", 1
    )
