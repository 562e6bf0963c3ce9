"""Airflow's metadata database, as the executor reads and writes it: the `job` and `task_instance` tables.

Every call opens its own non-scoped session (`create_session(scoped=False)`), never the
scheduler's: the provider's #67813 shows what a scoped session inside the scheduler's transaction
does (it commits early and drops the row locks of `adopt_or_reset_orphaned_tasks`). Writes are
conditional, like Airflow's own adoption: `take_over` locks the dead scheduler's rows with
`SKIP LOCKED` (a scheduler adopting them at the same moment keeps them) and its UPDATE restates the
owner, try and state it read, so each task instance goes to exactly one survivor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, false, or_, select, update

from podherd.airflow.keys import TIKey
from podherd.airflow.manifests import TaskRun
from podherd.airflow.store import TI, UNFINISHED, TIRow

log = logging.getLogger("podherd.airflow")

CHUNK = 500  # task instances per query (bounded IN lists)


class _TIId(NamedTuple):  # what TaskInstance.filter_for_tis reads
    dag_id: str
    task_id: str
    run_id: str
    map_index: int


def state_text(state: Any) -> str | None:
    """A state column's value as text (Airflow's states are `str` enums, whose `str()` is not the value)."""
    if state is None:
        return None
    return str(getattr(state, "value", state))


def alive_scheduler_ids(threshold: float) -> set[int]:
    """SchedulerJob rows that are running with a heartbeat newer than `threshold` seconds (the seed's "alive")."""
    from airflow.jobs.job import Job, JobState
    from airflow.utils.session import create_session

    cutoff = datetime.now(UTC) - timedelta(seconds=threshold)
    with create_session(scoped=False) as session:
        query = select(Job.id).where(
            Job.job_type == "SchedulerJob", Job.state == JobState.RUNNING, Job.latest_heartbeat >= cutoff
        )
        return {int(i) for i in session.scalars(query)}


class ExecutorTasks:
    """Which task instances are this executor's: `task_instance.executor` names it (alias, module path or
    class name), or is NULL and this executor is the default one (the first configured)."""

    def __init__(self, names: Iterable[str], default: bool) -> None:
        self.names = sorted({n for n in names if n})
        self.default = default

    def clause(self) -> Any:
        from airflow.models.taskinstance import TaskInstance as TIModel

        mine = TIModel.executor.in_(self.names) if self.names else false()
        return or_(mine, TIModel.executor.is_(None)) if self.default else mine


class AirflowTaskInstances:
    """The `TaskInstances` port (store.py) over Airflow's ORM."""

    def __init__(self, tasks: ExecutorTasks, threshold: float, make_run: Callable[[Any], TaskRun]) -> None:
        """`make_run(ti)`: a fresh workload for an ORM task instance (a new token), as a `TaskRun`."""
        self.tasks = tasks
        self.threshold = threshold
        self.make_run = make_run

    def rows(self, tis: Sequence[TI]) -> dict[TI, TIRow]:
        from airflow.models.taskinstance import TaskInstance as TIModel
        from airflow.utils.session import create_session

        out: dict[TI, TIRow] = {}
        columns = (
            TIModel.dag_id,
            TIModel.task_id,
            TIModel.run_id,
            TIModel.map_index,
            TIModel.try_number,
            TIModel.external_executor_id,
            TIModel.state,
            TIModel.queued_by_job_id,
        )
        with create_session(scoped=False) as session:
            for start in range(0, len(tis), CHUNK):
                where = TIModel.filter_for_tis([_TIId(*ti) for ti in tis[start : start + CHUNK]])
                if where is None:
                    continue
                for dag_id, task_id, run_id, map_index, try_number, queue_id, state, owner in session.execute(
                    select(*columns).where(where)
                ):
                    key = TIKey(dag_id, task_id, run_id, map_index, try_number or 0, queue_id or "")
                    out[key.ti] = TIRow(key, state_text(state), owner)
        return out

    def owners_with_work(self) -> set[int]:
        from airflow.jobs.job import Job, JobState
        from airflow.models.dagrun import DagRun
        from airflow.models.taskinstance import TaskInstance as TIModel
        from airflow.utils.session import create_session
        from airflow.utils.state import DagRunState

        cutoff = datetime.now(UTC) - timedelta(seconds=self.threshold)
        query = (
            select(TIModel.queued_by_job_id)
            .distinct()
            .join(DagRun, and_(DagRun.dag_id == TIModel.dag_id, DagRun.run_id == TIModel.run_id))
            .outerjoin(Job, Job.id == TIModel.queued_by_job_id)
            .where(
                TIModel.state.in_(sorted(UNFINISHED)),
                TIModel.queued_by_job_id.is_not(None),
                DagRun.state == DagRunState.RUNNING,
                self.tasks.clause(),
                or_(Job.id.is_(None), Job.state != JobState.RUNNING, Job.latest_heartbeat < cutoff),
            )
        )
        with create_session(scoped=False) as session:
            return {int(i) for i in session.scalars(query)}

    def take_over(self, dead: int, me: int) -> list[TaskRun]:
        """The dead scheduler's unfinished task instances of this executor in running DAG runs, made `me`'s."""
        from airflow.models.dagrun import DagRun
        from airflow.models.taskinstance import TaskInstance as TIModel
        from airflow.utils.session import create_session
        from airflow.utils.sqlalchemy import with_row_locks
        from airflow.utils.state import DagRunState

        query = (
            select(TIModel)
            .join(TIModel.dag_run)
            .where(
                TIModel.queued_by_job_id == dead,
                TIModel.state.in_(sorted(UNFINISHED)),
                DagRun.state == DagRunState.RUNNING,
                self.tasks.clause(),
            )
        )
        runs: list[TaskRun] = []
        with create_session(scoped=False) as session:
            for ti in session.scalars(with_row_locks(query, of=TIModel, session=session, skip_locked=True)).all():
                moved = session.execute(
                    update(TIModel)
                    .where(
                        TIModel.id == ti.id,
                        TIModel.queued_by_job_id == dead,
                        TIModel.try_number == ti.try_number,
                        TIModel.state == ti.state,
                    )
                    .values(queued_by_job_id=me)
                    .execution_options(synchronize_session=False)
                )
                if getattr(moved, "rowcount", 0) == 1:
                    runs.append(self.make_run(ti))
        return runs

    def claim_row(self, row: TIRow, me: int) -> bool:
        from airflow.models.taskinstance import TaskInstance as TIModel
        from airflow.utils.session import create_session

        k = row.key
        owner = TIModel.queued_by_job_id.is_(None) if row.owner is None else TIModel.queued_by_job_id == row.owner
        queue = (
            or_(TIModel.external_executor_id.is_(None), TIModel.external_executor_id == "")
            if not k.queue_id
            else TIModel.external_executor_id == k.queue_id
        )
        statement = (
            update(TIModel)
            .where(
                TIModel.dag_id == k.dag_id,
                TIModel.task_id == k.task_id,
                TIModel.run_id == k.run_id,
                TIModel.map_index == k.map_index,
                TIModel.try_number == k.try_number,
                TIModel.state == row.state,
                owner,
                queue,
            )
            .values(queued_by_job_id=me)
            .execution_options(synchronize_session=False)
        )
        with create_session(scoped=False) as session:
            return getattr(session.execute(statement), "rowcount", 0) == 1
