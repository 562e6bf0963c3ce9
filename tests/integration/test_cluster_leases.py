"""Lease times come back as kube-apiserver stores them: MicroTime, UTC, exactly six fractional digits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

from kubernetes import client

from podherd.localcluster.apiserver.server import LocalCluster

MICRO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def raw_lease(coord: client.CoordinationV1Api, ns: str, name: str) -> dict:
    return json.loads(coord.read_namespaced_lease(name, ns, _preload_content=False).data)


def test_lease_times_are_stored_as_micro_time_in_utc(cluster: LocalCluster, ns: str) -> None:
    coord = client.CoordinationV1Api(cluster.api_client())
    body = {
        "metadata": {"name": "times"},
        "spec": {
            "holderIdentity": "a",
            "acquireTime": "2026-03-01T12:00:00+02:00",  # no fraction, an offset
            "renewTime": "2026-03-01T10:00:00.123456789Z",  # nanoseconds
        },
    }
    created = json.loads(coord.create_namespaced_lease(ns, body, _preload_content=False).data)
    assert created["spec"]["acquireTime"] == "2026-03-01T10:00:00.000000Z"
    assert created["spec"]["renewTime"] == "2026-03-01T10:00:00.123456Z"  # truncated, as Go formats .000000
    assert raw_lease(coord, ns, "times")["spec"] == created["spec"]

    coord.patch_namespaced_lease("times", ns, {"spec": {"renewTime": "2026-03-01T10:00:05.5Z"}})
    assert raw_lease(coord, ns, "times")["spec"]["renewTime"] == "2026-03-01T10:00:05.500000Z"


def test_the_python_clients_datetimes_round_trip(cluster: LocalCluster, ns: str) -> None:
    """The client sends `datetime.isoformat()`: an offset, and no fraction at all when microsecond is 0."""
    coord = client.CoordinationV1Api(cluster.api_client())
    east = timezone(timedelta(hours=5, minutes=30))
    whole = datetime(2026, 3, 1, 15, 30, 0, tzinfo=east)
    spec = client.V1LeaseSpec(holder_identity="me", acquire_time=whole, renew_time=whole + timedelta(microseconds=7))
    lease = coord.create_namespaced_lease(ns, client.V1Lease(metadata=client.V1ObjectMeta(name="dt"), spec=spec))
    assert lease.spec.acquire_time == datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
    stored = raw_lease(coord, ns, "dt")["spec"]
    assert stored["acquireTime"] == "2026-03-01T10:00:00.000000Z"
    assert stored["renewTime"] == "2026-03-01T10:00:00.000007Z"
    lease.spec.renew_time = datetime.now(UTC)
    replaced = json.loads(coord.replace_namespaced_lease("dt", ns, lease, _preload_content=False).data)
    assert MICRO.fullmatch(replaced["spec"]["renewTime"])
