"""Plain, frozen results of queries: safe to pass between threads and to keep."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ClaimedTask:
    """A task this replica now owns, with its current attempt: all a pod needs."""

    task_id: int
    name: str
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    env: Mapping[str, str]
    resources: Mapping[str, Any]
    namespace: str
    annotations: Mapping[str, str]
    labels: Mapping[str, str]
    pod_overrides: Mapping[str, Any]
    priority: int
    max_tries: int
    timeout_seconds: float | None
    try_number: int
    pod_name: str
    owner_id: int
    attempt_state: str = "launching"
    pod_uid: str | None = None
    attempt_started_at: datetime | None = None


@dataclass(frozen=True)
class AttemptRow:
    """One attempt, as ``podherd status`` shows it."""

    try_number: int
    pod_name: str
    pod_uid: str | None
    namespace: str
    owner_id: int | None
    state: str
    exit_code: int | None
    failure: Mapping[str, Any] | None
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class TaskRow:
    """One task with all its attempts (oldest first)."""

    id: int
    name: str
    image: str
    namespace: str
    state: str
    try_number: int
    max_tries: int
    priority: int
    owner_id: int | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    attempts: tuple[AttemptRow, ...] = field(default=())


@dataclass(frozen=True)
class JobRow:
    """A replica's registry row."""

    id: int
    job_type: str
    state: str
    hostname: str
    pid: int | None
    start_date: datetime
    end_date: datetime | None
    latest_heartbeat: datetime
    readiness: str | None = None  # "" ready, else why it claims nothing; None: never reported
