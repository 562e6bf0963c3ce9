"""What the provider's KubernetesExecutor relies on and podherd's embedded cluster does differently.

Each test states the real API server's behaviour (../shared/k8s/API.md). A gap still open is a strict
xfail, so that fixing the cluster turns it into a failure that asks for the marker to go; the
finished-pod DELETE below was one and is now closed.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.harness import start_embedded_cluster

pytestmark = [pytest.mark.integration]


def test_deleting_a_finished_pod_sets_deletion_timestamp(tmp_path: Path) -> None:
    """The provider's watcher reads a DELETED event without deletionTimestamp as "adopted by another
    scheduler" (kubernetes_executor_utils.py, KubernetesJobWatcher.process_status): it frees the slot
    and never records the pod's result."""
    cluster = start_embedded_cluster(tmp_path / "k8s")
    try:
        core = cluster.core
        core.create_namespaced_pod(
            "default",
            {
                "metadata": {"name": "finished"},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "base", "image": "busybox:1.36", "command": ["/bin/sh", "-c", "exit 0"]}],
                },
            },
        )
        deadline = time.monotonic() + 30
        while core.read_namespaced_pod("finished", "default").status.phase != "Succeeded":
            assert time.monotonic() < deadline, "pod did not succeed"
            time.sleep(0.1)
        rv = core.list_namespaced_pod("default").metadata.resource_version
        stream = core.list_namespaced_pod(
            "default", watch=True, resource_version=rv, timeout_seconds=5, _preload_content=False
        )
        events: list[dict[str, Any]] = []

        def read() -> None:
            for line in stream:
                events.append(json.loads(line))
                if events[-1]["type"] == "DELETED":
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        answer = json.loads(core.delete_namespaced_pod("finished", "default", _preload_content=False).data)
        reader.join(timeout=10)
        deleted = [e["object"]["metadata"] for e in events if e["type"] == "DELETED"]
        assert len(deleted) == 1
        assert "deletionTimestamp" in answer["metadata"]
        assert deleted[0].get("deletionTimestamp") and deleted[0].get("deletionGracePeriodSeconds") == 0
    finally:
        cluster.stop()
