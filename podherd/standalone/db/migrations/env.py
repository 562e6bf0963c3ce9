"""Alembic environment for podherd: uses the connection handed over by podherd.standalone.db.migrate.

Running ``alembic`` by hand also works: set ``sqlalchemy.url`` in the config (or
``PODHERD__CORE__SQL_ALCHEMY_CONN``) and podherd's own engine settings are used.
"""

from __future__ import annotations

import os

from alembic import context

from podherd.standalone.db.engine import default_url, make_engine
from podherd.standalone.db.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade --sql``)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            _configure_and_run(conn)
            conn.commit()
    finally:
        engine.dispose()


def _url() -> str:
    return (
        config.get_main_option("sqlalchemy.url") or os.environ.get("PODHERD__CORE__SQL_ALCHEMY_CONN") or default_url()
    )


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
