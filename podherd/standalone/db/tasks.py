"""Tasks in, tasks claimed, tasks taken over — each a short, conditional transaction.

Exactly-once claims rest on one rule: every ownership change is an UPDATE whose
WHERE clause restates the expected current state (``state = 'queued'`` for a claim,
``owner_id = <dead>`` for a takeover). On PostgreSQL the candidate rows are locked
first (``FOR UPDATE SKIP LOCKED`` for claims, so claimers split the queue instead of
queueing behind each other; ordered ``FOR UPDATE`` for takeovers, so the loser waits,
re-checks and finds nothing). On SQLite writes hold the database write lock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, bindparam, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from podherd.standalone.db.models import ATTEMPT_TERMINAL, AttemptState, Task, TaskAttempt, TaskState, utcnow
from podherd.standalone.db.rows import ClaimedTask, task_spec, task_values
from podherd.standalone.db.tx import write_tx
from podherd.standalone.taskfile import TaskDef

PodNameFn = Callable[[str, int, int], str]
"""``pod_name_fn(task_name, task_id, try_number) -> pod name`` (deterministic)."""

_CHUNK = 500  # ids per IN (...) list: far below every backend's parameter limit


def insert_tasks(engine: Engine, taskdefs: Sequence[TaskDef], default_namespace: str) -> list[int]:
    """Queue tasks in one transaction (all or nothing); returns their ids in input order."""
    if not taskdefs:
        return []
    now = utcnow()
    new = {"state": TaskState.QUEUED, "try_number": 0, "owner_id": None, "created_at": now, "queued_at": now}
    rows = [{**task_values(t, default_namespace), **new, "updated_at": now} for t in taskdefs]
    with write_tx(engine) as conn:
        stmt = insert(Task).returning(Task.id, sort_by_parameter_order=True)
        return [int(task_id) for task_id in conn.execute(stmt, rows).scalars()]


# The claim's statements are built once with bound parameters (SQLAlchemy compiles each once per
# dialect): the claim runs every loop that has a free slot.
_ORDER = (Task.priority.desc(), Task.queued_at, Task.id)
_PICK = select(Task.id).where(Task.state == TaskState.QUEUED).order_by(*_ORDER).limit(bindparam("p_limit"))
_PICK_AMONG = _PICK.where(Task.id.in_(bindparam("p_among", expanding=True)))
_PICKS = {  # (restricted to some ids, PostgreSQL) -> statement; PostgreSQL locks and skips locked rows
    (False, False): _PICK,
    (True, False): _PICK_AMONG,
    (False, True): _PICK.with_for_update(skip_locked=True),
    (True, True): _PICK_AMONG.with_for_update(skip_locked=True),
}
_CLAIM = (
    update(Task)
    .where(Task.id.in_(bindparam("p_ids", expanding=True)), Task.state == TaskState.QUEUED)
    .values(
        state=TaskState.RUNNING,
        owner_id=bindparam("p_owner"),
        try_number=Task.try_number + 1,
        started_at=func.coalesce(Task.started_at, bindparam("p_now")),
        updated_at=bindparam("p_now"),
    )
    .returning(*Task.__table__.c)
)
_NEW_ATTEMPTS = insert(TaskAttempt)


def claim_queued_tasks(
    engine: Engine, owner_id: int, limit: int, pod_name_fn: PodNameFn, only_ids: Collection[int] | None = None
) -> list[ClaimedTask]:
    """Atomically take up to ``limit`` queued tasks (highest priority, oldest first).

    ``only_ids`` restricts the claim to those tasks (``podherd run`` runs just its file).

    Each becomes ``running`` with ``owner_id`` and ``try_number + 1``, and gets its
    attempt row (state ``launching``, deterministic ``pod_name``) in the same
    transaction. Concurrent claimers never receive the same task.
    """
    if limit <= 0:
        return []
    with write_tx(engine) as conn:
        now = utcnow()
        # Two statements on purpose: as a subquery of the UPDATE, PostgreSQL may rescan
        # the LIMITed SKIP LOCKED select and so claim more than ``limit`` rows.
        ids = _pick_queued(conn, limit, only_ids)
        if not ids:
            return []
        rows = conn.execute(_CLAIM, {"p_ids": ids, "p_owner": owner_id, "p_now": now})
        tasks = sorted(rows, key=lambda r: (-r.priority, r.queued_at, r.id))
        if not tasks:
            return []
        names = [pod_name_fn(t.name, t.id, t.try_number) for t in tasks]
        conn.execute(
            _NEW_ATTEMPTS, [_new_attempt(t, name, owner_id, now) for t, name in zip(tasks, names, strict=True)]
        )
        return [
            _claimed(t, owner_id, name, AttemptState.LAUNCHING, None, now) for t, name in zip(tasks, names, strict=True)
        ]


def _pick_queued(conn: Connection, limit: int, only_ids: Collection[int] | None) -> list[int]:
    """Up to ``limit`` queued task ids, highest priority and oldest first; on PostgreSQL locked, skipping locked rows."""
    pick = _PICKS[(only_ids is not None, conn.dialect.name == "postgresql")]
    params: dict[str, Any] = {"p_limit": limit}
    if only_ids is not None:
        params["p_among"] = list(only_ids)
    return list(conn.execute(pick, params).scalars())


def _new_attempt(task: Row[Any], pod_name: str, owner_id: int, now: datetime) -> dict[str, Any]:
    """The attempt row of a task's new try: ``launching`` until its pod is known to exist."""
    return {
        "task_id": task.id,
        "try_number": task.try_number,
        "pod_name": pod_name,
        "namespace": task.namespace,
        "owner_id": owner_id,
        "state": AttemptState.LAUNCHING,
        "started_at": now,
    }


def take_over_tasks(engine: Engine, dead_owner_id: int, new_owner_id: int) -> list[ClaimedTask]:
    """Move a dead replica's running tasks to ``new_owner_id``; exactly one survivor wins each.

    Returns the tasks won, with their current attempt (whose pod the new owner must
    now claim and follow, or relaunch under the same name if it was never created).
    """
    with write_tx(engine) as conn:
        still_dead_owned = and_(Task.owner_id == dead_owner_id, Task.state == TaskState.RUNNING)
        lock = select(Task.id).where(still_dead_owned).order_by(Task.id)
        if conn.dialect.name == "postgresql":
            lock = lock.with_for_update()
        won: list[int] = []
        for chunk in _chunks(list(conn.execute(lock).scalars())):
            stmt = (
                update(Task)
                .where(Task.id.in_(chunk), still_dead_owned)
                .values(owner_id=new_owner_id, updated_at=utcnow())
                .returning(Task.id)
            )
            won.extend(int(task_id) for task_id in conn.execute(stmt).scalars())
        won.sort()
        for chunk in _chunks(won):
            conn.execute(
                update(TaskAttempt)
                .where(TaskAttempt.task_id.in_(chunk), TaskAttempt.state.not_in(ATTEMPT_TERMINAL))
                .values(owner_id=new_owner_id)
            )
        return [c for chunk in _chunks(won) for c in claimed_where(conn, Task.id.in_(chunk))]


def claimed_where(conn: Connection, where: ColumnElement[bool]) -> list[ClaimedTask]:
    """The tasks matching `where`, each with its current attempt (the one at its try number)."""
    stmt = (
        select(
            *Task.__table__.c,
            TaskAttempt.pod_name,
            TaskAttempt.state.label("attempt_state"),
            TaskAttempt.pod_uid,
            TaskAttempt.started_at.label("attempt_started_at"),
        )
        .join(TaskAttempt, and_(TaskAttempt.task_id == Task.id, TaskAttempt.try_number == Task.try_number))
        .where(where)
        .order_by(Task.id)
    )
    return [
        _claimed(r, r.owner_id, r.pod_name, r.attempt_state, r.pod_uid, r.attempt_started_at)
        for r in conn.execute(stmt)
    ]


def _claimed(
    t: Row[Any], owner_id: int, pod_name: str, attempt_state: str, pod_uid: str | None, started: Any
) -> ClaimedTask:
    return ClaimedTask(
        task_id=t.id,
        spec=task_spec(t),
        try_number=t.try_number,
        pod_name=pod_name,
        owner_id=owner_id,
        attempt_state=attempt_state,
        pod_uid=pod_uid,
        attempt_started_at=started,
    )


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
