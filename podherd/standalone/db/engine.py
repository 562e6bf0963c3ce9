"""Engines for SQLite (default, one host) and PostgreSQL (several hosts).

SQLite notes: WAL so readers never block the writer; a busy timeout so writers
queue instead of failing; and podherd emits ``BEGIN`` itself (the ``sqlite3``
driver's legacy mode skips it for SELECT and DDL). Writes use ``BEGIN IMMEDIATE``
(see :func:`podherd.standalone.db.tx.write_tx`): a deferred transaction that reads and then
writes fails at once with SQLITE_BUSY when another writer got in between — a busy
timeout cannot help there — while IMMEDIATE waits its turn for the write lock.

Only SQLite and PostgreSQL are supported: any other URL is refused up front by
:func:`parse_database_url` with a message that never shows the password. A new
SQLite file and the directories made for it are owner-only (0600/0700): SQLite gives
its ``-wal``/``-shm``/``-journal`` files the database file's mode, so they are too.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from podherd.filemodes import private_file

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 5
SQLITE_BEGIN_OPTION = "podherd_sqlite_begin"
# Driver names podherd accepts (the part of the URL before "://"), by backend.
SUPPORTED_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+psycopg": "postgresql",
}
SUPPORTED_HINT = "podherd supports sqlite (sqlite:///PATH) and postgresql (postgresql://USER:PASSWORD@HOST/DB)"
_SECRET_QUERY_WORDS = ("pass", "secret", "token", "key")


class DatabaseURLError(ValueError):
    """A database URL podherd cannot use; the message never contains the password."""


def parse_database_url(url: str | URL) -> URL:
    """Parse and check ``url``: a URL SQLAlchemy understands, for a backend podherd supports.

    Raises :class:`DatabaseURLError`. An unparsable URL is not repeated at all (it may hold a
    password in a place the parser could not find); a parsed one is shown masked (:func:`shown_url`).
    """
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except (ArgumentError, ValueError):
        raise DatabaseURLError(f"not a database URL; {SUPPORTED_HINT}") from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise DatabaseURLError(f"unsupported database {parsed.drivername!r} in {shown_url(parsed)}: {SUPPORTED_HINT}")
    return parsed


def shown_url(url: str | URL) -> str:
    """``url`` as it may be printed or logged: password and secret-looking query values masked."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except (ArgumentError, ValueError):
        return "(unparsable database URL)"
    text = parsed.set(query={}).render_as_string(hide_password=True)
    if not parsed.query:
        return text
    pairs = []
    for key, value in parsed.query.items():
        secret = any(word in key.lower() for word in _SECRET_QUERY_WORDS)
        pairs.append(f"{key}={'***' if secret else value if isinstance(value, str) else ','.join(value)}")
    return f"{text}?{'&'.join(pairs)}"


def default_url(workdir: str | Path = ".podherd") -> str:
    """The SQLite database podherd uses when no URL is configured (absolute path)."""
    return f"sqlite:///{(Path(workdir).resolve() / 'podherd.db').as_posix()}"


def normalize_url(url: str | URL) -> URL:
    """Accept ``postgresql://`` / ``postgres://`` and select the psycopg 3 driver (raises :class:`DatabaseURLError`)."""
    parsed = parse_database_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, *, echo: bool = False, **kwargs: Any) -> Engine:
    """Build an engine with podherd's connection settings for the URL's backend."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, echo=echo, **kwargs)
    if backend == "postgresql":
        connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_S, **kwargs.pop("connect_args", {})}
        # pre_ping: after a database restart, stale pooled connections are replaced
        # instead of failing the first heartbeat or claim.
        return create_engine(parsed, echo=echo, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    raise DatabaseURLError(f"unsupported database {parsed.drivername!r}: {SUPPORTED_HINT}")  # unreachable: parsed


def _sqlite_engine(url: URL, *, echo: bool, **kwargs: Any) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()
        url = url.set(database=str(path))  # SQLite itself would take "~" literally
        private_file(path)  # before SQLite creates it 0644 (module doc)
    connect_args = {"check_same_thread": False, **kwargs.pop("connect_args", {})}
    engine = create_engine(url, echo=echo, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see module doc)
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL; retried because the switch on a brand-new file can fail with
    "database is locked" without consulting the busy timeout when several processes
    open it at once."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
