"""Nothing leaks while the owner lives: a pod whose cleanup gave up is removed by the owner's own sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ha.harness import Harness, free_port, sim_task

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("delete_pods", ["true", "false"])
def test_pods_whose_cleanup_gave_up_are_removed_by_their_living_owner(tmp_path: Path, delete_pods: str) -> None:
    h = Harness(tmp_path, f"sqlite:///{tmp_path}/leak.db", cluster_args=("--fault", "error_rate.delete=1"))
    if delete_pods == "false":  # kept pods are labelled done: make that PATCH fail instead
        h.cluster_args = ("--fault", "error_rate.patch=1")
    h.start_cluster()
    port = free_port()
    try:
        h.submit([sim_task(f"l{i}", seconds=0.2) for i in range(5)])
        h.start_replica(
            "owner",
            args=["--metrics-port", str(port)],
            kubernetes_executor__delete_worker_pods=delete_pods,
            kubernetes_executor__done_pod_retention="1",
        )
        h.wait_for(lambda: h.counts()["success"] == 5, 60, "every result recorded")
        h.wait_for(lambda: h.metrics(port)["podherd_cleanup_gave_up_total"] >= 5, 90, "cleanups to give up")
        assert len(h.pods()) == 5, "the API refused every removal: the pods are still there"
        h.set_faults({"error_rate": {}})  # the API heals; the owner is alive all along
        h.wait_no_pods(timeout=60)
        assert h.replicas["owner"].poll() is None
        assert h.metrics(port)["podherd_leftover_pods_retried_total"] >= 5
        h.assert_invariants()
        assert h.counts()["success"] == 5
    finally:
        h.stop()
