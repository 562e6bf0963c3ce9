"""Liveness from the DB and from Leases, against a real local cluster and SQLite, with a controlled clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import update

from podherd.core.ha.lease import ReplicaLease
from podherd.core.ha.liveness import Liveness
from podherd.core.kube.client import KubeClient
from podherd.localcluster.apiserver.server import LocalCluster
from podherd.standalone.alive import JobTable
from podherd.standalone.db import open_database, queries
from podherd.standalone.db.models import Job


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_db_liveness_and_ended_rows(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/l.db")
    me = queries.register_job(engine, queries.SCHEDULER_JOB, "h", 1)
    other = queries.register_job(engine, queries.SCHEDULER_JOB, "h", 2)
    ended = queries.register_job(engine, queries.SCHEDULER_JOB, "h", 3)
    queries.end_job(engine, ended)
    live = Liveness(me, threshold=30, mode="db", registry=JobTable(engine, me, 30))
    assert live.alive_siblings() == {other}
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
    with engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == other).values(latest_heartbeat=stale))
    assert live.alive_siblings() == set()


def test_unknown_when_no_source_answers(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/l.db")
    me = queries.register_job(engine, queries.SCHEDULER_JOB, "h", 1)
    live = Liveness(me, threshold=30, mode="db", registry=JobTable(engine, me, 30))
    engine.dispose()
    (tmp_path / "l.db").unlink()
    (tmp_path / "l.db").mkdir()  # the database is gone: the query fails
    assert live.alive_siblings() is None  # never "everyone else is dead"
    assert live.stats.unknown == 1 and live.stats.db_failures == 1


def test_lease_liveness_judged_by_local_observation(cluster: LocalCluster, tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/l.db")
    kube = KubeClient(cluster.api_client().configuration)
    ns = "default"
    me = queries.register_job(engine, queries.SCHEDULER_JOB, "h", 1)
    sibling = ReplicaLease(kube, ns, job_id=me + 1000, duration=5, hostname="h")
    sibling.renew()
    clock = Clock()
    live = Liveness(me, threshold=5, mode="lease", leases=kube, lease_namespace=ns, clock=clock)
    assert me + 1000 in live.alive_siblings()  # first seen now: alive for one lease duration
    clock.now += 4
    assert me + 1000 in live.alive_siblings()
    clock.now += 2  # no renewal observed for 6 s > 5 s
    assert me + 1000 not in live.alive_siblings()
    sibling.renew()  # a renewal is a change: alive again
    assert me + 1000 in live.alive_siblings()
    sibling.release()
    assert me + 1000 not in live.alive_siblings()  # a released (deleted) lease is not alive


def test_both_is_the_union_and_survives_one_source_down(cluster: LocalCluster, tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/l.db")
    kube = KubeClient(cluster.api_client().configuration)
    me = queries.register_job(engine, queries.SCHEDULER_JOB, "h", 1)
    db_only = queries.register_job(engine, queries.SCHEDULER_JOB, "h", 2)
    lease_only = ReplicaLease(kube, "default", job_id=me + 2000, duration=30, hostname="h")
    lease_only.renew()
    live = Liveness(
        me, threshold=30, mode="both", registry=JobTable(engine, me, 30), leases=kube, lease_namespace="default"
    )
    alive = live.alive_siblings()
    assert alive is not None and {db_only, me + 2000} <= alive
    engine.dispose()
    (tmp_path / "l.db").unlink()
    (tmp_path / "l.db").mkdir()
    alive = live.alive_siblings()  # the DB is down: the leases still answer
    assert alive is not None and me + 2000 in alive
    lease_only.release()


def test_leases_of_long_gone_replicas_are_reported_stale(cluster: LocalCluster, tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/l.db")
    kube = KubeClient(cluster.api_client().configuration)
    me = queries.register_job(engine, queries.SCHEDULER_JOB, "h", 1)
    crashed = ReplicaLease(kube, "default", job_id=me + 3000, duration=5, hostname="h")
    crashed.renew()  # then it is kill -9ed: it never renews or deletes it again
    clock = Clock()
    live = Liveness(me, threshold=5, mode="lease", leases=kube, lease_namespace="default", clock=clock)
    live.alive_siblings()
    clock.now += 10  # dead (> 5 s) but not yet stale (3 x 5 s)
    assert me + 3000 not in live.alive_siblings()
    assert live.stale_leases() == []
    clock.now += 6
    assert live.stale_leases() == [crashed.name]
    crashed.release()
