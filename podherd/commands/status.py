"""`podherd status`: replicas, tasks and (with a kubeconfig) pods, for humans or as JSON.

The ``--json`` document is a stable interface (``"schema": 1``), documented in
docs/cli.md; fields are only ever added under a new schema number.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from kubernetes.client.exceptions import ApiException
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from urllib3.exceptions import HTTPError

from podherd.commands.common import (
    CONFIG_OPTION,
    CONTEXT_OPTION,
    DB_OPTION,
    check_database_url,
    check_namespace,
    config_from,
    database_url,
    fail,
    kube_client,
    open_engine,
)
from podherd.config import Config
from podherd.core.labels import LabelScheme, get_scheme
from podherd.standalone.db.models import AttemptState, JobState, TaskState
from podherd.standalone.db.rows import AttemptRow, JobRow, TaskRow
from podherd.standalone.taskfields import INT32_MAX, clip

if TYPE_CHECKING:
    from sqlalchemy import Engine

SCHEMA_VERSION = 1
ENDED_REPLICAS_SHOWN = 5


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def check_limit(value: int) -> int:
    """Option callback for ``--limit``: what a SQL LIMIT takes on every backend."""
    if not 0 <= value <= INT32_MAX:
        raise typer.BadParameter(f"must be from 0 to {INT32_MAX} (0: all), got {clip(str(value))}")
    return value


def status(
    db: str | None = DB_OPTION,
    config: Path | None = CONFIG_OPTION,
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object (schema in docs/cli.md) instead of tables."
    ),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="kubeconfig file; given (or --context, or set in the config), pods are counted too."
    ),
    context: str | None = CONTEXT_OPTION,
    namespace: str | None = typer.Option(
        None,
        "--namespace",
        callback=check_namespace,
        help="Count pods in this namespace only (default: the configured namespace and every task's namespace).",
    ),
    limit: int = typer.Option(
        20, "--limit", callback=check_limit, help="How many of the most recent tasks to list (0: all)."
    ),
) -> None:
    """Show scheduler replicas (alive or dead), tasks by state, the most recent tasks, and pods by owner.

    Exit code 0; 2 when the database cannot be read; 1 when pods were asked for but could not be listed (the rest is still printed).
    """
    cfg = config_from(config)
    check_database_url(db, cfg)
    k = cfg.kubernetes_executor
    kube = None
    if kubeconfig is not None or context or k.config_file or k.cluster_context:
        kube = kube_client(kubeconfig, context, cfg)  # before the database: a bad kubeconfig changes nothing
    missing = missing_sqlite_file(database_url(db, cfg))
    if missing is not None:
        fail(f"no podherd database at {missing} (nothing submitted or run from here yet?); pass --db URL")
    engine = open_engine(db, cfg)
    try:
        jobs, now, by_state, recent, task_namespaces = _read(engine, limit)
    finally:
        engine.dispose()

    pods: dict[str, Any] | None = None
    pods_error: str | None = None
    if kube is not None:
        namespaces = [namespace] if namespace else sorted({k.namespace, *task_namespaces})
        try:
            pods = count_pods(kube, namespaces, get_scheme(cfg.core.label_scheme))
        except (ApiException, HTTPError, OSError, ValueError) as e:  # report it, still show the rest
            pods_error = f"cannot list pods: {_kube_error(e)}"
        finally:
            kube.close()

    threshold = cfg.scheduler.scheduler_health_check_threshold
    doc = status_document(jobs, now, threshold, by_state, recent, pods)
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
    else:
        render(doc, sum(by_state.values()), cfg, Console(), pods_requested=pods is not None or pods_error is not None)
    if pods_error is not None:
        typer.echo(f"error: {pods_error}", err=True)
        raise typer.Exit(1)


def _read(engine: Engine, limit: int) -> tuple[list[JobRow], datetime, dict[str, int], list[TaskRow], set[str]]:
    from sqlalchemy.exc import SQLAlchemyError

    from podherd.standalone.db import queries

    try:
        jobs = queries.list_jobs(engine, queries.SCHEDULER_JOB)
        now = queries.db_now(engine)
        by_state = queries.count_tasks_by_state(engine)
        tasks = queries.recent_tasks(engine, limit)
        namespaces = queries.task_namespaces(engine)
    except SQLAlchemyError as e:
        fail(f"cannot read the database: {_first_line(e)}")
    return jobs, now, by_state, tasks, namespaces


def missing_sqlite_file(url: str | None) -> Path | None:
    """The SQLite file a read-only command would otherwise silently create, if it does not exist."""
    from sqlalchemy.engine import make_url

    from podherd.standalone.db.engine import default_url

    try:
        parsed = make_url(url or default_url())
    except Exception:  # a malformed URL is reported when the engine is opened
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    return None if path.exists() else path


def count_pods(kube: Any, namespaces: Iterable[str], scheme: LabelScheme) -> dict[str, Any]:
    """``{"by_owner": {owner: n}, "done": n}`` over podherd's pods (metadata only, one paged list per namespace).

    Pods labelled done are counted under ``done`` only; a pod without an owner label under ``""``.
    """
    selector = f"{scheme.executor_key}={scheme.executor_value}"
    by_owner: Counter[str] = Counter()
    done = 0
    for ns in namespaces:
        items, _rv = kube.list_pods(ns, label_selector=selector, metadata_only=True)
        for pod in items:
            labels = (pod.get("metadata") or {}).get("labels") or {}
            if labels.get(scheme.done_key) == scheme.done_value:
                done += 1
            else:
                by_owner[str(labels.get(scheme.owner_key, ""))] += 1
    return {"by_owner": dict(sorted(by_owner.items(), key=_owner_order)), "done": done}


def _owner_order(item: tuple[str, int]) -> tuple[int, int, str]:
    owner = item[0]
    return (0, int(owner), "") if owner.isdigit() else (1, 0, owner)


# --------------------------------------------------------------------------- the JSON document


def status_document(
    jobs: list[JobRow],
    now: datetime,
    threshold_seconds: float,
    by_state: dict[str, int],
    tasks: list[TaskRow],
    pods: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``--json`` object (schema 1); also what the tables are drawn from."""
    return {
        "schema": SCHEMA_VERSION,
        "replicas": [_replica(j, now, threshold_seconds) for j in jobs],
        "tasks": {
            "by_state": dict(by_state),
            "items": [_task(t) for t in sorted(tasks, key=lambda t: t.id)],
        },
        "pods": pods,
    }


def _replica(job: JobRow, now: datetime, threshold_seconds: float) -> dict[str, Any]:
    age = max(0.0, (now - job.latest_heartbeat).total_seconds())
    return {
        "id": job.id,
        "hostname": job.hostname,
        "pid": job.pid,
        "state": job.state,
        "alive": job.state == JobState.RUNNING and age < threshold_seconds,
        "ready": job.readiness == "" if job.state == JobState.RUNNING else False,
        "not_ready_reason": job.readiness or None,
        "latest_heartbeat": iso(job.latest_heartbeat),
        "heartbeat_age_seconds": round(age, 3),
    }


def _task(task: TaskRow) -> dict[str, Any]:
    return {
        "id": task.id,
        "name": task.name,
        "state": task.state,
        "try_number": task.try_number,
        "max_tries": task.max_tries,
        "owner_id": task.owner_id,
        "attempts": [_attempt(a) for a in task.attempts],
    }


def _attempt(a: AttemptRow) -> dict[str, Any]:
    return {
        "try_number": a.try_number,
        "pod_name": a.pod_name,
        "pod_uid": a.pod_uid,
        "namespace": a.namespace,
        "owner_id": a.owner_id,
        "state": a.state,
        "exit_code": a.exit_code,
        "failure": dict(a.failure) if a.failure is not None else None,
        "started_at": iso(a.started_at),
        "ended_at": iso(a.ended_at),
    }


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds and a ``Z``: ``2026-11-24T04:00:00.123456Z``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------- tables


def render(doc: dict[str, Any], total_tasks: int, cfg: Config, console: Console, pods_requested: bool) -> None:
    _render_replicas(doc["replicas"], cfg.scheduler.scheduler_health_check_threshold, console)
    _render_tasks(doc["tasks"], total_tasks, console)
    pods = doc["pods"]
    if pods is not None:
        table = Table(title="Pods by owner", title_justify="left")
        table.add_column("owner")
        table.add_column("pods", justify="right")
        for owner, n in pods["by_owner"].items():
            table.add_row(owner or "(no owner label)", str(n))
        table.add_row("[dim]done (kept, labelled done)[/dim]", str(pods["done"]))
        console.print(table)
    elif not pods_requested:
        console.print("[dim]Pods: not counted (pass --kubeconfig or --context to count them)[/dim]")


def _render_replicas(replicas: list[dict[str, Any]], threshold: float, console: Console) -> None:
    shown = [r for r in replicas if r["state"] == JobState.RUNNING]
    ended = [r for r in replicas if r["state"] != JobState.RUNNING]
    shown += ended[:ENDED_REPLICAS_SHOWN]
    table = Table(title=f"Replicas (alive: running and a heartbeat within {threshold:g}s)", title_justify="left")
    for col in ("id", "host", "pid", "state", "alive", "ready", "last heartbeat"):
        table.add_column(col)
    for r in sorted(shown, key=lambda r: -r["id"]):
        alive = "[green]alive[/green]" if r["alive"] else "[red]dead[/red]"
        table.add_row(
            str(r["id"]),
            r["hostname"],
            str(r["pid"] or ""),
            r["state"],
            alive,
            _readiness(r),
            f"{_age(r['heartbeat_age_seconds'])} ago",
        )
    if not replicas:
        console.print("Replicas: none registered")
        return
    console.print(table)
    hidden = len(replicas) - len(shown)
    if hidden:
        console.print(f"[dim]{hidden} older ended replica(s) not shown (--json lists all)[/dim]")


def _render_tasks(tasks: dict[str, Any], total_tasks: int, console: Console) -> None:
    by_state = tasks["by_state"]
    counts = Table(title=f"Tasks by state ({total_tasks} in all)", title_justify="left")
    for state in by_state:
        counts.add_column(state, justify="right")
    counts.add_row(*(str(n) for n in by_state.values()))
    console.print(counts)
    items = tasks["items"]
    if not items:
        return
    title = "Tasks" if len(items) == total_tasks else f"Most recent tasks ({len(items)} of {total_tasks})"
    recent = Table(title=title, title_justify="left")
    for col in ("id", "name", "state", "tries", "owner", "last failure"):
        recent.add_column(col)
    for t in items:
        style = {TaskState.SUCCESS: "green", TaskState.FAILED: "red", TaskState.RUNNING: "yellow"}.get(t["state"], "")
        recent.add_row(
            str(t["id"]),
            t["name"],
            f"[{style}]{t['state']}[/{style}]" if style else t["state"],
            f"{t['try_number']}/{t['max_tries']}",
            "" if t["owner_id"] is None else str(t["owner_id"]),
            _last_failure(t["attempts"]),
        )
    console.print(recent)


def _last_failure(attempts: list[dict[str, Any]]) -> str:
    failed = [a for a in attempts if a["state"] == AttemptState.FAILED]
    if not failed:
        return ""
    a = failed[-1]
    f = a["failure"] or {}
    bits = [f"try {a['try_number']}:", str(f.get("reason") or "failed")]
    if a["exit_code"] is not None:
        bits.append(f"(exit {a['exit_code']})")
    return " ".join(bits)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def _kube_error(e: BaseException) -> str:
    if isinstance(e, ApiException):
        return f"{e.status} {e.reason}".strip()
    return _first_line(e)


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def _readiness(replica: dict[str, Any]) -> str:
    """`yes`, or `no: <why>` (the replica claims nothing until the cause goes away)."""
    if not replica["alive"]:
        return ""
    if replica["ready"]:
        return "[green]yes[/green]"
    reason = replica["not_ready_reason"]
    return f"[yellow]no[/yellow]: {escape(reason)}" if reason else "[dim]unknown[/dim]"
