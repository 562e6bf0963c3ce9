"""Changing the image of a running pod (an allowed update) restarts that container, as a kubelet does."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client

from podherd.localcluster.apiserver.server import LocalCluster
from tests.integration.conftest import wait_for
from tests.integration.kubectl_cli import kubectl, needs_kubectl

TWO = {
    "metadata": {"name": "web"},
    "spec": {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 5,
        "containers": [
            {
                "name": "app",
                "image": "busybox:1.36",
                "command": ["sh", "-c", "echo started $IMAGE; exec sleep 60"],
                "env": [{"name": "IMAGE", "value": "one"}],
            },
            {"name": "side", "image": "busybox:1.36", "command": ["sleep", "60"]},
        ],
    },
}


def statuses(core: client.CoreV1Api, ns: str) -> dict[str, client.V1ContainerStatus]:
    return {s.name: s for s in core.read_namespaced_pod("web", ns).status.container_statuses or []}


def running(core: client.CoreV1Api, ns: str, name: str, restarts: int) -> bool:
    s = statuses(core, ns).get(name)
    return s is not None and s.state.running is not None and s.restart_count == restarts


@needs_kubectl
def test_a_new_image_restarts_only_that_container(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    core.create_namespaced_pod(ns, TWO)
    wait_for(lambda: running(core, ns, "app", 0) and running(core, ns, "side", 0), what="both running")
    before = statuses(core, ns)
    out = kubectl(cluster, tmp_path, "-n", ns, "set", "image", "pod/web", "app=busybox:1.37")
    assert "pod/web image updated" in out
    wait_for(lambda: running(core, ns, "app", 1), timeout=30, what="app restarted")
    after = statuses(core, ns)
    app = after["app"]
    assert (
        app.image == "busybox:1.37"
        and app.image_id != before["app"].image_id
        and app.image_id.startswith("docker.io/library/busybox@sha256:")
    )
    assert app.container_id != before["app"].container_id and app.ready
    last = app.last_state.terminated
    assert last.exit_code == 143 and last.reason == "Error" and last.container_id == before["app"].container_id
    side = after["side"]
    assert (side.restart_count, side.container_id, side.image) == (0, before["side"].container_id, "busybox:1.36")
    assert core.read_namespaced_pod("web", ns).status.phase == "Running"
    sel = "involvedObject.name=web,involvedObject.fieldPath=spec.containers{app}"
    events = {(e.reason, e.message): e for e in core.list_namespaced_event(ns, field_selector=sel).items}
    killing = events[("Killing", "Container app definition changed, will be restarted")]
    pulled = events[("Pulled", 'Container image "busybox:1.37" already present on machine')]
    created, started = events[("Created", "Created container: app")], events[("Started", "Started container app")]
    assert (created.count, started.count) == (2, 2)  # the same event again: the recorder counts it, as kubelets do
    assert killing.last_timestamp <= pulled.last_timestamp <= created.last_timestamp <= started.last_timestamp
    assert kubectl(cluster, tmp_path, "-n", ns, "logs", "web", "-c", "app", "-p") == "started one\n"
    table = kubectl(cluster, tmp_path, "-n", ns, "get", "pod", "web").splitlines()[1].split()
    assert table[1:4] == ["2/2", "Running", "1"]
    core.delete_namespaced_pod("web", ns, grace_period_seconds=0)
