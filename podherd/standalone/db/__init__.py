"""Metadata database: tables, migrations and the scheduler's queries.

``from podherd.standalone.db import open_database, queries`` is all most callers need.
"""

from podherd.standalone.db import queries
from podherd.standalone.db.engine import default_url, make_engine, normalize_url
from podherd.standalone.db.migrate import ensure_schema, open_database, upgrade

__all__ = ["default_url", "ensure_schema", "make_engine", "normalize_url", "open_database", "queries", "upgrade"]
