"""`podherd db upgrade` / `podherd db current`: the metadata database's schema (Alembic migrations).

Every command also upgrades the schema on first use; these are for operators who
want to migrate explicitly (for example before rolling out new replicas) or check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from podherd.commands.common import CONFIG_OPTION, DB_OPTION, check_database_url, config_from, database_url, fail

app = typer.Typer(help="The metadata database: migrations.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="db")


@app.command("upgrade")
def upgrade(db: str | None = DB_OPTION, config: Path | None = CONFIG_OPTION) -> None:
    """Run the migrations up to the newest one (safe while other podherd processes start), then print the revision."""
    from podherd.standalone.db.migrate import current_revision, head_revision
    from podherd.standalone.db.migrate import upgrade as run_upgrade

    engine, shown = _engine(db, config)
    try:
        before = current_revision(engine)
        run_upgrade(engine)
        after = current_revision(engine)
    except Exception as e:
        _db_error(e, shown)
    finally:
        engine.dispose()
    if before == after:
        typer.echo(f"{shown}: already at revision {after} (head {head_revision()})")
    else:
        typer.echo(f"{shown}: upgraded from {before or 'an empty database'} to revision {after}")


@app.command("current")
def current(db: str | None = DB_OPTION, config: Path | None = CONFIG_OPTION) -> None:
    """Print the database's current revision and the newest (head) revision this podherd ships."""
    from podherd.commands.status import missing_sqlite_file
    from podherd.standalone.db.migrate import current_revision, head_revision

    cfg = config_from(config)
    check_database_url(db, cfg)
    head = head_revision()
    missing = missing_sqlite_file(database_url(db, cfg))
    if missing is not None:
        typer.echo(f"current: none (no database file at {missing})\nhead: {head}")
        return
    engine, shown = _engine(db, config, cfg)
    try:
        revision = current_revision(engine)
    except Exception as e:
        _db_error(e, shown)
    finally:
        engine.dispose()
    if revision is None:
        note = " (empty database)"
    elif revision == head:
        note = ""
    elif _known(revision):
        note = " (behind: run `podherd db upgrade`)"
    else:
        note = " (unknown to this podherd: migrated by a newer version?)"
    typer.echo(f"current: {revision or 'none'}{note}\nhead: {head}")


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from podherd.standalone.db.migrate import alembic_config

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def _engine(db: str | None, config: Path | None, cfg: Any = None) -> tuple[Any, str]:
    """An engine *without* the automatic upgrade (``open_engine`` would migrate first), and a printable URL."""
    from podherd.standalone.db.engine import default_url, make_engine, shown_url

    cfg = cfg if cfg is not None else config_from(config)
    check_database_url(db, cfg)
    url = database_url(db, cfg) or default_url()
    try:
        shown = shown_url(url)
        return make_engine(url), shown
    except Exception as e:
        fail(f"cannot open the database: {_first_line(e)}")


def _db_error(e: Exception, shown: str) -> None:
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(e, CommandError):  # e.g. a revision this podherd does not ship (migrated by a newer one)
        fail(f"cannot migrate the database {shown}: {_first_line(e)} (was it upgraded by a newer podherd?)")
    if isinstance(e, SQLAlchemyError | OSError | ValueError):
        fail(f"cannot use the database {shown}: {_first_line(e)}")
    raise e


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
