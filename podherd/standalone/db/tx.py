"""Short transactions and the clock liveness is measured with.

Every query function opens its own short transaction from an Engine, so no
caller's long transaction can hold locks across a loop tick or hide a sibling's
fresh heartbeat behind an old snapshot (the anchor's #67813).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Interval, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from podherd.standalone.db.engine import SQLITE_BEGIN_OPTION
from podherd.standalone.db.models import UTCDateTime, utcnow


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read transaction (deferred on SQLite: never waits for the writer)."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE)."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn = conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            yield conn


def now_sql(conn: Connection, now: datetime | None = None) -> datetime | ColumnElement[datetime]:
    """The time to stamp heartbeats with: ``now`` if given, else the database's clock.

    On PostgreSQL this is the server's ``now()``, so replicas on hosts whose clocks
    disagree still agree on who is alive. SQLite lives on one host: its clock is ours.
    """
    if now is not None:
        return now
    if conn.dialect.name == "postgresql":
        return func.now(type_=UTCDateTime())
    return utcnow()


def cutoff_sql(conn: Connection, seconds: float, now: datetime | None = None) -> datetime | ColumnElement[datetime]:
    """``now - seconds`` on the same clock as :func:`now_sql`."""
    base = now_sql(conn, now)
    if isinstance(base, datetime):
        return base - timedelta(seconds=seconds)
    return base - literal(timedelta(seconds=seconds), Interval())


def db_now(engine: Engine) -> datetime:
    """The liveness clock's current time (for showing heartbeat ages)."""
    with read_tx(engine) as conn:
        value = now_sql(conn)
        if isinstance(value, datetime):
            return value
        return conn.execute(select(value)).scalar_one()
