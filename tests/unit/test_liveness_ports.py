"""Liveness against in-memory ports: the union of sources, None only when none can tell, stale Leases deleted."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from podherd.core.ha.lease import ReplicaLease, lease_name
from podherd.core.ha.liveness import Liveness
from podherd.core.kube.classify import UNAUTHORIZED, Unusable
from podherd.core.kube.health import ApiHealth
from tests.unit.fakes import FakeAlive, FakeClock, FakeLeases, Strict


def test_both_is_the_union_and_unknown_only_when_no_source_answers() -> None:
    leases = FakeLeases()
    leases.put(lease_name(9), holder=9)
    registry = FakeAlive({7})
    live = Liveness(5, 30, "both", registry, leases, clock=FakeClock())
    assert live.alive_siblings() == {7, 9}
    registry.alive = None  # the database is down: the Leases still answer
    assert live.alive_siblings() == {9}
    assert live.stats.db_failures == 1 and live.stats.unknown == 0


def test_no_answer_from_any_source_is_none_never_the_empty_set() -> None:
    class Down(FakeLeases):
        def list_leases(self, namespace: str, label_selector: str = "") -> list[dict[str, object]]:
            raise ApiException(status=503, reason="Unavailable")

    live = Liveness(5, 30, "both", FakeAlive(None), Down(), clock=FakeClock())
    assert live.alive_siblings() is None
    assert (live.stats.unknown, live.stats.db_failures, live.stats.lease_failures) == (1, 1, 1)


def test_no_lease_request_while_the_api_refuses_us() -> None:
    health = ApiHealth(clock=FakeClock())
    health.refused(Unusable(UNAUTHORIZED, "401"))
    live = Liveness(5, 30, "lease", leases=Strict("leases"), health=health, clock=FakeClock())  # type: ignore[arg-type]
    assert live.alive_siblings() is None and live.stats.lease_failures == 1


def test_a_lease_is_judged_by_when_this_process_saw_it_change() -> None:
    leases, clock = FakeLeases(), FakeClock()
    leases.put(lease_name(9), holder=9, duration=5)
    live = Liveness(5, 5, "lease", leases=leases, clock=clock)
    assert live.alive_siblings() == {9}
    clock.advance(6)  # not renewed for longer than its duration
    assert live.alive_siblings() == set()
    leases.put(lease_name(9), holder=9, duration=5, renew="t1")  # a renewal is a change: alive again
    assert live.alive_siblings() == {9}


def test_stale_leases_are_deleted_by_the_liveness_component() -> None:
    leases, clock = FakeLeases(), FakeClock()
    leases.put(lease_name(9), holder=9, duration=5)
    leases.put(lease_name(8), holder=8, duration=5)
    live = Liveness(5, 5, "lease", leases=leases, clock=clock)
    live.alive_siblings()
    clock.advance(10)  # dead, not yet stale (3 x 5 s)
    live.alive_siblings()
    assert live.delete_stale_leases() == 0 and leases.deleted == []
    clock.advance(6)
    del leases.leases[lease_name(8)]  # someone else deleted this one already: a 404 is fine
    assert live.stale_leases() == [lease_name(8), lease_name(9)]
    assert live.delete_stale_leases() == 1 and leases.deleted == [lease_name(9)]
    assert live.stale_leases() == [] and live.stats.leases_deleted == 1


def test_db_only_liveness_never_touches_leases() -> None:
    live = Liveness(5, 30, "db", FakeAlive({7}), Strict("leases"))  # type: ignore[arg-type]
    assert live.alive_siblings() == {7} and live.delete_stale_leases() == 0


def test_a_mode_needs_its_sources() -> None:
    with pytest.raises(ValueError, match="db, lease or both"):
        Liveness(5, 30, "neither", FakeAlive(set()))
    with pytest.raises(ValueError, match="Kubernetes client"):
        Liveness(5, 30, "both", FakeAlive(set()))
    with pytest.raises(ValueError, match="registry"):
        Liveness(5, 30, "db")


def test_the_replica_lease_is_created_then_renewed_with_its_resource_version() -> None:
    leases = FakeLeases()
    own = ReplicaLease(leases, "default", 5, duration=30, hostname="h")
    own.renew()
    first = leases.leases[lease_name(5)]["metadata"]["resourceVersion"]
    own.renew()
    assert leases.leases[lease_name(5)]["metadata"]["resourceVersion"] != first
    leases.put(lease_name(5), holder=5)  # someone wrote it meanwhile: a 409, re-read next time
    own.renew()
    own.renew()
    assert leases.leases[lease_name(5)]["spec"]["holderIdentity"] == "5"
    own.release()
    assert leases.deleted == [lease_name(5)]
