"""What every command shares: config, database, Kubernetes client, and clean user errors."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
import yaml

from podherd.config import Config, ConfigError, load_config
from podherd.standalone.taskfields import clip
from podherd.standalone.taskfile import TaskFileError

if TYPE_CHECKING:  # imported where used: a command that needs neither pays for neither
    from sqlalchemy import Engine

    from podherd.core.kube.client import KubeClient

CONFIG_OPTION = typer.Option(None, "--config", help="TOML config file (PODHERD__SECTION__KEY env vars override it).")
DB_OPTION = typer.Option(
    None, "--db", help="Database URL (default: PODHERD__CORE__SQL_ALCHEMY_CONN, else SQLite in ./.podherd/)."
)
KUBECONFIG_OPTION = typer.Option(
    None, "--kubeconfig", help="kubeconfig file (default: in-cluster config, else $KUBECONFIG or ~/.kube/config)."
)
CONTEXT_OPTION = typer.Option(None, "--context", help="kubeconfig context to use.")
MAX_PORT = 65535
NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_port(value: int | None) -> int | None:
    """Option callback: a TCP port (0 picks a free one); anything else is a usage error (exit 2) giving the range."""
    if value is not None and not 0 <= value <= MAX_PORT:
        raise typer.BadParameter(f"must be a port number from 0 to {MAX_PORT}, got {clip(str(value))}")
    return value


def fail(message: str, code: int = 2) -> NoReturn:
    """A user error: one clear line on stderr, no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def check_namespace(value: str | None) -> str | None:
    """Option callback: a Kubernetes namespace name (lowercase DNS label)."""
    if value is not None and not (len(value) <= 63 and NAMESPACE_RE.match(value)):
        raise typer.BadParameter(f"must be a Kubernetes namespace name (lowercase DNS label), got {clip(repr(value))}")
    return value


def check_positive_seconds(value: float | None) -> float | None:
    """Option callback: a finite number of seconds greater than 0."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a number of seconds greater than 0, got {value}")
    return value


def check_output_file(path: Path | None, option: str) -> None:
    """Fail unless ``path`` can be created or written as a file: not a directory, no file where a parent should be."""
    if path is None:
        return
    if path.is_dir():
        fail(f"{option} {path} is a directory; give a file path")
    _check_parents(path.parent, option, path)


def check_output_dir(path: Path | None, option: str) -> None:
    """Fail unless ``path`` is, or can be created as, a directory."""
    if path is None:
        return
    if path.exists() and not path.is_dir():
        fail(f"{option} {path} exists and is not a directory")
    _check_parents(path.parent, option, path)


def _check_parents(parent: Path, option: str, path: Path) -> None:
    for ancestor in (parent, *parent.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                fail(f"{option} {path}: {ancestor} is not a directory")
            return


def config_from(path: Path | None) -> Config:
    if path is not None and not path.is_file():
        fail(f"config file {path} {'is not a file' if path.exists() else 'does not exist'}")
    try:
        return load_config(path, os.environ)
    except ConfigError as e:
        fail(str(e))


def database_url(db: str | None, config: Config) -> str | None:
    return db or config.core.sql_alchemy_conn or None


def check_database_url(db: str | None, config: Config) -> None:
    """Refuse a URL podherd cannot use (e.g. ``mysql://``) before anything is started or written.

    The message names the supported backends and never the password.
    """
    from podherd.standalone.db.engine import DatabaseURLError, parse_database_url

    url = database_url(db, config)
    if url is None:
        return
    try:
        parse_database_url(url)
    except DatabaseURLError as e:
        where = "--db" if db else "core.sql_alchemy_conn"
        fail(f"{where}: {e}")


def open_engine(db: str | None, config: Config) -> Engine:
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from podherd.standalone.db import open_database

    check_database_url(db, config)
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
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as e:
        fail(f"pod_template_file {path}: {short_error(e)}")
    except (ValueError, RecursionError):  # a number past Python's digit limit; nesting past the recursion limit
        fail(f"pod_template_file {path}: not valid YAML: a value too large or nested too deeply")
    if not isinstance(data, dict):
        fail(f"pod_template_file {path}: expected a Pod manifest (a mapping)")
    return data


def kube_client(kubeconfig: Path | None, context: str | None, config: Config) -> KubeClient:
    """A client for the cluster the options name; any problem with the kubeconfig is a user error naming it."""
    from kubernetes.config import ConfigException

    from podherd.core.kube.client import KubeClient, KubeSettings

    k = config.kubernetes_executor
    path = kubeconfig or (Path(k.config_file) if k.config_file else None)
    if path is not None and not path.is_file():
        fail(f"kubeconfig {path} {'is not a file' if path.exists() else 'does not exist'}")
    files = kubeconfig_files(path, context)
    for f in files:
        problem = kubeconfig_problem(f)
        if problem:
            fail(f"kubeconfig {f}: {problem}")
    settings = KubeSettings(
        kubeconfig=str(path) if path is not None else None,
        context=context or k.cluster_context or None,
        qps=k.kube_client_qps,
        burst=k.kube_client_burst,
    )
    try:
        return KubeClient.from_settings(settings)
    # The loader trusts the file's shape: a list where it expects a mapping is a TypeError or KeyError there.
    except (ConfigException, OSError, ValueError, TypeError, KeyError, AttributeError) as e:
        if files:
            fail(f"cannot load Kubernetes configuration ({', '.join(str(f) for f in files)}): {short_error(e)}")
        fail(
            "cannot load Kubernetes configuration: not running in a pod, and no kubeconfig "
            f"(--kubeconfig, $KUBECONFIG, ~/.kube/config): {short_error(e)}"
        )


def kubeconfig_files(path: Path | None, context: str | None) -> list[Path]:
    """The kubeconfig files the client will read, in the order `podherd.core.kube.client.load_configuration` picks them."""
    if path is not None:
        return [path]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    default = Path("~/.kube/config").expanduser()
    in_cluster = context is None and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    return [default] if not in_cluster and default.is_file() else []


def kubeconfig_problem(path: Path) -> str | None:
    """Why ``path`` is not a usable kubeconfig document, or None. Pure apart from reading the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None  # a $KUBECONFIG entry may name a missing file: the loader skips it
    except (OSError, UnicodeDecodeError) as e:
        return f"cannot read: {e.strerror if isinstance(e, OSError) and e.strerror else short_error(e)}"
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        return f"not valid YAML: {where}{getattr(e, 'problem', None) or short_error(e)}"
    except (ValueError, RecursionError):
        return "not valid YAML: a value too large or nested too deeply"
    if doc is None:
        return "empty file"
    if not isinstance(doc, dict):
        return f"expected a kubeconfig (a mapping with clusters, users and contexts), got {_yaml_kind(doc)}"
    for key in ("clusters", "users", "contexts"):
        value = doc.get(key)
        if value is not None and not isinstance(value, list):
            return f"{key}: expected a list, got {_yaml_kind(value)}"
        if any(not isinstance(item, dict) for item in value or []):
            return f"{key}: every entry must be a mapping"
    return None


def _yaml_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {"list": "a list", "dict": "a mapping", "str": "a string"}.get(type(value).__name__, type(value).__name__)


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
