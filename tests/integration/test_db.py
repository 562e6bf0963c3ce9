"""The metadata database on SQLite and on a throwaway PostgreSQL: migrations, claims,
results, liveness and takeovers, including the races they exist to survive."""

from __future__ import annotations

import os
import stat
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from podherd.standalone.db import make_engine, normalize_url, open_database, queries, upgrade
from podherd.standalone.db.migrate import current_revision, ensure_schema, head_revision
from podherd.standalone.db.models import Base, Task, TaskAttempt
from podherd.standalone.taskfile import TaskDef
from tests.integration.dbviews import get_attempt, running_attempts, task_summary

pytestmark = pytest.mark.integration

SCHED = queries.SCHEDULER_JOB


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state/podherd.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_database(db_url)
    yield eng
    eng.dispose()


def pod_name(name: str, task_id: int, try_number: int) -> str:
    return f"{name}-{task_id}-{try_number}"


def tasks(n: int, **fields: Any) -> list[TaskDef]:
    return [TaskDef(name=f"t{i}", image="alpine", command=("true",), **fields) for i in range(n)]


def job(engine: Engine, pid: int = 1, job_type: str = SCHED) -> int:
    return queries.register_job(engine, job_type, "host", pid)


def run_parallel(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` in n threads released at the same instant."""
    barrier = threading.Barrier(n)

    def go(i: int) -> Any:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


# --------------------------------------------------------------------------- schema


def test_migrations_apply_and_match_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert {"job", "task", "task_attempt", "alembic_version"} <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": _not_the_claim_index}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
        claim_index = _index_columns(conn, "idx_task_claim_order")
    assert diff == []
    assert claim_index == ["state", "priority DESC", "queued_at", "id"]  # the claim's exact order
    ensure_schema(engine)  # idempotent
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def _not_the_claim_index(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic cannot compare an index with a DESC column (an expression to it): checked by hand instead."""
    return not (type_ == "index" and name == "idx_task_claim_order")


def _index_columns(conn: Any, name: str) -> list[str]:
    """An index's columns as written, with DESC where it sorts descending (SQLite or PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"PRAGMA index_xinfo({name})").fetchall()
        return [f"{r[2]} DESC" if r[3] else r[2] for r in rows if r[5]]  # key columns only
    sql = "SELECT pg_get_indexdef(indexrelid, k + 1, true) || CASE WHEN indoption[k] & 1 = 1 THEN ' DESC' ELSE '' END "
    sql += "FROM pg_index, generate_series(0, indnkeyatts - 1) k "
    sql += f"WHERE indexrelid = '{name}'::regclass ORDER BY k"
    return [r[0] for r in conn.exec_driver_sql(sql).fetchall()]


def test_concurrent_first_start_upgrades_once(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(4)]
    try:
        run_parallel(4, lambda i: ensure_schema(engines[i]))
        assert all(current_revision(e) == head_revision() for e in engines)
    finally:
        for e in engines:
            e.dispose()


def test_postgres_urls_use_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


# --------------------------------------------------------------------------- tasks in


def test_insert_tasks_fills_default_namespace_and_keeps_order(engine: Engine) -> None:
    defs = [*tasks(2), TaskDef(name="ns", image="i", command=("a", "b"), namespace="other", env={"K": "V"})]
    ids = queries.insert_tasks(engine, defs, "default")
    assert ids == sorted(ids) and len(ids) == 3
    rows = {t.id: t for t in queries.list_tasks(engine)}
    assert [rows[i].name for i in ids] == ["t0", "t1", "ns"]
    assert rows[ids[0]].namespace == "default" and rows[ids[2]].namespace == "other"
    assert {r.state for r in rows.values()} == {"queued"}
    assert rows[ids[0]].created_at.tzinfo is not None and rows[ids[0]].created_at.utcoffset() == timedelta(0)


def test_insert_tasks_is_all_or_nothing(engine: Engine) -> None:
    bad = [*tasks(2), TaskDef(name="no-ns", image="i", command=("x",))]
    with pytest.raises(Exception):  # noqa: B017 - the backend's NOT NULL error, whatever its class
        queries.insert_tasks(engine, bad, None)  # type: ignore[arg-type]
    assert queries.count_tasks_by_state(engine)["queued"] == 0


def test_the_task_file_bounds_fit_every_backend(engine: Engine) -> None:
    """The limits podherd.standalone.taskfields enforces are what a 32-bit INTEGER column holds on SQLite and PostgreSQL."""
    from podherd.standalone.taskfields import INT32_MAX, INT32_MIN, MAX_IMAGE_LENGTH, MAX_NAME_LENGTH, MAX_TIMEOUT

    edge = TaskDef(
        name="n" * MAX_NAME_LENGTH,
        image="i" * MAX_IMAGE_LENGTH,
        command=("x",),
        max_tries=INT32_MAX,
        priority=INT32_MIN,
        timeout=MAX_TIMEOUT,
    )
    [task_id] = queries.insert_tasks(engine, [edge], "d")
    [row] = [t for t in queries.list_tasks(engine) if t.id == task_id]
    assert (row.max_tries, len(row.name), len(row.image)) == (INT32_MAX, MAX_NAME_LENGTH, MAX_IMAGE_LENGTH)
    queries.insert_tasks(engine, [TaskDef(name="top", image="i", command=("x",), priority=INT32_MAX)], "d")
    with pytest.raises(Exception):  # noqa: B017 - why the bound exists: OverflowError (SQLite), DataError (PostgreSQL)
        queries.insert_tasks(engine, [TaskDef(name="over", image="i", command=("x",), priority=2**63)], "d")


def test_new_sqlite_files_and_directories_are_private(tmp_path: Path) -> None:
    """The database, its -wal/-shm files and the directories made for it: owner-only (issue 9, item 6)."""
    base = tmp_path / "shared"
    base.mkdir(mode=0o755)
    os.chmod(base, 0o755)
    path = base / "a" / ".podherd" / "podherd.db"
    eng = open_database(f"sqlite:///{path}")
    try:
        queries.insert_tasks(eng, tasks(1), "default")
        with eng.connect() as conn:  # WAL mode: -wal and -shm exist while a connection is open
            conn.exec_driver_sql("SELECT 1")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    finally:
        eng.dispose()
    assert modes == {"podherd.db": 0o600, "podherd.db-wal": 0o600, "podherd.db-shm": 0o600}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((base / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE(base.stat().st_mode) == 0o755  # an existing directory is not ours to change


def test_private_modes_do_not_depend_on_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o277)  # would make a file 0400 and a directory 0500: unusable
    try:
        eng = make_engine(f"sqlite:///{tmp_path}/u/p.db")
    finally:
        os.umask(old)
    try:
        ensure_schema(eng)
    finally:
        eng.dispose()
    assert stat.S_IMODE((tmp_path / "u" / "p.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "u").stat().st_mode) == 0o700


def test_an_existing_database_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    path.touch()
    os.chmod(path, 0o640)
    open_database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# --------------------------------------------------------------------------- claims


def test_claim_takes_highest_priority_then_oldest(engine: Engine) -> None:
    queries.insert_tasks(engine, [TaskDef(name="low", image="i", command=("x",), priority=-1)], "default")
    queries.insert_tasks(engine, [TaskDef(name="old", image="i", command=("x",), priority=5)], "default")
    queries.insert_tasks(engine, [TaskDef(name="new", image="i", command=("x",), priority=5)], "default")
    owner = job(engine)
    claimed = queries.claim_queued_tasks(engine, owner, 2, pod_name)
    assert [c.name for c in claimed] == ["old", "new"]
    assert all(c.try_number == 1 and c.owner_id == owner and c.attempt_state == "launching" for c in claimed)
    assert claimed[0].pod_name == pod_name("old", claimed[0].task_id, 1)
    assert queries.claim_queued_tasks(engine, owner, 0, pod_name) == []
    assert [c.name for c in queries.claim_queued_tasks(engine, owner, 10, pod_name)] == ["low"]
    assert queries.claim_queued_tasks(engine, owner, 10, pod_name) == []


def test_concurrent_claimers_never_share_a_task(db_url: str, engine: Engine) -> None:
    ids = queries.insert_tasks(engine, tasks(200), "default")
    owners = [job(engine, pid=i) for i in range(4)]
    engines = [make_engine(db_url) for _ in owners]  # separate pools, like separate processes

    def claim_until_empty(i: int) -> list[int]:
        got: list[int] = []
        while batch := queries.claim_queued_tasks(engines[i], owners[i], 10, pod_name):
            assert len(batch) <= 10
            got.extend(c.task_id for c in batch)
        return got

    try:
        per_claimer = run_parallel(len(owners), claim_until_empty)
    finally:
        for e in engines:
            e.dispose()
    counts = Counter(task_id for got in per_claimer for task_id in got)
    assert sorted(counts) == sorted(ids)
    assert set(counts.values()) == {1}
    with engine.connect() as conn:
        attempts = conn.execute(select(TaskAttempt.task_id, TaskAttempt.try_number, TaskAttempt.owner_id)).all()
        owned = dict(conn.execute(select(Task.id, Task.owner_id)).all())
    assert len(attempts) == 200 and {a.try_number for a in attempts} == {1}
    assert all(owned[a.task_id] == a.owner_id for a in attempts)


# --------------------------------------------------------------------------- results


def test_record_result_is_idempotent_and_retries_until_max_tries(engine: Engine) -> None:
    [task_id] = queries.insert_tasks(engine, [TaskDef(name="flaky", image="i", command=("x",), max_tries=2)], "ns")
    owner = job(engine)
    [first] = queries.claim_queued_tasks(engine, owner, 5, pod_name)
    assert queries.record_attempt_launched(engine, task_id, 1, "uid-1")
    assert queries.record_attempt_state(engine, task_id, 1, "running")
    assert not queries.record_attempt_state(engine, task_id, 1, "pending")  # never backwards

    failure = {"reason": "Error", "message": "exit 3"}
    assert queries.record_result(engine, task_id, 1, "failed", 3, failure, owner) == "queued"
    assert queries.record_result(engine, task_id, 1, "failed", 3, failure, owner) == "unchanged"
    assert queries.record_result(engine, task_id, 1, "success", 0, None, owner) == "unchanged"
    [row] = queries.list_tasks(engine)
    assert (row.state, row.owner_id, row.try_number) == ("queued", None, 1)
    assert row.attempts[0].state == "failed" and row.attempts[0].failure == failure
    assert row.attempts[0].pod_uid == "uid-1" and row.attempts[0].exit_code == 3

    [second] = queries.claim_queued_tasks(engine, owner, 5, pod_name)
    assert second.try_number == 2 and second.pod_name != first.pod_name
    assert queries.record_result(engine, task_id, 2, "failed", 1, None, owner) == "failed"
    [row] = queries.list_tasks(engine)
    assert row.state == "failed" and row.ended_at is not None and len(row.attempts) == 2
    assert queries.claim_queued_tasks(engine, owner, 5, pod_name) == []


def test_record_result_success_and_stale_attempt(engine: Engine) -> None:
    [task_id] = queries.insert_tasks(engine, [TaskDef(name="t", image="i", command=("x",), max_tries=3)], "ns")
    owner = job(engine)
    queries.claim_queued_tasks(engine, owner, 1, pod_name)
    assert queries.record_result(engine, task_id, 1, "failed", 1, None, owner) == "queued"
    queries.claim_queued_tasks(engine, owner, 1, pod_name)
    # A late report for try 2's predecessor changes nothing; try 2 then succeeds.
    assert queries.record_result(engine, task_id, 1, "success", 0, None, owner) == "unchanged"
    assert queries.record_result(engine, task_id, 2, "success", 0, None, owner) == "success"
    assert task_summary(engine)["by_state"]["success"] == 1
    with pytest.raises(ValueError):
        queries.record_result(engine, task_id, 2, "running", None, None, owner)


def test_concurrent_record_result_commits_once(db_url: str, engine: Engine) -> None:
    ids = queries.insert_tasks(engine, tasks(30, max_tries=2), "ns")
    owner = job(engine)
    queries.claim_queued_tasks(engine, owner, 30, pod_name)
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        outcomes = run_parallel(
            2, lambda i: [queries.record_result(engines[i], t, 1, "failed", 1, None, owner) for t in ids]
        )
    finally:
        for e in engines:
            e.dispose()
    for a, b in zip(*outcomes, strict=True):
        assert sorted([a, b]) == ["queued", "unchanged"]


# --------------------------------------------------------------------------- liveness


def test_alive_sibling_ids(engine: Engine) -> None:
    now = datetime.now(UTC)
    me, fresh, stale, ended = (job(engine, pid=i) for i in range(4))
    queries.heartbeat(engine, me, now=now)
    queries.heartbeat(engine, fresh, now=now - timedelta(seconds=29))
    queries.heartbeat(engine, stale, now=now - timedelta(seconds=31))
    queries.heartbeat(engine, ended, now=now)
    queries.end_job(engine, ended)
    other_type = job(engine, job_type="TriggererJob")
    queries.heartbeat(engine, other_type, now=now)

    assert queries.alive_sibling_ids(engine, me, SCHED, 30, now=now) == {fresh}
    assert queries.alive_sibling_ids(engine, fresh, SCHED, 30, now=now) == {me}
    assert queries.alive_sibling_ids(engine, me, SCHED, 60, now=now) == {fresh, stale}
    assert queries.alive_sibling_ids(engine, me, SCHED, 30, now=now + timedelta(seconds=2)) == set()
    assert queries.alive_sibling_ids(engine, other_type, "TriggererJob", 30, now=now) == set()


def test_fresh_registration_is_alive_on_the_database_clock(engine: Engine) -> None:
    a, b = job(engine, 1), job(engine, 2)
    assert queries.alive_sibling_ids(engine, a, SCHED, 30) == {b}
    queries.heartbeat(engine, b)
    assert queries.alive_sibling_ids(engine, a, SCHED, 30) == {b}
    queries.end_job(engine, b)
    assert queries.alive_sibling_ids(engine, a, SCHED, 30) == set()
    now = queries.db_now(engine)
    assert now.tzinfo is not None
    [row] = [j for j in queries.list_jobs(engine) if j.id == b]
    assert row.state == "success" and row.end_date is not None


def test_heartbeat_on_ended_or_missing_job_raises(engine: Engine) -> None:
    me = job(engine)
    queries.heartbeat(engine, me)
    queries.end_job(engine, me, state="failed")
    with pytest.raises(queries.JobEndedError):
        queries.heartbeat(engine, me)
    with pytest.raises(queries.JobEndedError):
        queries.heartbeat(engine, 999_999)


def test_dead_job_ids_with_work(engine: Engine) -> None:
    now = datetime.now(UTC)
    live, dead, idle_dead = job(engine, 1), job(engine, 2), job(engine, 3)
    queries.insert_tasks(engine, tasks(4), "ns")
    assert len(queries.claim_queued_tasks(engine, live, 2, pod_name)) == 2
    assert len(queries.claim_queued_tasks(engine, dead, 2, pod_name)) == 2
    queries.heartbeat(engine, live, now=now)
    queries.heartbeat(engine, dead, now=now - timedelta(seconds=100))
    queries.heartbeat(engine, idle_dead, now=now - timedelta(seconds=100))
    assert queries.dead_job_ids_with_work(engine, SCHED, 30, now=now) == {dead}
    queries.end_job(engine, live)
    assert queries.dead_job_ids_with_work(engine, SCHED, 30, now=now) == {live, dead}


# --------------------------------------------------------------------------- takeover


def test_take_over_race_has_exactly_one_winner_per_task(db_url: str, engine: Engine) -> None:
    dead, a, b = job(engine, 1), job(engine, 2), job(engine, 3)
    ids = queries.insert_tasks(engine, tasks(100), "ns")
    claimed = queries.claim_queued_tasks(engine, dead, 100, pod_name)
    queries.record_attempt_launched(engine, claimed[0].task_id, 1, "uid-0")
    queries.end_job(engine, dead, state="failed")
    survivors = [a, b]
    engines = [make_engine(db_url) for _ in survivors]
    try:
        won = run_parallel(2, lambda i: queries.take_over_tasks(engines[i], dead, survivors[i]))
    finally:
        for e in engines:
            e.dispose()
    won_ids = [[c.task_id for c in w] for w in won]
    assert sorted(won_ids[0] + won_ids[1]) == sorted(ids)
    assert not set(won_ids[0]) & set(won_ids[1])
    by_id = {c.task_id: c for w in won for c in w}
    assert by_id[claimed[0].task_id].pod_uid == "uid-0"
    assert all(c.pod_name == pod_name(c.name, c.task_id, 1) and c.try_number == 1 for c in by_id.values())
    for owner, w in zip(survivors, won, strict=True):
        assert {c.task_id for c in running_attempts(engine, owner)} == {c.task_id for c in w}
        assert all(c.owner_id == owner for c in w)
    assert running_attempts(engine, dead) == []
    assert queries.take_over_tasks(engine, dead, a) == []
    assert queries.dead_job_ids_with_work(engine, SCHED, 30) == set()
    with engine.connect() as conn:
        attempt_owners = dict(conn.execute(select(TaskAttempt.task_id, TaskAttempt.owner_id)).all())
    assert all(attempt_owners[c.task_id] == c.owner_id for c in by_id.values())


def test_running_attempts_and_summary(engine: Engine) -> None:
    owner = job(engine)
    queries.insert_tasks(engine, tasks(3), "ns")
    [c1, c2] = queries.claim_queued_tasks(engine, owner, 2, pod_name)
    queries.record_result(engine, c1.task_id, 1, "success", 0, None, owner)
    [running] = running_attempts(engine, owner)
    assert running.task_id == c2.task_id and running.attempt_started_at is not None
    summary = task_summary(engine)
    assert summary == {
        "total": 3,
        "by_state": {"queued": 1, "running": 1, "success": 1, "failed": 0},
        "running_by_owner": {owner: 1},
    }
    assert [t.state for t in queries.list_tasks(engine, states=("running",))] == ["running"]
    assert get_attempt(engine, c1.task_id, 1).state == "success"  # type: ignore[union-attr]
    assert get_attempt(engine, c1.task_id, 2) is None


def test_sqlite_path_with_a_tilde_is_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    open_database("sqlite:///~/podherd/p.db").dispose()
    assert (tmp_path / "home" / "podherd" / "p.db").stat().st_size > 0  # the schema went there
    assert not (tmp_path / "~").exists()
