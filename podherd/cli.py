"""podherd's command line: `cluster`, `run`, `scheduler`, `submit`, `status`, `db`, `bench`.

Each command lives in its own module under `podherd.commands`; this file only
wires them together. User errors are printed as one clear message with exit
code 2, never as a traceback.
"""

from __future__ import annotations

import sys

import typer

from podherd import __version__
from podherd.commands import bench, cluster, db, run, scheduler, status, submit

app = typer.Typer(
    name="podherd",
    help="Run tasks as Kubernetes pods from several scheduler replicas at once.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(cluster.app, name="cluster")
for _command in (run, scheduler, submit, status, db, bench):
    _command.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"podherd {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Run tasks as Kubernetes pods from several scheduler replicas at once."""


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
