"""Attempt progress and results — idempotent, so owner and sweeper may both report.

Lock order is task row, then attempt row, everywhere (claims and takeovers touch
tasks first too), so concurrent writers on PostgreSQL cannot deadlock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
    Integer,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    null,
    select,
    update,
)

from podherd.core.ports import MissingPod
from podherd.standalone.db.models import ATTEMPT_TERMINAL, AttemptState, Task, TaskAttempt, TaskState, utcnow
from podherd.standalone.db.rows import AttemptRow, row_of
from podherd.standalone.db.tx import write_tx

UNCHANGED = "unchanged"
# Non-terminal states an attempt may move to, and from which states (never backwards).
_PROGRESS_FROM = {
    AttemptState.PENDING: (AttemptState.LAUNCHING, AttemptState.PENDING),
    AttemptState.RUNNING: (AttemptState.LAUNCHING, AttemptState.PENDING, AttemptState.RUNNING),
}


def _attempt(task_id: int, try_number: int) -> Any:
    return (TaskAttempt.task_id == task_id) & (TaskAttempt.try_number == try_number)


# The hot writes are built once, with bound parameters: SQLAlchemy then compiles each once per
# dialect and every call only binds values (4x less CPU per statement than building it anew).
_THIS_ATTEMPT = and_(TaskAttempt.task_id == bindparam("p_task_id"), TaskAttempt.try_number == bindparam("p_try_number"))
_LIVE = and_(TaskAttempt.state != AttemptState.SUCCESS, TaskAttempt.state != AttemptState.FAILED)
_LAUNCHED = (
    update(TaskAttempt)
    .where(_THIS_ATTEMPT, _LIVE)
    .values(
        pod_uid=bindparam("p_pod_uid"),
        state=case((TaskAttempt.state == AttemptState.LAUNCHING, AttemptState.PENDING), else_=TaskAttempt.state),
    )
)
_RUNNING = (
    update(TaskAttempt)
    .where(_THIS_ATTEMPT, TaskAttempt.state.in_(_PROGRESS_FROM[AttemptState.RUNNING]))
    .values(state=AttemptState.RUNNING)
)
_ATTEMPT_RESULT = (
    update(TaskAttempt)
    .where(_THIS_ATTEMPT, _LIVE)
    .values(
        state=bindparam("p_state"),
        exit_code=bindparam("p_exit_code"),
        failure=bindparam("p_failure"),
        ended_at=bindparam("p_now"),
        owner_id=func.coalesce(bindparam("p_owner_id", type_=Integer), TaskAttempt.owner_id),
    )
)
# The task's next state in the same UPDATE that locks its row (task row first, then the attempt:
# the lock order of every writer): success; a retry (queued again, owner cleared) while tries
# remain; else failed. RETURNING tells which.
_SUCCEEDED = bindparam("p_succeeded", type_=Boolean)
_RETRY = and_(_SUCCEEDED.is_(False), Task.try_number < Task.max_tries)
_TASK_RESULT = (
    update(Task)
    .where(
        Task.id == bindparam("p_task_id"), Task.state == TaskState.RUNNING, Task.try_number == bindparam("p_try_number")
    )
    .values(
        state=case(
            (_SUCCEEDED.is_(True), literal(TaskState.SUCCESS.value)),
            (_RETRY, literal(TaskState.QUEUED.value)),
            else_=literal(TaskState.FAILED.value),
        ),
        owner_id=case((_RETRY, null()), else_=Task.owner_id),
        queued_at=case((_RETRY, bindparam("p_now")), else_=Task.queued_at),
        ended_at=case((_RETRY, Task.ended_at), else_=bindparam("p_now")),
        updated_at=bindparam("p_now"),
    )
    .returning(Task.state)
)


def record_attempt_launched(engine: Engine, task_id: int, try_number: int, pod_uid: str) -> bool:
    """The pod exists: remember its uid (for uid-preconditioned deletes); launching → pending."""
    with write_tx(engine) as conn:
        return launched_on(conn, task_id, try_number, pod_uid)


def launched_on(conn: Connection, task_id: int, try_number: int, pod_uid: str) -> bool:
    """`record_attempt_launched` inside the caller's transaction."""
    return (
        conn.execute(_LAUNCHED, {"p_task_id": task_id, "p_try_number": try_number, "p_pod_uid": pod_uid}).rowcount == 1
    )


def record_attempt_state(engine: Engine, task_id: int, try_number: int, state: str) -> bool:
    """Move a live attempt to ``pending``/``running``; False if it is terminal or would go back.

    Terminal states go through :func:`record_result`, which also moves the task.
    """
    if state not in _PROGRESS_FROM:
        raise ValueError(f"record_attempt_state takes pending or running, not {state!r}")
    with write_tx(engine) as conn:
        if state == AttemptState.RUNNING:
            return running_on(conn, task_id, try_number)
        stmt = (
            update(TaskAttempt)
            .where(_attempt(task_id, try_number), TaskAttempt.state.in_(_PROGRESS_FROM[state]))
            .values(state=state)
        )
        return conn.execute(stmt).rowcount == 1


def running_on(conn: Connection, task_id: int, try_number: int) -> bool:
    """The attempt's pod runs (never backwards), inside the caller's transaction."""
    return conn.execute(_RUNNING, {"p_task_id": task_id, "p_try_number": try_number}).rowcount == 1


def record_result(
    engine: Engine,
    task_id: int,
    try_number: int,
    outcome_state: str,
    exit_code: int | None,
    failure: dict[str, Any] | None,
    owner_id: int | None,
) -> str:
    """Commit an attempt's outcome and the task's next state, once.

    Returns the task's new state — ``success``; ``failed`` when no tries are left;
    ``queued`` (owner cleared) for a retry — or ``unchanged`` when the attempt was
    already terminal (someone recorded it first) or the task has moved past this
    attempt. ``owner_id`` is the replica recording it; it becomes the attempt's owner.
    """
    with write_tx(engine) as conn:
        return result_on(conn, task_id, try_number, outcome_state, exit_code, failure, owner_id)


def result_on(
    conn: Connection,
    task_id: int,
    try_number: int,
    outcome_state: str,
    exit_code: int | None,
    failure: dict[str, Any] | None,
    owner_id: int | None,
) -> str:
    """`record_result` inside the caller's transaction: two statements, task row first, then the attempt."""
    if outcome_state not in ATTEMPT_TERMINAL:
        raise ValueError(f"outcome_state must be one of {ATTEMPT_TERMINAL}, not {outcome_state!r}")
    now = utcnow()
    moved = conn.execute(
        _TASK_RESULT,
        {
            "p_task_id": task_id,
            "p_try_number": try_number,
            "p_succeeded": outcome_state == AttemptState.SUCCESS,
            "p_now": now,
        },
    ).scalar_one_or_none()
    done = conn.execute(
        _ATTEMPT_RESULT,
        {
            "p_task_id": task_id,
            "p_try_number": try_number,
            "p_state": outcome_state,
            "p_exit_code": exit_code,
            "p_failure": failure,
            "p_now": now,
            "p_owner_id": owner_id,
        },
    )
    if done.rowcount != 1 or moved is None:
        return UNCHANGED  # recorded before, or a stale attempt whose task already moved on
    return str(moved)


def attempt_row(row: Any) -> AttemptRow:
    """Build an :class:`AttemptRow` from a ``task_attempt`` result row."""
    return row_of(AttemptRow, row)


def decide_missing_pod(engine: Engine, task_id: int, try_number: int, owner_id: int) -> MissingPod:
    """What a new owner may do about an attempt whose pod it could not find (404 on its claim).

    Read at this moment, under the task row's lock, never from the snapshot the takeover
    returned: between the takeover and the 404 another survivor may have claimed the pod,
    recorded its result and deleted it. Relaunching then would run the try twice.

    ``relaunch`` only when the task is still running, ours, at this try, and its attempt is
    still ``launching`` with no pod uid: then the try was never launched. The transition stamps
    the attempt's start (its timeout counts from the relaunch).
    """
    with write_tx(engine) as conn:
        task = conn.execute(
            select(Task.state, Task.try_number, Task.owner_id).where(Task.id == task_id).with_for_update()
        ).one_or_none()
        if (
            task is None
            or task.state != TaskState.RUNNING
            or task.try_number != try_number
            or task.owner_id != owner_id
        ):
            return MissingPod.SETTLED
        relaunch = conn.execute(
            update(TaskAttempt)
            .where(
                _attempt(task_id, try_number),
                TaskAttempt.state == AttemptState.LAUNCHING,
                TaskAttempt.pod_uid.is_(None),
            )
            .values(owner_id=owner_id, started_at=utcnow())
        )
        if relaunch.rowcount == 1:
            return MissingPod.RELAUNCH
        state = conn.execute(select(TaskAttempt.state).where(_attempt(task_id, try_number))).scalar_one_or_none()
        return MissingPod.SETTLED if state is None or state in ATTEMPT_TERMINAL else MissingPod.LOST


def release_attempt(engine: Engine, task_id: int, try_number: int, owner_id: int) -> bool:
    """Hand a try back without counting it: the task is queued again at the previous try number.

    For attempts whose pod was never created (the API refused us before creating anything,
    or the replica stops before creating it). Conditional on the task still being ours, at
    this try, with a live attempt; the attempt row is removed so the same try can be claimed
    again (same deterministic pod name). Returns False if the task moved on meanwhile.
    """
    with write_tx(engine) as conn:
        return release_on(conn, task_id, try_number, owner_id)


def release_on(conn: Connection, task_id: int, try_number: int, owner_id: int) -> bool:
    """`release_attempt` inside the caller's transaction."""
    task = conn.execute(select(Task.id).where(Task.id == task_id).with_for_update()).one_or_none()
    if task is None:
        return False
    now = utcnow()
    moved = conn.execute(
        update(Task)
        .where(
            Task.id == task_id,
            Task.state == TaskState.RUNNING,
            Task.owner_id == owner_id,
            Task.try_number == try_number,
        )
        .values(state=TaskState.QUEUED, owner_id=None, try_number=try_number - 1, queued_at=now, updated_at=now)
    )
    if moved.rowcount != 1:
        return False
    conn.execute(delete(TaskAttempt).where(_attempt(task_id, try_number), TaskAttempt.state.not_in(ATTEMPT_TERMINAL)))
    return True
