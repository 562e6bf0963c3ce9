"""`podherd run FILE`: run a task file to completion with one replica, then print a summary.

With no kubeconfig it starts the embedded local cluster in this process
(process kubelet) and uses SQLite in ./.podherd/, so it works on a laptop with
nothing else installed. The embedded cluster's files live in ./.podherd/run-<pid>-<random>/,
removed at the end, so a `podherd cluster up` in the same directory is never touched.

Steps: check every input (config, database URL, task file, kubeconfig, namespaces)
before anything is started or written, then start the cluster, open the database,
insert, drive one replica, report.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from podherd.commands.common import (
    CONFIG_OPTION,
    CONTEXT_OPTION,
    DB_OPTION,
    check_database_url,
    config_from,
    fail,
    kube_client,
    load_template,
    open_engine,
    short_error,
    user_errors,
)
from podherd.config import Config
from podherd.filemodes import private_dirs
from podherd.standalone.db import queries
from podherd.standalone.db.models import TASK_TERMINAL, AttemptState, TaskState
from podherd.standalone.db.rows import TaskRow
from podherd.standalone.taskfields import clip
from podherd.standalone.taskfile import TaskDef, load_task_file

if TYPE_CHECKING:  # imported where used: checking a task file must not start the cluster's imports
    from sqlalchemy import Engine

    from podherd.core.kube.client import KubeClient
    from podherd.localcluster.apiserver.server import LocalCluster
    from podherd.standalone.replica import Replica

STATE_BASE = Path(".podherd")  # run-<pid>-<random>/ below it holds one run's embedded-cluster files
NAMESPACE_CHECK_TIMEOUT = (5, 10)  # seconds: connect, read


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    file: Path = typer.Argument(..., help="Task file (YAML or JSON) to run.", show_default=False),
    db: str | None = DB_OPTION,
    kubeconfig: Path | None = typer.Option(
        None,
        "--kubeconfig",
        help="Run on this cluster instead of the embedded one (--context alone uses the default kubeconfig).",
    ),
    context: str | None = CONTEXT_OPTION,
    config: Path | None = CONFIG_OPTION,
    local_mode: str = typer.Option(
        "process", "--local-mode", help="Kubelet mode of the embedded cluster: process or simulate."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; just the summary."),
) -> None:
    """Run every task in FILE as pods and wait for all of them; exit 0 only if all succeeded."""
    console = Console()
    cfg = config_from(config)
    if local_mode not in ("process", "simulate"):
        raise typer.BadParameter("expected process or simulate", param_hint="--local-mode")
    check_database_url(db, cfg)
    template = load_template(cfg)
    tasks = _load_tasks(file, template)
    namespaces = {t.namespace or cfg.kubernetes_executor.namespace for t in tasks}

    embedded = kubeconfig is None and context is None and not cfg.kubernetes_executor.config_file
    state: RunState | None = None
    cluster = None
    if embedded:
        state = RunState.create()
    else:
        kube = kube_client(kubeconfig, context, cfg)
        check_namespaces(kube, namespaces, tasks, cfg.kubernetes_executor.namespace)
    try:
        if state is not None:
            cluster, kube = _start_embedded(cfg, local_mode, state, namespaces)
        engine = open_engine(db, cfg)  # only now: a bad input above must leave no database behind
        _run_tasks(console, cfg, engine, kube, template, tasks, cluster, state, quiet)
    finally:
        if cluster is not None:
            cluster.stop()
        if state is not None:
            state.remove()  # its kubeconfig pointed at a cluster that no longer exists


def _load_tasks(file: Path, template: dict[str, Any] | None) -> list[TaskDef]:
    """The validated tasks of FILE; every problem is a user error (exit 2) and nothing is started."""
    if not file.is_file():
        fail(f"task file {file} {'is not a file' if file.exists() else 'does not exist'}")
    with user_errors():
        tasks = load_task_file(file, template)
    if not tasks:
        fail(f"{file} holds no tasks")
    return tasks


@dataclass(frozen=True)
class RunState:
    """Files of this run's embedded cluster, in a directory of its own: ``.podherd/run-<pid>-<random>/``.

    Why its own: a ``podherd cluster up`` in the same directory owns ``.podherd/kubeconfig``,
    and ``run`` must neither overwrite nor delete it; nor may two runs share one. The pid alone
    would not do: runs in two containers sharing a mounted directory can both be pid 1. The
    directory is private (0700, ``mkdtemp``) and is removed when the run ends.
    """

    root: Path

    @classmethod
    def create(cls, base: Path = STATE_BASE) -> RunState:
        try:
            private_dirs(base)
            return cls(Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=base)))
        except OSError as e:
            fail(f"cannot create the run's state directory in {base}: {e.strerror or e}")

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _start_embedded(
    cfg: Config, local_mode: str, state: RunState, namespaces: set[str]
) -> tuple[LocalCluster, KubeClient]:
    """Start the embedded cluster in this process and create the namespaces the tasks name."""
    from podherd.core.kube.client import KubeClient
    from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster

    try:
        cluster = LocalCluster(ClusterConfig(mode=local_mode, kubeconfig=state.kubeconfig)).start()
    except OSError as e:
        fail(f"cannot start the embedded cluster: {e}")
    k = cfg.kubernetes_executor
    kube = KubeClient(cluster.api_client().configuration, qps=k.kube_client_qps, burst=k.kube_client_burst)
    try:
        for ns in sorted(namespaces - {"default"}):
            kube.core.create_namespace({"metadata": {"name": ns}})
    except BaseException:
        cluster.stop()
        raise
    return cluster, kube


def check_namespaces(kube: KubeClient, namespaces: set[str], tasks: list[TaskDef], default_namespace: str) -> None:
    """Fail (exit 2) before anything is inserted when the cluster says a task's namespace does not exist."""
    missing, unknown = classify_namespaces(sorted(namespaces), lambda ns: _namespace_status(kube, ns))
    for ns, why in unknown.items():
        typer.echo(f"warning: cannot check that namespace {ns!r} exists ({why}); continuing", err=True)
    if missing:
        lines = []
        for ns in missing:
            users = [t.name for t in tasks if (t.namespace or default_namespace) == ns]
            shown = ", ".join(clip(n) for n in users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
            lines.append(f"namespace {ns!r} does not exist on the cluster (used by {shown})")
        fail("; ".join(lines) + "; create it (kubectl create namespace NAME) or change the tasks' namespace")


def classify_namespaces(namespaces: list[str], probe: Callable[[str], int | str]) -> tuple[list[str], dict[str, str]]:
    """``(missing, unknown)``: 404 means missing; any other failure (``unknown[ns]`` says which) does not block.

    Pure. ``probe`` returns the HTTP status of ``GET /api/v1/namespaces/<ns>``, or a reason when
    there was no answer. Only a 404 is proof: RBAC may allow creating pods in a namespace but not
    reading the namespace (403), and an unreachable server is the replica's to wait for.
    """
    missing: list[str] = []
    unknown: dict[str, str] = {}
    for ns in namespaces:
        answer = probe(ns)
        if answer == 404:
            missing.append(ns)
        elif not (isinstance(answer, int) and 200 <= answer < 300):
            unknown[ns] = f"HTTP {answer}" if isinstance(answer, int) else answer
    return missing, unknown


def _namespace_status(kube: KubeClient, namespace: str) -> int | str:
    from kubernetes.client.exceptions import ApiException

    try:
        resp = kube.core.read_namespace(namespace, _preload_content=False, _request_timeout=NAMESPACE_CHECK_TIMEOUT)
        resp.release_conn()
        return int(resp.status)
    except ApiException as e:
        return int(e.status) if e.status else short_error(e)
    except Exception as e:  # no answer (connection refused, TLS, timeout): not proof of anything
        return f"{type(e).__name__}: {short_error(e)}"


def _run_tasks(
    console: Console,
    cfg: Config,
    engine: Engine,
    kube: KubeClient,
    template: dict[str, Any] | None,
    tasks: list[TaskDef],
    cluster: LocalCluster | None,
    state: RunState | None,
    quiet: bool,
) -> None:
    """Insert the tasks, drive one replica until they are done, print the summary, exit with the result."""
    from sqlalchemy.exc import SQLAlchemyError

    from podherd.standalone.replica import Replica

    try:
        ids = set(queries.insert_tasks(engine, tasks, cfg.kubernetes_executor.namespace))
    except SQLAlchemyError as e:  # one transaction: nothing was inserted
        fail(f"cannot queue the tasks: {short_error(e)}")
    replica = Replica(cfg, engine, kube, template, only_ids=ids)  # just this file, whatever else is queued
    interrupted = False

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        nonlocal interrupted
        if interrupted:  # a second Ctrl-C: stop now; the job row stays, so any replica takes the work over
            typer.echo("interrupted again: exiting now; unfinished tasks are left for takeover", err=True)
            os._exit(130)
        interrupted = True
        typer.echo("interrupted: handing unfinished tasks back (Ctrl-C again to exit at once)", err=True)
        replica.request_stop()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    try:
        replica.start()
        if cluster is not None and state is not None:
            console.print(
                f"[dim]embedded cluster at {cluster.url} (kubeconfig {state.kubeconfig}), replica {replica.job_id}[/dim]"
            )
        _drive(replica, engine, ids, console, quiet)
    finally:
        replica.shutdown(hand_back_all=True)  # nobody else will finish this run's tasks: never leave them running
        for s, h in old.items():
            signal.signal(s, h)
    rows = [t for t in queries.list_tasks(engine) if t.id in ids]
    console.print(summary_table(rows))
    ok = sum(1 for t in rows if t.state == TaskState.SUCCESS)
    console.print(f"{ok}/{len(rows)} tasks succeeded in {time.monotonic() - started:.1f}s")
    if interrupted:
        raise typer.Exit(130)
    raise typer.Exit(0 if ok == len(rows) else 1)


def _drive(replica: Replica, engine: Engine, ids: set[int], console: Console, quiet: bool) -> None:
    """Run the replica until this file's tasks are all terminal and their pods are cleaned up."""
    state = {"done": 0, "checked": 0.0, "counts": {}}

    def finished() -> bool:
        now = time.monotonic()
        if now - state["checked"] < 0.25:
            return False
        state["checked"] = now
        counts = queries.count_states_of(engine, ids)
        state["counts"] = counts
        state["done"] = sum(counts.get(s, 0) for s in TASK_TERMINAL)
        if progress is not None:
            progress.update(bar, completed=state["done"], description=_describe(counts))
        return state["done"] == len(ids) and not replica.executor.busy()

    if quiet or not console.is_terminal:
        progress = None
        replica.run(until=finished)
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        bar = progress.add_task("starting", total=len(ids))
        replica.run(until=finished)


def _describe(counts: dict[str, int]) -> str:
    order = (TaskState.RUNNING, TaskState.QUEUED, TaskState.SUCCESS, TaskState.FAILED)
    return " ".join(f"{s} {counts[s]}" for s in order if counts.get(s))


def summary_table(rows: list[TaskRow]) -> Table:
    table = Table(title="podherd run", show_lines=False)
    for col in ("task", "state", "tries", "duration", "exit code", "last failure"):
        table.add_column(col)
    for t in sorted(rows, key=lambda r: r.id):
        last = t.attempts[-1] if t.attempts else None
        duration = ""
        first = t.attempts[0].started_at if t.attempts else t.started_at
        if first and t.ended_at:
            duration = f"{(t.ended_at - first).total_seconds():.1f}s"
        failure = ""
        failed = [a for a in t.attempts if a.state == AttemptState.FAILED]
        if failed:
            a = failed[-1]
            f = a.failure or {}
            bits = [f"try {a.try_number}:", str(f.get("reason") or "failed")]
            if a.exit_code is not None:
                bits.append(f"(exit {a.exit_code})")
            if f.get("message"):
                bits.append(str(f["message"])[:60])
            elif f.get("log_tail"):
                logged = [line for line in str(f["log_tail"]).splitlines() if line.strip()]
                if logged:
                    bits.append("— " + logged[-1][:60])
            failure = " ".join(bits)
        style = {TaskState.SUCCESS: "green", TaskState.FAILED: "red"}.get(t.state, "yellow")
        table.add_row(
            t.name,
            f"[{style}]{t.state}[/{style}]",
            f"{t.try_number}/{t.max_tries}",
            duration,
            "" if last is None or last.exit_code is None else str(last.exit_code),
            failure,
        )
    return table
