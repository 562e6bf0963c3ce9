"""Read-only views for ``podherd status`` and metrics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Engine, func, select

from podherd.standalone.db.models import Task, TaskAttempt, TaskState
from podherd.standalone.db.results import attempt_row
from podherd.standalone.db.rows import AttemptRow, TaskRow, row_of
from podherd.standalone.db.tx import read_tx


def count_tasks_by_state(engine: Engine) -> dict[str, int]:
    """Task counts for every state (zeros included, so dashboards keep their series)."""
    with read_tx(engine) as conn:
        counts = dict.fromkeys(tuple(TaskState), 0)
        for state, n in conn.execute(select(Task.state, func.count()).group_by(Task.state)):
            counts[state] = int(n)
        return counts


def count_states_of(engine: Engine, ids: Collection[int]) -> dict[str, int]:
    """Task counts by state among ``ids`` only (cheap progress for ``podherd run``)."""
    counts = dict.fromkeys(tuple(TaskState), 0)
    id_list = list(ids)
    with read_tx(engine) as conn:
        for start in range(0, len(id_list), 500):
            chunk = id_list[start : start + 500]
            stmt = select(Task.state, func.count()).where(Task.id.in_(chunk)).group_by(Task.state)
            for state, n in conn.execute(stmt):
                counts[state] += int(n)
    return counts


def list_tasks(engine: Engine, states: tuple[str, ...] | None = None) -> list[TaskRow]:
    """Tasks (by id) with their attempts, optionally only those in ``states``."""
    with read_tx(engine) as conn:
        stmt = select(Task).order_by(Task.id)
        attempts_stmt = select(TaskAttempt).order_by(TaskAttempt.task_id, TaskAttempt.try_number)
        if states is not None:
            stmt = stmt.where(Task.state.in_(states))
            attempts_stmt = attempts_stmt.join(Task, Task.id == TaskAttempt.task_id).where(Task.state.in_(states))
        tasks = conn.execute(stmt).all()
        attempts: dict[int, list[AttemptRow]] = defaultdict(list)
        for row in conn.execute(attempts_stmt):
            attempts[row.task_id].append(attempt_row(row))
    return [task_row(t, attempts.get(t.id, ())) for t in tasks]


def task_row(t: Any, attempts: Iterable[AttemptRow]) -> TaskRow:
    """A :class:`TaskRow` from a ``task`` result row and its attempts (oldest first)."""
    return row_of(TaskRow, t, attempts=tuple(attempts))


def recent_tasks(engine: Engine, limit: int) -> list[TaskRow]:
    """The ``limit`` newest tasks (0: all) with their attempts, oldest first.

    Unlike :func:`list_tasks` it reads only those tasks: ``podherd status`` must stay cheap on a
    database of millions.
    """
    with read_tx(engine) as conn:
        stmt = select(Task).order_by(Task.id.desc())
        if limit:
            stmt = stmt.limit(limit)
        rows = list(reversed(conn.execute(stmt).all()))
        attempts: dict[int, list[AttemptRow]] = {r.id: [] for r in rows}
        ids = list(attempts)
        for start in range(0, len(ids), 500):
            q = (
                select(TaskAttempt)
                .where(TaskAttempt.task_id.in_(ids[start : start + 500]))
                .order_by(TaskAttempt.task_id, TaskAttempt.try_number)
            )
            for a in conn.execute(q):
                attempts[a.task_id].append(attempt_row(a))
    return [task_row(t, attempts[t.id]) for t in rows]


def task_namespaces(engine: Engine) -> set[str]:
    """Every namespace some task runs in."""
    with read_tx(engine) as conn:
        return set(conn.execute(select(Task.namespace).distinct()).scalars())
