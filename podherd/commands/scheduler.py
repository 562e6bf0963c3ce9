"""`podherd scheduler`: one long-running scheduler replica."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType

import typer

from podherd.commands.common import (
    CONFIG_OPTION,
    CONTEXT_OPTION,
    DB_OPTION,
    KUBECONFIG_OPTION,
    check_database_url,
    check_port,
    config_from,
    kube_client,
    load_template,
    open_engine,
)


def register(app: typer.Typer) -> None:
    app.command("scheduler")(scheduler)


def scheduler(
    db: str | None = DB_OPTION,
    kubeconfig: Path | None = KUBECONFIG_OPTION,
    context: str | None = CONTEXT_OPTION,
    config: Path | None = CONFIG_OPTION,
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        callback=check_port,
        help="Serve Prometheus /metrics and the /healthz and /readyz probes on this port (0-65535).",
    ),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host", help="Address for --metrics-port."),
) -> None:
    """Run a scheduler replica until SIGTERM/SIGINT: claim queued tasks, run them as pods, record results.

    Run several against one database (PostgreSQL for several hosts) for high availability.
    On SIGTERM it stops claiming, finishes its loop, marks its job row ended and leaves
    running pods for the surviving replicas to adopt.
    """
    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise typer.BadParameter("expected debug, info, warning or error", param_hint="--log-level")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # urllib3 logs every connection retry; podherd reports the API's state once per change instead.
    logging.getLogger("urllib3.connectionpool").setLevel(max(level, logging.ERROR))
    cfg = config_from(config)
    # Every input is checked before the database is opened (which creates and migrates it).
    check_database_url(db, cfg)
    kube = kube_client(kubeconfig, context, cfg)
    template = load_template(cfg)
    engine = open_engine(db, cfg)

    from podherd.standalone.replica import Replica

    replica = Replica(cfg, engine, kube, template)

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        replica.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    replica.start()
    if metrics_port is not None:
        try:
            port = replica.metrics.serve(metrics_port, metrics_host, health=replica.health)
        except OSError as e:
            replica.shutdown()
            typer.echo(f"error: cannot serve metrics on {metrics_host}:{metrics_port}: {e.strerror or e}", err=True)
            raise typer.Exit(2) from None
        logging.getLogger("podherd.scheduler").info("metrics on http://%s:%s/metrics", metrics_host, port)
    try:
        replica.run()
    finally:
        replica.shutdown()
