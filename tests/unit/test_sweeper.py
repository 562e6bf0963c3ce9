"""The sweeper against in-memory ports: skip when liveness is unknown, claims won and lost, takeover and its race."""

from __future__ import annotations

from kubernetes.client.exceptions import ApiException

from podherd.core.executor.cleanup import Cleaner
from podherd.core.ha.planner import Policy, claim_patch
from podherd.core.ha.sweeper import Sweeper, SweepSettings
from podherd.core.kube.health import ApiHealth
from podherd.core.labels import PODHERD_SCHEME
from podherd.core.podstatus import SUCCESS, Outcome
from podherd.core.ports import AliveSource, AttemptRef, Executor, Launch, PodAPI, TaskStore
from tests.unit.fakes import FakeAlive, FakeClock, FakeExecutor, FakePods, FakeTasks, Strict, TaskBook, pod

S = PODHERD_SCHEME
SETTINGS = SweepSettings(policy=Policy.PODHERD, check_period=1.0, sweep_interval=300.0, retention=86400.0)


def ready() -> ApiHealth:
    health = ApiHealth(clock=FakeClock())
    health.succeeded()
    return health


def sweeper(
    pods: PodAPI,
    store: TaskStore,
    alive: AliveSource,
    executor: Executor | None = None,
    me: int = 5,
    health: ApiHealth | None = None,
    clock: FakeClock | None = None,
) -> Sweeper:
    cleaner = Cleaner(pods, S, str(me))
    return Sweeper(
        pods,
        store,
        executor or FakeExecutor(),
        alive,
        cleaner,
        health or ready(),
        S,
        me,
        SETTINGS,
        namespaces=lambda: ["default"],
        clock=clock or FakeClock(),
    )


def orphan(book: TaskBook, server: FakePods, name: str, phase: str = "Running") -> Launch:
    """An attempt of dead replica 3 whose pod was created and whose uid was recorded."""
    work = book.add(owner=3, name=name, launched=True, uid=f"uid-{name}")
    server.add(pod(name, "3", phase, work.ref))
    return work


# ---- liveness unknown, API unusable: skip, never widen -------------------------------------------


def test_unknown_liveness_skips_the_sweep_and_touches_nothing() -> None:
    alive = FakeAlive(None)
    sw = Sweeper(
        Strict("pods"),  # type: ignore[arg-type]
        Strict("store"),  # type: ignore[arg-type]
        Strict("executor"),  # type: ignore[arg-type]
        alive,
        Strict("cleaner"),  # type: ignore[arg-type]
        ready(),
        S,
        5,
        SETTINGS,
        namespaces=lambda: ["default"],
        clock=FakeClock(),
    )
    assert sw.tick() == 0
    assert alive.asked == 1 and sw.stats.skipped == 1 and sw.stats.sweeps == 0


def test_liveness_lost_after_a_death_is_still_a_skip_not_exclude_self() -> None:
    server = FakePods()
    server.add(pod("of-7", "7", "Succeeded", AttemptRef("1", 1)))
    clock = FakeClock()
    alive = FakeAlive({7})
    sw = sweeper(server.client("5"), FakeTasks(TaskBook(), 5), alive, clock=clock)
    sw.tick()  # first sweep: 7 is alive, nothing to claim
    alive.alive = None  # the database goes away
    clock.advance(400)  # a periodic sweep would be due
    assert sw.tick() == 0
    assert sw.stats.skipped == 1 and sw.stats.sweeps == 1
    assert server.writes == [] and server.owner("default", "of-7") == "7"


def test_unusable_api_skips_the_sweep_and_owes_it() -> None:
    server = FakePods()
    server.add(pod("of-3", "3", "Succeeded", AttemptRef("1", 1)))
    health = ApiHealth(clock=FakeClock())  # nothing answered yet: not usable
    clock = FakeClock()
    sw = sweeper(server.client("5"), FakeTasks(TaskBook(), 5), FakeAlive(set()), health=health, clock=clock)
    assert sw.tick() == 0
    assert sw.stats.skipped_api == 1 and sw.stats.sweeps == 0 and server.calls == []
    health.succeeded()
    clock.advance(1.0)
    assert sw.tick() == 1  # the owed sweep runs at the next check, not 300 s later
    assert server.owner("default", "of-3") == "5"


# ---- claims: exactly one winner, no retry, no writes to live owners' pods ----------------------------


def test_two_survivors_race_one_wins_each_pod_and_the_loser_does_not_retry() -> None:
    server = FakePods()
    names = [f"done-{i}" for i in range(3)]
    for i, name in enumerate(names):
        server.add(pod(name, "3", "Succeeded", AttemptRef(str(i), 1)))
    server.add(pod("alive-7", "7", "Succeeded", AttemptRef("9", 1)))
    book = TaskBook(alive_owners={5, 6, 7})
    ex_a, ex_b = FakeExecutor(), FakeExecutor()
    a = sweeper(server.client("5"), FakeTasks(book, 5), FakeAlive({6, 7}), ex_a, me=5)
    b = sweeper(server.client("6"), FakeTasks(book, 6), FakeAlive({5, 7}), ex_b, me=6)
    raced: list[str] = []

    def a_claims_while_bs_list_travels(actor: str) -> None:
        if actor == "6" and not raced:
            raced.append(actor)
            a.sweep({6, 7})

    server.after_list = a_claims_while_bs_list_travels
    b.sweep({5, 7})
    b.sweep({5, 7})  # and again: the loser has nothing left to try

    assert a.stats.claims_won == 3 and b.stats.claims_won == 0 and b.stats.claims_lost == 3
    assert sorted(ex_a.finished) == names and ex_b.finished == []
    b_patches = [name for actor, verb, name in server.calls if actor == "6" and verb == "patch"]
    assert sorted(b_patches) == names  # one try each, no retry
    assert sorted(w.name for w in server.writes) == names  # exactly one accepted write per pod
    assert [w for w in server.writes if w.owner_before in {"5", "6", "7"}] == []  # never a live owner's pod
    assert server.owner("default", "alive-7") == "7"


def test_a_claim_refused_by_the_api_is_retried_next_tick() -> None:
    server = FakePods()
    book = TaskBook(alive_owners={5})
    orphan(book, server, "p")
    server.fail["patch"] = [ApiException(status=503, reason="Service Unavailable")]
    ex, clock = FakeExecutor(), FakeClock()
    sw = sweeper(server.client("5"), FakeTasks(book, 5), FakeAlive(set()), ex, clock=clock)
    sw.tick()
    assert ex.launched == [] and server.owner("default", "p") == "3"
    clock.advance(1.0)
    sw.tick()
    assert [w.pod.name for w, p in ex.launched if p is not None] == ["p"]
    assert server.owner("default", "p") == "5"


# ---- takeover -----------------------------------------------------------------------------------------


def test_takeover_follows_a_live_pod_relaunches_a_never_created_one_and_records_a_vanished_one_lost() -> None:
    server = FakePods()
    book = TaskBook(alive_owners={5})
    orphan(book, server, "running")
    never = book.add(owner=3, name="never")  # claimed, but its pod was never created
    gone = book.add(owner=3, name="gone", launched=True, uid="uid-g")  # launched, and its pod vanished
    ex = FakeExecutor()
    sw = sweeper(server.client("5"), FakeTasks(book, 5), FakeAlive(set()), ex)

    assert sw.tick() == 3
    followed = {w.pod.name: p for w, p in ex.launched}
    assert followed["running"] is not None and followed["running"]["metadata"]["labels"][S.owner_key] == "5"
    assert followed["never"] is None
    (relaunch,) = [w for w, _p in ex.launched if w.pod.name == "never"]
    assert relaunch.ref == never.ref and not relaunch.launched and relaunch.pod.uid is None
    assert [w.ref for w in ex.lost] == [gone.ref]
    s = sw.stats
    assert (s.tasks_taken_over, s.claims_won, s.relaunched, s.pods_lost, s.settled) == (3, 1, 1, 1, 0)
    assert {r.owner for r in book.rows.values()} == {5}


def test_takeover_race_a_pod_recorded_and_deleted_by_another_survivor_is_not_relaunched() -> None:
    """The root cause of the takeover race: the 404 is judged by the store at that moment, not the snapshot."""
    book = TaskBook(alive_owners={5, 6})
    server = FakePods(book.journal)
    work = book.add(owner=3, name="p")  # killed between its create call and recording the uid
    server.add(pod("p", "3", "Succeeded", work.ref))
    interleaved: list[str] = []

    def six_finishes_it_first(actor: str, _name: str) -> None:
        if actor == "5" and not interleaved:
            interleaved.append(actor)
            six = server.client("6")
            six.json_patch_pod("default", "p", claim_patch(S, "3", "6"))
            FakeTasks(book, 6).record(work.ref, Outcome(SUCCESS, exit_code=0))
            six.delete_pod("default", "p")

    server.before["patch"] = six_finishes_it_first
    ex = FakeExecutor()
    sw = sweeper(server.client("5"), FakeTasks(book, 5), FakeAlive({6}), ex)
    sw.tick()

    assert interleaved == ["5"]
    assert ex.launched == [] and ex.lost == []  # no second run of the try, and not "lost" either
    assert sw.stats.settled == 1 and sw.stats.relaunched == 0
    assert server.writes_by("5") == []
    assert [what for who, what, _w in book.journal.entries] == ["patch pod", "record result", "delete pod"]


def test_without_the_interleaving_the_same_missing_pod_is_relaunched() -> None:
    book = TaskBook(alive_owners={5})
    work = book.add(owner=3, name="p")  # claimed by 3, never created
    ex = FakeExecutor()
    sw = sweeper(FakePods(book.journal).client("5"), FakeTasks(book, 5), FakeAlive(set()), ex)
    sw.tick()
    assert [w.ref for w, _p in ex.launched] == [work.ref] and sw.stats.relaunched == 1


# ---- adopt: orphans a front-end's own scheduler hands over (Airflow's try_adopt_task_instances) ----


def test_adopt_claims_with_a_cas_and_retries_a_claim_the_api_did_not_answer() -> None:
    book = TaskBook()
    server = FakePods(book.journal)
    a, b = orphan(book, server, "a"), orphan(book, server, "b")
    ex = FakeExecutor()
    sw = sweeper(server.client("5"), FakeTasks(book, 5), FakeAlive(set()), ex)
    server.fail["patch"] = [ApiException(status=503, reason="Unavailable")]
    sw.adopt(a, 3)  # the API failed: kept for a retry
    sw.adopt(b, 3)
    assert [w.pod.name for w, p in ex.launched] == ["b"] and server.owner("default", "b") == "5"
    assert sw.retry_adoptions() == 1
    assert [w.pod.name for w, p in ex.launched] == ["b", "a"] and server.owner("default", "a") == "5"
    assert sw.stats.tasks_taken_over == 2 and sw.stats.claims_won == 2
