"""`podherd cluster up`: the embedded Kubernetes API server + kubelet, in the foreground."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer

from podherd.commands.common import check_output_dir, check_output_file, check_port, check_positive_seconds
from podherd.filemodes import private_dirs
from podherd.localcluster.apiserver.faults import Faults
from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster, serve_forever

app = typer.Typer(help="The embedded local Kubernetes cluster.", no_args_is_help=True)

DEFAULT_KUBECONFIG = Path(".podherd/kubeconfig")


PORT = typer.Option(6443, "--port", callback=check_port, help="Port to listen on (0-65535; 0 picks a free one).")
HOST = typer.Option("127.0.0.1", "--host", help="Address to bind; loopback unless you mean otherwise.")
KUBECONFIG = typer.Option(
    DEFAULT_KUBECONFIG, "--kubeconfig", help="Where to write the kubeconfig (bearer token, mode 0600)."
)
MODE = typer.Option(
    "process",
    "--mode",
    help="Kubelet mode: 'process' runs each container as a local process; "
    "'simulate' runs none (timed phases, for large benchmarks).",
)
AUDIT_LOG = typer.Option(None, "--audit-log", help="Append one JSON line per API request here.")
STATE_DIR = typer.Option(None, "--state-dir", help="Working directory for the kubelet's files.")
TOKEN = typer.Option(
    None,
    "--token",
    envvar="PODHERD_CLUSTER_TOKEN",
    show_envvar=True,
    help="Bearer token to require (default: a random one). Prefer the environment variable: argv is visible in ps.",
)
FAULT = typer.Option(
    [],
    "--fault",
    help="Inject faults, KEY=VALUE, repeatable: error_rate=0.05, error_rate.create=0.1, "
    "throttle_rate=0.01, retry_after=1, latency_ms=20, drop_watches_every=5, compact_every=10, seed=1.",
)
BOOKMARK_INTERVAL = typer.Option(
    60.0, "--bookmark-interval", callback=check_positive_seconds, help="Seconds between watch BOOKMARKs (> 0)."
)
VERBOSE = typer.Option(False, "--verbose", "-v", help="Log server activity to stderr.")


@app.command("up")
def up(
    port: int = PORT,
    host: str = HOST,
    kubeconfig: Path = KUBECONFIG,
    mode: str = MODE,
    audit_log: Path | None = AUDIT_LOG,
    state_dir: Path | None = STATE_DIR,
    token: str | None = TOKEN,
    fault: list[str] = FAULT,
    bookmark_interval: float = BOOKMARK_INTERVAL,
    verbose: bool = VERBOSE,
) -> None:
    """Run a local Kubernetes API server and kubelet until SIGINT/SIGTERM.

    kubectl and the official client work against it: `kubectl --kubeconfig .podherd/kubeconfig get pods`.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    if mode not in ("process", "simulate"):
        raise typer.BadParameter(f"{mode!r} is not one of 'process', 'simulate'", param_hint="--mode")
    try:
        faults = Faults.parse_flag(fault)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--fault") from None
    check_output_file(kubeconfig, "--kubeconfig")
    check_output_file(audit_log, "--audit-log")
    check_output_dir(state_dir, "--state-dir")
    try:
        private_dirs(kubeconfig.parent)  # .podherd/ is 0700 when made here: it will also hold the database
    except OSError as e:
        typer.echo(f"error: cannot create {kubeconfig.parent}: {e.strerror or e}", err=True)
        raise typer.Exit(2) from None
    cfg = ClusterConfig(
        host=host,
        port=port,
        mode=mode,
        audit_log=audit_log,
        state_dir=state_dir,
        kubeconfig=kubeconfig,
        faults=faults,
        bookmark_interval=bookmark_interval,
    )
    if token:
        cfg.token = token
    _serve(cfg, audit_log)


def _serve(cfg: ClusterConfig, audit_log: Path | None) -> None:
    """Open the cluster (its audit log first) and serve until a signal; file and socket errors are exit 2."""
    try:
        cluster = LocalCluster(cfg)  # opens the audit log
    except OSError as e:
        typer.echo(f"error: cannot open {e.filename or audit_log}: {e.strerror or e}", err=True)
        raise typer.Exit(2) from None

    def ready(c: LocalCluster) -> None:
        typer.echo(
            f"podherd local cluster ready at {c.url} (kubelet: {cfg.mode}); kubeconfig: {cfg.kubeconfig}", err=False
        )

    try:
        asyncio.run(serve_forever(cluster, ready))
    except OSError as e:
        if e.filename:  # writing the kubeconfig or a state file, not binding the socket
            typer.echo(f"error: cannot write {e.filename}: {e.strerror or e}", err=True)
        else:
            typer.echo(f"error: cannot listen on {cfg.host}:{cfg.port}: {e.strerror or e}", err=True)
        raise typer.Exit(2) from None
