"""Shared fixtures.

``postgres_url`` gives each test a fresh schema on a throwaway PostgreSQL server
that the session starts itself with pytest-postgresql's executor (``pg_ctl`` from
PATH). PostgreSQL refuses to run as root, and CI runs as root: then ``pg_ctl`` is
called through a tiny wrapper that drops to the ``postgres`` (else ``nobody``)
user, and the data directory lives in a private temp dir owned by that user
(pytest's own tmp dirs are 0700 root, unreachable for it). Set
``PODHERD_TEST_POSTGRES_URL`` to use an existing server instead.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

PG_OS_USERS = ("postgres", "nobody")
PG_SUPERUSER = "postgres"
PG_FAST_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
_schema_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Admin URL (``postgres`` database) of this session's PostgreSQL server."""
    external = os.environ.get("PODHERD_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    workdir = Path(tempfile.mkdtemp(prefix="podherd-pg-"))
    executor, url = start_postgres(workdir)
    try:
        yield url
    finally:
        try:
            executor.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def start_postgres(workdir: Path) -> tuple[Any, str]:
    """Start a throwaway PostgreSQL in `workdir`; returns (its executor, the admin URL).

    The executor's `stop()`/`start()` stop and restart the same server (same data, same port).
    """
    pg_ctl = _find_pg_ctl()
    if pg_ctl is None:
        pytest.skip("PostgreSQL binaries (pg_ctl) not found; set PODHERD_TEST_POSTGRES_URL to use a server")
    from pytest_postgresql.executors import PostgreSQLExecutor

    executable = _unprivileged_pg_ctl(pg_ctl, workdir) if os.geteuid() == 0 else pg_ctl
    port = _free_port()
    executor = PostgreSQLExecutor(
        executable=executable,
        host="127.0.0.1",
        port=port,
        datadir=str(workdir / "data"),
        unixsocketdir=str(workdir),
        logfile=str(workdir / "postgresql.log"),
        startparams="-w",
        dbname="podherd_test",
        user=PG_SUPERUSER,
        postgres_options=PG_FAST_OPTIONS,
    )
    executor.start()
    return executor, f"postgresql+psycopg://{PG_SUPERUSER}@127.0.0.1:{port}/postgres"


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """URL of a new, empty schema, selected through ``search_path`` (dropped afterwards)."""
    with postgres_schema(postgres_server) as url:
        yield url


@contextmanager
def postgres_schema(admin_url: str) -> Iterator[str]:
    """A new, empty schema on the server at `admin_url`, as a URL that selects it (dropped on exit).

    A schema rather than a database per test: CREATE DATABASE costs ~0.3 s, a schema
    ~1 ms, and everything podherd does (tables, Alembic's version table, advisory
    locks) works the same inside one.
    """
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    schema = f"podherd_t{os.getpid()}_{next(_schema_numbers)}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = admin.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _find_pg_ctl() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return found
    try:
        bindir = subprocess.check_output(["pg_config", "--bindir"], text=True, timeout=10).strip()
        if os.access(os.path.join(bindir, "pg_ctl"), os.X_OK):
            return os.path.join(bindir, "pg_ctl")
    except (OSError, subprocess.SubprocessError):
        pass
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return candidates[-1] if candidates else None


def _unprivileged_pg_ctl(pg_ctl: str, workdir: Path) -> str:
    """A pg_ctl stand-in that runs the real one as an unprivileged user (we are root)."""
    user = next((u for u in (_pwnam(name) for name in PG_OS_USERS) if u is not None), None)
    if user is None:
        pytest.skip(f"running as root and none of the users {PG_OS_USERS} exists to run PostgreSQL")
    os.chown(workdir, user.pw_uid, user.pw_gid)
    wrapper = workdir / "pg_ctl"
    wrapper.write_text(
        f"#!{sys.executable} -IS\n"
        "import os, sys\n"
        f"os.setgroups([]); os.setgid({user.pw_gid}); os.setuid({user.pw_uid})\n"
        f"os.environ.update(HOME={str(workdir)!r}, USER={user.pw_name!r}, LOGNAME={user.pw_name!r})\n"
        f"os.chdir({str(workdir)!r})\n"
        f"os.execv({pg_ctl!r}, [{pg_ctl!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(0o755)
    return str(wrapper)


def _pwnam(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
