"""Tables: ``job`` (replica registry + heartbeats), ``task`` and ``task_attempt``.

The schema is owned by the Alembic migrations in ``podherd/standalone/db/migrations``; these
models must match them (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class JobState(StrEnum):
    """A job row's state (the anchor's values for the ones it shares)."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class TaskState(StrEnum):
    """``queued``: waiting for a claim; ``running``: owned by a replica, an attempt is in flight; the rest are final."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


TASK_TERMINAL = (TaskState.SUCCESS, TaskState.FAILED)


class AttemptState(StrEnum):
    """``launching`` (row committed, pod maybe not created yet), ``pending``/``running`` (pod exists), then final."""

    LAUNCHING = "launching"
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


ATTEMPT_TERMINAL = (AttemptState.SUCCESS, AttemptState.FAILED)


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp podherd writes is UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    SQLite has no time zones: values are stored as naive UTC text, which also keeps
    ``<``/``>`` comparisons in SQL correct. PostgreSQL gets ``timestamptz``. Naive
    input is taken to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Job(Base):
    """One scheduler replica (or other long-running podherd process) and its heartbeat."""

    __tablename__ = "job"
    __table_args__ = (Index("idx_job_type_heartbeat", "job_type", "latest_heartbeat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_type: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20), default=JobState.RUNNING)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[datetime]
    end_date: Mapped[datetime | None]
    latest_heartbeat: Mapped[datetime]
    readiness: Mapped[str | None] = mapped_column(String(500))  # "" ready; else why it claims nothing


class Task(Base):
    """A unit of work from a task file; ``try_number`` counts attempts started."""

    __tablename__ = "task"
    # The claim's order (state, priority highest first, then age): see migration 0003.
    __table_args__ = (Index("idx_task_claim_order", "state", text("priority DESC"), "queued_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    image: Mapped[str] = mapped_column(String(1000))
    command: Mapped[list[str]]
    args: Mapped[list[str]]
    env: Mapped[dict[str, Any]]
    resources: Mapped[dict[str, Any]]
    namespace: Mapped[str] = mapped_column(String(63))
    annotations: Mapped[dict[str, Any]]
    labels: Mapped[dict[str, Any]]
    pod_overrides: Mapped[dict[str, Any]]
    priority: Mapped[int] = mapped_column(Integer, default=0)
    max_tries: Mapped[int] = mapped_column(Integer, default=1)
    timeout_seconds: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(20), default=TaskState.QUEUED)
    try_number: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime]
    queued_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class TaskAttempt(Base):
    """One try of a task = one pod (deterministic name, so a retried create is harmless)."""

    __tablename__ = "task_attempt"
    __table_args__ = (UniqueConstraint("task_id", "try_number", name="uq_task_attempt_try"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    try_number: Mapped[int] = mapped_column(Integer)
    pod_name: Mapped[str] = mapped_column(String(253))
    pod_uid: Mapped[str | None] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(63))
    owner_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default=AttemptState.LAUNCHING)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
