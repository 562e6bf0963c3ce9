"""Plain, frozen results of queries (safe to pass between threads and to keep), and the one task-field mapping.

`TASK_COLUMNS` is the only place that says which `task` column holds which field of a task
file's task (`TaskDef`): inserting (`task_values`) and reading back (`task_spec`) both use it,
and so every later step (claims, takeovers, the pod request) works on a `TaskDef`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from podherd.standalone.db.models import AttemptState
from podherd.standalone.taskfile import TaskDef

R = TypeVar("R")

# TaskDef field -> `task` column.
TASK_COLUMNS: Mapping[str, str] = {
    "name": "name",
    "image": "image",
    "command": "command",
    "args": "args",
    "env": "env",
    "resources": "resources",
    "namespace": "namespace",
    "max_tries": "max_tries",
    "timeout": "timeout_seconds",
    "priority": "priority",
    "annotations": "annotations",
    "labels": "labels",
    "pod_overrides": "pod_overrides",
}


def _json(value: Any) -> Any:
    """Stored as JSON: mappings become dicts and tuples lists, all the way down."""
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _field(value: Any) -> Any:
    """Read back: a list is a tuple again (command, args), a mapping a fresh dict."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def task_values(task: TaskDef, default_namespace: str) -> dict[str, Any]:
    """The `task` columns of a task file's task (the configured namespace when it names none)."""
    values = {column: _json(getattr(task, name)) for name, column in TASK_COLUMNS.items()}
    values["namespace"] = task.namespace or default_namespace
    return values


def task_spec(row: Any) -> TaskDef:
    """The task file's task back from a `task` row."""
    return TaskDef(**{name: _field(getattr(row, column)) for name, column in TASK_COLUMNS.items()})


def row_of(kind: type[R], row: Any, **given: Any) -> R:
    """A frozen row dataclass from a result row: each field from the column of the same name, unless `given`."""
    names = [f.name for f in fields(kind)]  # type: ignore[arg-type]
    return kind(**{n: given[n] if n in given else getattr(row, n) for n in names})


@dataclass(frozen=True)
class ClaimedTask:
    """A task this replica now owns, with its current attempt: all a pod needs."""

    task_id: int
    spec: TaskDef  # its namespace is always set (the default was applied at insert)
    try_number: int
    pod_name: str
    owner_id: int
    attempt_state: str = AttemptState.LAUNCHING
    pod_uid: str | None = None
    attempt_started_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def namespace(self) -> str:
        return self.spec.namespace or ""


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
