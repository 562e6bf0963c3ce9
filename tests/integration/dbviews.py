"""Read-only views of the metadata database that only tests need (the scheduler never reads these)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, func, select

from podherd.standalone.db.models import Task, TaskAttempt, TaskState
from podherd.standalone.db.results import attempt_row
from podherd.standalone.db.rows import AttemptRow, ClaimedTask
from podherd.standalone.db.tasks import claimed_where
from podherd.standalone.db.tx import read_tx


def running_attempts(engine: Engine, owner_id: int) -> list[ClaimedTask]:
    """The running tasks ``owner_id`` owns, with their current attempts."""
    with read_tx(engine) as conn:
        return claimed_where(conn, and_(Task.owner_id == owner_id, Task.state == TaskState.RUNNING))


def get_attempt(engine: Engine, task_id: int, try_number: int) -> AttemptRow | None:
    """One attempt, or None."""
    with read_tx(engine) as conn:
        where = (TaskAttempt.task_id == task_id) & (TaskAttempt.try_number == try_number)
        row = conn.execute(select(TaskAttempt).where(where)).one_or_none()
        return attempt_row(row) if row is not None else None


def task_summary(engine: Engine) -> dict[str, Any]:
    """``{"total", "by_state", "running_by_owner"}`` in one read transaction."""
    with read_tx(engine) as conn:
        by_state = dict.fromkeys(tuple(TaskState), 0)
        for state, n in conn.execute(select(Task.state, func.count()).group_by(Task.state)):
            by_state[state] = int(n)
        owners = conn.execute(
            select(Task.owner_id, func.count()).where(Task.state == TaskState.RUNNING).group_by(Task.owner_id)
        )
        running_by_owner = {int(owner): int(n) for owner, n in owners if owner is not None}
    return {"total": sum(by_state.values()), "by_state": by_state, "running_by_owner": running_by_owner}
