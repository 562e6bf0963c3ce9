"""Database URLs: only SQLite and PostgreSQL, and a password is never shown."""

from __future__ import annotations

import pytest

from podherd.standalone.db.engine import DatabaseURLError, normalize_url, parse_database_url, shown_url


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x.db",
        "sqlite://",
        "sqlite+pysqlite:///x.db",
        "postgresql://u:p@h/db",
        "postgres://u:p@h/db",
        "postgresql+psycopg://u:p@h/db",
    ],
)
def test_supported_urls(url: str) -> None:
    assert parse_database_url(url).drivername in (
        "sqlite",
        "sqlite+pysqlite",
        "postgresql",
        "postgres",
        "postgresql+psycopg",
    )
    assert normalize_url(url).get_backend_name() in ("sqlite", "postgresql")


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("mysql://user:secret@h/db", "mysql"),
        ("mysql+pymysql://user:secret@h/db?password=secret", "mysql+pymysql"),
        ("postgresql+psycopg2://user:secret@h/db", "postgresql+psycopg2"),
        ("oracle://user:secret@h/db", "oracle"),
    ],
)
def test_unsupported_scheme_names_the_supported_ones_and_hides_the_password(url: str, scheme: str) -> None:
    with pytest.raises(DatabaseURLError) as exc:
        parse_database_url(url)
    message = str(exc.value)
    assert f"unsupported database '{scheme}'" in message
    assert "sqlite (sqlite:///PATH) and postgresql" in message
    assert "secret" not in message
    assert "user:***@h/db" in message
    with pytest.raises(DatabaseURLError):
        normalize_url(url)  # what make_engine uses: no engine for them either


@pytest.mark.parametrize("url", ["not a url", "://secret@", "secret-password"])
def test_unparsable_url_is_not_repeated(url: str) -> None:
    with pytest.raises(DatabaseURLError) as exc:
        parse_database_url(url)
    assert url not in str(exc.value)
    assert "not a database URL" in str(exc.value)


def test_shown_url_masks_password_and_secret_query_values() -> None:
    shown = shown_url("postgresql://u:pw1@h:5432/db?sslpassword=pw2&application_name=podherd&token=pw3")
    assert "pw1" not in shown and "pw2" not in shown and "pw3" not in shown
    assert shown == "postgresql://u:***@h:5432/db?sslpassword=***&application_name=podherd&token=***"
    assert shown_url("not a url") == "(unparsable database URL)"
