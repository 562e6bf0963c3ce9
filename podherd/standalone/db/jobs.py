"""The replica registry: register, heartbeat, end, and who is alive.

*Alive* (DESIGN §3): ``state == 'running'`` and the latest heartbeat is newer than
the threshold. Heartbeats and the check use the same clock (:func:`podherd.standalone.db.tx.now_sql`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from podherd.standalone.db.models import Job, JobState, Task, TaskState, utcnow
from podherd.standalone.db.rows import JobRow, row_of
from podherd.standalone.db.tx import cutoff_sql, now_sql, read_tx, write_tx

SCHEDULER_JOB = "SchedulerJob"


class JobEndedError(RuntimeError):
    """The job row is gone or no longer 'running': this process must stop acting as it."""


def register_job(engine: Engine, job_type: str, hostname: str, pid: int | None) -> int:
    """Insert a running job row with a fresh heartbeat; returns its id (the replica id)."""
    with write_tx(engine) as conn:
        now = now_sql(conn)
        stmt = insert(Job).values(
            job_type=job_type,
            state=JobState.RUNNING,
            hostname=hostname,
            pid=pid,
            start_date=now,
            latest_heartbeat=now,
        )
        return int(conn.execute(stmt.returning(Job.id)).scalar_one())


def heartbeat(engine: Engine, job_id: int, now: datetime | None = None, readiness: str | None = None) -> None:
    """Stamp ``latest_heartbeat`` (and the replica's readiness, when given); raises
    :class:`JobEndedError` if the job was ended.

    Never revives an ended job: once someone marked it ended (or it vanished), its
    work may already be taken over, and the process must not keep acting on it.
    """
    values: dict[str, object] = {}
    if readiness is not None:
        values["readiness"] = readiness[:500]
    with write_tx(engine) as conn:
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.RUNNING)
            .values(latest_heartbeat=now_sql(conn, now), **values)
        )
        if conn.execute(stmt).rowcount != 1:
            raise JobEndedError(f"job {job_id} is no longer running")


def end_job(engine: Engine, job_id: int, state: str = JobState.SUCCESS) -> None:
    """Mark the job ended (clean shutdown): siblings see it dead at once, no threshold wait."""
    with write_tx(engine) as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(state=state, end_date=utcnow()))


def _alive(conn: Connection, threshold_seconds: float, now: datetime | None) -> ColumnElement[bool]:
    return and_(Job.state == JobState.RUNNING, Job.latest_heartbeat > cutoff_sql(conn, threshold_seconds, now))


def alive_sibling_ids(
    engine: Engine, self_id: int, job_type: str, threshold_seconds: float, now: datetime | None = None
) -> set[int]:
    """Ids of the *other* alive jobs of ``job_type``, in a transaction of its own.

    Raises on database errors: callers must then skip work that depends on the
    answer (DESIGN §4.7), never assume "nobody else is alive".
    """
    with read_tx(engine) as conn:
        stmt = select(Job.id).where(Job.job_type == job_type, Job.id != self_id, _alive(conn, threshold_seconds, now))
        return set(conn.execute(stmt).scalars())


def dead_job_ids_with_work(
    engine: Engine, job_type: str, threshold_seconds: float, now: datetime | None = None
) -> set[int]:
    """Owners that are not alive but still own running tasks (or owned queued ones).

    An owner id with no job row at all counts as dead.
    """
    with read_tx(engine) as conn:
        has_work = or_(
            Task.state == TaskState.RUNNING, and_(Task.state == TaskState.QUEUED, Task.owner_id.is_not(None))
        )
        stmt = (
            select(Task.owner_id)
            .distinct()
            .join(Job, Job.id == Task.owner_id, isouter=True)
            .where(has_work, Task.owner_id.is_not(None))
            .where(
                or_(
                    Job.id.is_(None),
                    and_(
                        Job.job_type == job_type,
                        or_(
                            Job.state != JobState.RUNNING,
                            Job.latest_heartbeat <= cutoff_sql(conn, threshold_seconds, now),
                        ),
                    ),
                )
            )
        )
        return {int(owner) for owner in conn.execute(stmt).scalars()}


def list_jobs(engine: Engine, job_type: str | None = None) -> list[JobRow]:
    """All job rows (newest first), for ``podherd status``."""
    with read_tx(engine) as conn:
        stmt = select(Job).order_by(Job.id.desc())
        if job_type is not None:
            stmt = stmt.where(Job.job_type == job_type)
        return [row_of(JobRow, row) for row in conn.execute(stmt)]
