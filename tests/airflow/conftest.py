"""Fixtures for tests against real Apache Airflow 3.3 (see harness.py for the pieces).

* `airflow_env` / `airflow_thrash_env` (session): the venvs from `scripts/airflow-env.sh`
  (`current`: podherd + Airflow 3.3.2 + provider 10.25.0; `thrash`: provider 10.17.0). Built on
  first use (about a minute each with a warm network), found up to date afterwards. Never skipped.
* `embedded_cluster`: a fresh `podherd cluster up --mode process` per test, with its audit log.
* `airflow_factory`: `airflow_factory(env, executor=..., db_url=..., config=...)` returns an
  `AirflowDeployment` on that cluster; every deployment it made is stopped after the test (each
  leader SIGTERMed, 5 s of grace, then each process group SIGKILLed).
* `airflow_postgres_url`: a fresh database on the session's throwaway PostgreSQL, as a
  `postgresql+psycopg://` URL (for two or more schedulers).

Example::

    def test_runs(airflow_env, airflow_factory):
        af = airflow_factory(airflow_env, executor=KUBERNETES_EXECUTOR)
        af.start(schedulers=1)
        run_id = af.trigger("podherd_probe")
        assert af.wait_run("podherd_probe", run_id)["state"] == "failed"  # some tasks fail on purpose
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.harness import (
    KUBERNETES_EXECUTOR,
    AirflowDeployment,
    AirflowEnv,
    ensure_airflow_env,
    start_embedded_cluster,
)
from tests.ha.harness import Harness

_databases = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "airflow: runs real Apache Airflow 3.3 (installs it on first use)")


@pytest.fixture(scope="session")
def airflow_env() -> AirflowEnv:
    return ensure_airflow_env("current")


@pytest.fixture(scope="session")
def airflow_thrash_env() -> AirflowEnv:
    return ensure_airflow_env("thrash")


@pytest.fixture
def embedded_cluster(tmp_path: Path) -> Iterator[Harness]:
    cluster = start_embedded_cluster(tmp_path / "k8s")
    try:
        yield cluster
    finally:
        cluster.stop()


AirflowFactory = Callable[..., AirflowDeployment]


@pytest.fixture
def airflow_factory(tmp_path: Path, embedded_cluster: Harness) -> Iterator[AirflowFactory]:
    made: list[AirflowDeployment] = []

    def make(env: AirflowEnv, executor: str = KUBERNETES_EXECUTOR, **kwargs: Any) -> AirflowDeployment:
        home = kwargs.pop("home", tmp_path / f"airflow{len(made) or ''}")
        af = AirflowDeployment(env=env, home=home, kubeconfig=embedded_cluster.kubeconfig, executor=executor, **kwargs)
        made.append(af)
        return af

    try:
        yield make
    finally:
        # A short grace: the provider's scheduler spends 20 s of its shutdown waiting for its
        # watcher process. A test that checks a graceful stop calls `stop_process` itself.
        for af in made:
            af.stop(grace=5)


@pytest.fixture
def airflow_postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty database (Airflow keeps its tables in `public`; a schema per test will not do)."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(postgres_server)
    name = f"airflow_t{os.getpid()}_{next(_databases)}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
