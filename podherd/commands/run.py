"""`podherd run FILE`: run a task file to completion with one replica, then print a summary.

With no kubeconfig it starts the embedded local cluster in this process
(process kubelet) and uses SQLite in ./.podherd/, so it works on a laptop with
nothing else installed.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from podherd.commands.common import (
    CONFIG_OPTION,
    CONTEXT_OPTION,
    DB_OPTION,
    config_from,
    kube_client,
    load_template,
    open_engine,
    user_errors,
)
from podherd.db import queries
from podherd.db.rows import TaskRow
from podherd.taskfile import load_task_file

TERMINAL = ("success", "failed")


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
    if not file.is_file():
        typer.echo(f"error: task file {file} {'is not a file' if file.exists() else 'does not exist'}", err=True)
        raise typer.Exit(2)
    with user_errors():
        tasks = load_task_file(file)
    if not tasks:
        typer.echo(f"error: {file} holds no tasks", err=True)
        raise typer.Exit(2)
    if local_mode not in ("process", "simulate"):
        raise typer.BadParameter("expected process or simulate", param_hint="--local-mode")
    engine = open_engine(db, cfg)

    cluster = None
    local_kubeconfig = Path(".podherd/kubeconfig")
    if kubeconfig is None and context is None and not cfg.kubernetes_executor.config_file:
        from podherd.kube.client import KubeClient
        from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster

        try:
            cluster = LocalCluster(ClusterConfig(mode=local_mode, kubeconfig=local_kubeconfig)).start()
        except OSError as e:
            typer.echo(f"error: cannot start the embedded cluster: {e}", err=True)
            raise typer.Exit(2) from None
        k = cfg.kubernetes_executor
        kube = KubeClient(cluster.api_client().configuration, qps=k.kube_client_qps, burst=k.kube_client_burst)
        for ns in {t.namespace or k.namespace for t in tasks} - {"default"}:
            kube.core.create_namespace({"metadata": {"name": ns}})
    else:
        kube = kube_client(kubeconfig, context, cfg)

    from podherd.scheduler import Replica

    ids = set(queries.insert_tasks(engine, tasks, cfg.kubernetes_executor.namespace))
    replica = Replica(cfg, engine, kube, load_template(cfg))
    replica.only_ids = ids  # run just this file, even if the database holds other queued tasks
    interrupted = False

    def on_signal(_sig: int, _frame: Any) -> None:
        nonlocal interrupted
        interrupted = True
        replica.request_stop()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    try:
        replica.start()
        if cluster is not None:
            console.print(
                f"[dim]embedded cluster at {cluster.url} (kubeconfig .podherd/kubeconfig), "
                f"replica {replica.job_id}[/dim]"
            )
        _drive(replica, engine, ids, console, quiet)
    finally:
        replica.shutdown()
        for s, h in old.items():
            signal.signal(s, h)
        if cluster is not None:
            cluster.stop()
            local_kubeconfig.unlink(missing_ok=True)  # it pointed at a cluster that no longer exists
    rows = [t for t in queries.list_tasks(engine) if t.id in ids]
    console.print(summary_table(rows))
    ok = sum(1 for t in rows if t.state == "success")
    console.print(f"{ok}/{len(rows)} tasks succeeded in {time.monotonic() - started:.1f}s")
    if interrupted:
        raise typer.Exit(130)
    raise typer.Exit(0 if ok == len(rows) else 1)


def _drive(replica: Any, engine: Any, ids: set[int], console: Console, quiet: bool) -> None:
    """Run the replica until this file's tasks are all terminal and their pods are cleaned up."""
    state = {"done": 0, "checked": 0.0, "counts": {}}

    def finished() -> bool:
        now = time.monotonic()
        if now - state["checked"] < 0.25:
            return False
        state["checked"] = now
        counts = queries.count_states_of(engine, ids)
        state["counts"] = counts
        state["done"] = sum(counts.get(s, 0) for s in TERMINAL)
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
    order = ("running", "queued", "success", "failed")
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
        failed = [a for a in t.attempts if a.state == "failed"]
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
        style = {"success": "green", "failed": "red"}.get(t.state, "yellow")
        table.add_row(
            t.name,
            f"[{style}]{t.state}[/{style}]",
            f"{t.try_number}/{t.max_tries}",
            duration,
            "" if last is None or last.exit_code is None else str(last.exit_code),
            failure,
        )
    return table
