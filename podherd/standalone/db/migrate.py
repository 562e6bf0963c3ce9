"""Alembic migrations, configured in code (no alembic.ini needed at runtime).

Concurrent first starts: every upgrade runs inside one transaction that first
takes a lock — ``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` (the
write lock) on SQLite — and both backends have transactional DDL, so a second
process waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from podherd.standalone.db.engine import SQLITE_BEGIN_OPTION, default_url, make_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary constant shared by every podherd process: "podherd" in ASCII.
PG_MIGRATION_LOCK_KEY = 0x706F6468657264


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """An Alembic config pointing at the packaged migrations (and a connection to use)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this podherd."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations packaged"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None``: empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(target: str | URL | Engine, revision: str = "head") -> None:
    """Run migrations up to ``revision`` under the migration lock (``podherd db upgrade``)."""
    engine = make_engine(target) if not isinstance(target, Engine) else target
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK_KEY})
                command.upgrade(alembic_config(conn), revision)
    finally:
        if engine is not target:
            engine.dispose()


def ensure_schema(engine: Engine) -> None:
    """Upgrade to head unless the database is already there (the common, cheap case).

    Safe when several processes start at once (see :func:`upgrade`).
    """
    if current_revision(engine) != head_revision():
        upgrade(engine)


def open_database(url: str | URL | None = None, workdir: str | Path = ".podherd") -> Engine:
    """Engine for ``url`` (default: SQLite in ``workdir``) with the schema up to date."""
    engine = make_engine(url or default_url(workdir))
    ensure_schema(engine)
    return engine
