"""In a pod: a rotated service-account token and a new CA are picked up without a restart.

Bound service-account tokens rotate (the kubelet rewrites the projected file), and an API server
may come back with a new CA. The client must re-read the files after an auth or TLS failure
rather than retry the old credentials forever. Real API server (the local cluster), real
official client, the in-cluster loader pointed at this test's files.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from podherd.core.kube.client import KubeClient, KubeSettings
from podherd.core.kube.health import OK, UNUSABLE
from podherd.core.kube.recovery import Recovery
from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster
from tests.ha.harness import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def pod_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The service-account directory of a fake pod; KUBERNETES_SERVICE_* point at `port`."""
    from kubernetes.config import incluster_config

    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(sa / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(sa / "ca.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    yield sa


def start(port: int, token: str) -> LocalCluster:
    return LocalCluster(ClusterConfig(port=port, token=token, mode="none", gc_tuning=False)).start()


def mount(sa: Path, cluster: LocalCluster, token: str) -> None:
    """What the kubelet does: (re)write the projected token and CA files."""
    assert cluster.ca_file is not None
    (sa / "token").write_text(token)
    shutil.copyfile(cluster.ca_file, sa / "ca.crt")


def test_rotated_token_and_new_ca_are_reread_after_the_failure(
    pod_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(port))
    cluster = start(port, "token-1")
    mount(pod_files, cluster, "token-1")
    kube = KubeClient.from_settings(KubeSettings())
    recovery = Recovery(kube, "default")
    try:
        kube.probe("default")
        assert kube.health.ready

        # 1. the token rotates: the old one is refused (401), the file holds the new one
        cluster.app.token = "token-2"
        (pod_files / "token").write_text("token-2")
        with pytest.raises(Exception, match=r"401|Unauthorized"):
            kube.probe("default")
        assert kube.health.snapshot().state == UNUSABLE and kube.health.reason.startswith("unauthorized")
        assert recovery.probe_once(), "re-reading the token file brings the API back"
        assert kube.health.snapshot().state == OK and kube.reloads == 1

        # 2. the API server comes back with a new CA and a new token on the same address
        cluster.stop()
        cluster = start(port, "token-3")
        with pytest.raises(Exception, match=r"(?i)ssl|certificate"):
            kube.probe("default")
        assert kube.health.reason.startswith("tls")
        assert not recovery.probe_once(), "the files still hold the old CA: still unusable"
        mount(pod_files, cluster, "token-3")
        assert recovery.probe_once()
        assert kube.health.ready and kube.health.snapshot().recoveries == 2
        kube.list_pods("default")  # and ordinary requests work on the new connection
    finally:
        kube.close()
        cluster.stop()
