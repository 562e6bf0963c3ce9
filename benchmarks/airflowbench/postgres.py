"""The benchmark's PostgreSQL databases: one migrated template, a copy per executor.

`airflow db migrate` runs once, into `af_template`; each executor's deployment gets a copy
(`CREATE DATABASE ... TEMPLATE`, well under a second) whose sessions give up on a lock after
LOCK_TIMEOUT, so that a query waiting on the locked `job` table fails instead of hanging (the
database-trouble scenario).
"""

from __future__ import annotations

from pathlib import Path

from tests.airflow.harness import AirflowDeployment, AirflowEnv

LOCK_TIMEOUT = "2s"  # how long a query waits on a lock before it fails (the job-table outage)


def plain_dsn(url: str, database: str | None = None) -> str:
    """A psycopg DSN from a SQLAlchemy URL (optionally for another database)."""
    from sqlalchemy.engine import make_url

    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def sqlalchemy_url(admin_url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(drivername="postgresql+psycopg", database=database).render_as_string(False)


def admin_sql(admin_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(plain_dsn(admin_url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]  # our own literal SQL


def make_template(admin_url: str, env: AirflowEnv, home: Path, kubeconfig: Path) -> str:
    """Migrate Airflow's schema once into database `af_template`; returns its name."""
    admin_sql(admin_url, 'CREATE DATABASE "af_template"')
    af = AirflowDeployment(
        env=env,
        home=home,
        kubeconfig=kubeconfig,
        db_url=sqlalchemy_url(admin_url, "af_template"),
        dag_files=(),
        config={"core": {"default_pool_task_slot_count": "1024"}},  # 128 by default: the race holds more
    )
    af.prepare()
    return "af_template"


def database_for(admin_url: str, template: str, key: str) -> str:
    """A fresh copy of the migrated template, whose sessions give up on a lock after LOCK_TIMEOUT."""
    name = "af_" + key.replace("-", "_").replace(".", "_")
    admin_sql(
        admin_url,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{template}"',
        f"ALTER DATABASE \"{name}\" SET lock_timeout = '{LOCK_TIMEOUT}'",
    )
    return name
