"""What every command shares: config, database, Kubernetes client, and clean user errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
import yaml

from podherd.config import Config, ConfigError, load_config
from podherd.taskfile import TaskFileError

CONFIG_OPTION = typer.Option(None, "--config", help="TOML config file (PODHERD__SECTION__KEY env vars override it).")
DB_OPTION = typer.Option(
    None, "--db", help="Database URL (default: PODHERD__CORE__SQL_ALCHEMY_CONN, else SQLite in ./.podherd/)."
)
KUBECONFIG_OPTION = typer.Option(
    None, "--kubeconfig", help="kubeconfig file (default: in-cluster config, else $KUBECONFIG or ~/.kube/config)."
)
CONTEXT_OPTION = typer.Option(None, "--context", help="kubeconfig context to use.")


def fail(message: str, code: int = 2) -> NoReturn:
    """A user error: one clear line on stderr, no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def config_from(path: Path | None) -> Config:
    if path is not None and not path.is_file():
        fail(f"config file {path} {'is not a file' if path.exists() else 'does not exist'}")
    try:
        return load_config(path, os.environ)
    except ConfigError as e:
        fail(str(e))


def database_url(db: str | None, config: Config) -> str | None:
    return db or config.core.sql_alchemy_conn or None


def open_engine(db: str | None, config: Config) -> Any:
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from podherd.db import open_database

    try:
        return open_database(database_url(db, config))
    except CommandError as e:
        fail(f"the database schema is at a revision this podherd does not know (newer podherd?): {short_error(e)}")
    except (SQLAlchemyError, OSError, ValueError) as e:
        fail(f"cannot open the database: {short_error(e)}")


def load_template(config: Config) -> dict[str, Any] | None:
    path = config.kubernetes_executor.pod_template_file
    if not path:
        return None
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        fail(f"pod_template_file {path}: {short_error(e)}")
    if not isinstance(data, dict):
        fail(f"pod_template_file {path}: expected a Pod manifest (a mapping)")
    return data


def kube_client(kubeconfig: Path | None, context: str | None, config: Config) -> Any:
    from kubernetes.config import ConfigException

    from podherd.kube.client import KubeClient, KubeSettings

    k = config.kubernetes_executor
    path = kubeconfig or (Path(k.config_file) if k.config_file else None)
    if path is not None and not path.is_file():
        fail(f"kubeconfig {path} does not exist")
    settings = KubeSettings(
        kubeconfig=str(kubeconfig) if kubeconfig else (k.config_file or None),
        context=context or k.cluster_context or None,
        qps=k.kube_client_qps,
        burst=k.kube_client_burst,
    )
    try:
        return KubeClient.from_settings(settings)
    except (ConfigException, OSError, ValueError) as e:
        fail(f"cannot load Kubernetes configuration: {short_error(e)}")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn known input errors into exit code 2 with a message."""
    try:
        yield
    except TaskFileError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    except ConfigError as e:
        fail(str(e))


def short_error(e: BaseException) -> str:
    """The first line of an error, for one-line user messages."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def is_tty() -> bool:
    return sys.stdout.isatty()
