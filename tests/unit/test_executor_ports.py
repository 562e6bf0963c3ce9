"""The executor against in-memory ports: result before removal, hand back on stop, refused creates handed back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from kubernetes.client.exceptions import ApiException

from podherd.core.executor.executor import KubernetesExecutor
from podherd.core.executor.settings import ExecutorSettings
from podherd.core.labels import PODHERD_SCHEME
from tests.unit.fakes import FakeClock, FakePods, FakeTasks, TaskBook, pod

S = PODHERD_SCHEME


@pytest.fixture
def world() -> Iterator[tuple[TaskBook, FakePods]]:
    book = TaskBook()
    server = FakePods(book.journal)
    yield book, server
    server.closed.set()  # ends the executors' quiet watches


def executor(
    book: TaskBook, server: FakePods, clock: FakeClock | None = None, **settings: bool | int
) -> KubernetesExecutor:
    return KubernetesExecutor(
        server.client("5"),
        FakeTasks(book, 5),
        ExecutorSettings(**settings),
        5,
        S,
        clock=clock or FakeClock(),  # type: ignore[arg-type]
    )


def until(ex: KubernetesExecutor, done: Callable[[], bool], seconds: float = 5.0) -> None:
    """Run the loop's step until `done()` (creates answer from a thread pool)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "condition not reached"
        ex.sync()
        time.sleep(0.002)


def cleaned(ex: KubernetesExecutor) -> None:
    """Wait for the cleanups in flight (they run on the cleaner's threads)."""
    until(ex, lambda: ex.cleaner.busy() == 0)


# ---- result before removal ----------------------------------------------------------------------------


@pytest.mark.parametrize(("delete_pods", "removal"), [(True, "delete pod"), (False, "patch pod")])
def test_the_result_is_recorded_before_the_pod_is_deleted_or_labelled_done(
    world: tuple[TaskBook, FakePods], delete_pods: bool, removal: str
) -> None:
    book, server = world
    work = book.add(owner=5, name="p", launched=True)
    p = server.add(pod("p", "5", "Succeeded", work.ref))
    ex = executor(book, server, delete_worker_pods=delete_pods)
    assert ex.finish_pod(p, "default")
    cleaned(ex)
    assert [what for _who, what, _which in book.journal.entries] == ["record result", removal]
    assert not ex.finish_pod(p, "default")  # once per pod uid: a claim's answer, then its watch event
    if not delete_pods:
        labels = server.pods[("default", "p")]["metadata"]["labels"]
        assert labels[S.done_key] == S.done_value


def test_a_result_the_store_cannot_record_removes_nothing(world: tuple[TaskBook, FakePods]) -> None:
    book, server = world
    work = book.add(owner=5, name="p", launched=True)
    p = server.add(pod("p", "5", "Failed", work.ref))
    store = FakeTasks(book, 5)
    store.fail_record = RuntimeError("database is down")
    ex = KubernetesExecutor(server.client("5"), store, ExecutorSettings(), 5, S, clock=FakeClock())
    with pytest.raises(RuntimeError):
        ex.finish_pod(p, "default")
    cleaned(ex)
    assert server.writes == [] and book.rows[work.ref].result is None
    store.fail_record = None
    assert ex.finish_pod(p, "default")  # the retry finishes it, result first
    cleaned(ex)
    assert [what for _who, what, _which in book.journal.entries] == ["record result", "patch pod"]


def test_a_followed_attempt_that_ends_is_recorded_then_cleaned_once(world: tuple[TaskBook, FakePods]) -> None:
    book, server = world
    work = book.add(owner=5, name="p", launched=True)
    p = server.add(pod("p", "5", "Succeeded", work.ref))
    ex = executor(book, server)
    ex.launch([work], pods={"p": p})  # taken over: followed, not created
    until(ex, lambda: not ex.attempts)
    ex.stop()
    assert [what for _who, what, _which in book.journal.entries] == ["record result", "delete pod"]
    assert ex.stats.succeeded == 1 and [c for c in server.calls if c[1] == "create"] == []


# ---- hand back ------------------------------------------------------------------------------------------


def test_a_refused_create_hands_the_try_back_uncounted(world: tuple[TaskBook, FakePods]) -> None:
    book, server = world
    work = book.add(owner=5, name="p")
    server.fail["create"] = [ApiException(status=401, reason="Unauthorized")]
    ex = executor(book, server)
    ex.launch([work])
    until(ex, lambda: not ex.attempts)
    ex.stop()
    row = book.rows[work.ref]
    assert row.released and row.result is None  # the try does not count, and did not fail
    assert ex.stats.handed_back == 1 and server.writes == []


def test_a_refusal_after_an_ambiguous_answer_keeps_the_try(world: tuple[TaskBook, FakePods]) -> None:
    book, server = world
    work = book.add(owner=5, name="p")
    server.fail["create"] = [ApiException(status=503, reason="Unavailable"), ApiException(status=401, reason="No")]
    clock = FakeClock()
    ex = executor(book, server, clock=clock)
    ex.launch([work])
    until(ex, lambda: ex.stats.create_retries == 1)  # the 503: the pod may exist
    clock.advance(60)
    until(ex, lambda: ex.attempts[("default", "p")].refusals == 1)
    ex.stop()
    assert not book.rows[work.ref].released and book.rows[work.ref].result is None
    assert ex.stats.handed_back == 0


def test_on_stop_only_tries_whose_pod_surely_does_not_exist_are_handed_back(
    world: tuple[TaskBook, FakePods],
) -> None:
    book, server = world
    never = book.add(owner=5, name="never")
    launched = book.add(owner=5, name="launched", launched=True, uid="uid-l")
    server.add(pod("launched", "5", "Running", launched.ref))["metadata"]["uid"] = "uid-l"
    ex = executor(book, server)
    ex.launch([never, launched])  # no sync: the first is never created
    assert ex.hand_back(delete_launched=False) == (1, 1)
    ex.stop()
    assert book.rows[never.ref].released and not book.rows[launched.ref].released
    assert server.writes == []  # a launched pod is left for a survivor's takeover


def test_podherd_run_deletes_its_launched_pods_then_hands_their_tries_back(
    world: tuple[TaskBook, FakePods],
) -> None:
    book, server = world
    launched = book.add(owner=5, name="launched", launched=True, uid="uid-l")
    server.add(pod("launched", "5", "Running", launched.ref))["metadata"]["uid"] = "uid-l"
    ex = executor(book, server)
    ex.launch([launched])
    assert ex.hand_back(delete_launched=True) == (1, 0)
    ex.stop()
    assert [what for _who, what, _which in book.journal.entries] == ["delete pod", "release"]


# ---- one commit per loop ---------------------------------------------------------------------------------


def ended(book: TaskBook, server: FakePods, names: list[str]) -> tuple[list, list]:
    """Followed attempts whose pods have all finished: their events wait in the executor's inbox."""
    works = [book.add(owner=5, name=n, launched=True, uid=f"uid-{n}") for n in names]
    pods = []
    for w in works:
        p = server.add(pod(w.name, "5", "Succeeded", w.ref))
        p["metadata"]["uid"] = f"uid-{w.name}"
        pods.append(p)
    return works, pods


def test_a_loops_results_are_one_commit_and_pods_are_removed_only_after_it(world: tuple[TaskBook, FakePods]) -> None:
    book, server = world
    works, pods = ended(book, server, ["a", "b", "c"])
    store = FakeTasks(book, 5)
    ex = KubernetesExecutor(server.client("5"), store, ExecutorSettings(), 5, S, clock=FakeClock())
    ex.launch(works, pods={p["metadata"]["name"]: p for p in pods})
    ex.sync()
    cleaned(ex)
    ex.stop()
    assert store.commits == 1, "three results, one transaction"
    whats = [what for _who, what, _which in book.journal.entries]
    assert whats[:3] == ["record result"] * 3 and sorted(whats[3:]) == ["delete pod"] * 3


def test_a_failed_commit_removes_nothing_and_the_next_loop_handles_the_same_events(
    world: tuple[TaskBook, FakePods],
) -> None:
    book, server = world
    works, pods = ended(book, server, ["a", "b"])
    store = FakeTasks(book, 5)
    ex = KubernetesExecutor(server.client("5"), store, ExecutorSettings(), 5, S, clock=FakeClock())
    ex.launch(works, pods={p["metadata"]["name"]: p for p in pods})
    store.fail_record = RuntimeError("database is down")
    with pytest.raises(RuntimeError):
        ex.sync()
    cleaned(ex)
    assert server.writes == [] and all(book.rows[w.ref].result is None for w in works)
    assert set(ex.attempts) == {("default", "a"), ("default", "b")}, "the attempts are as before the loop"
    store.fail_record = None
    ex.sync()  # the same two events, handled again: nothing was dropped
    cleaned(ex)
    ex.stop()
    assert all(book.rows[w.ref].result is not None for w in works) and not ex.attempts
    assert sorted(what for _who, what, _which in book.journal.entries) == ["delete pod"] * 2 + ["record result"] * 2
    assert ex.stats.succeeded == 2, "counted once, not once per try"
