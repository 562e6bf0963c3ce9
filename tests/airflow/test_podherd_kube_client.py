"""podherd's Kubernetes client with the `kubernetes` package Airflow's provider pins (36.x), not podherd's own.

`PodherdExecutor` runs in the Airflow venv. Found by the Airflow benchmark's sweep-cost scenario:
up to kubernetes 36 the generated list method overwrote the Accept header podherd passed in
`_headers`, so every metadata-only list of the executor (completed-pod sweeps, takeover, retention,
adoption's listing of a dead scheduler's pods) fetched whole pods, 2-3x the bytes.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.airflow.harness import AirflowEnv
from tests.ha.harness import Harness

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

SCRIPT = """
import json, sys
import kubernetes
from podherd.core.kube.client import KubeClient, KubeSettings

kube = KubeClient.from_settings(KubeSettings(kubeconfig=sys.argv[1]))
meta, _ = kube.list_pods("default", "app=probe", metadata_only=True)
full, _ = kube.list_pods("default", "app=probe")
print(json.dumps({"kubernetes": kubernetes.__version__, "meta": meta, "full": full}))
"""


def test_metadata_only_lists_are_metadata_only_under_the_providers_kubernetes(
    airflow_env: AirflowEnv, embedded_cluster: Harness
) -> None:
    pod = {
        "metadata": {"name": "probe", "labels": {"app": "probe"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36", "command": ["true"]}]},
    }
    embedded_cluster.core.create_namespaced_pod("default", pod)
    out = subprocess.run(
        [str(airflow_env.python), "-c", SCRIPT, str(embedded_cluster.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer = json.loads(out.stdout)
    assert answer["kubernetes"].split(".")[0] == "36", "the Airflow venv's pin moved: is this still the case?"
    [meta], [full] = answer["meta"], answer["full"]
    assert meta["metadata"]["name"] == "probe" and meta["metadata"]["labels"] == {"app": "probe"}
    assert "spec" not in meta and "status" not in meta
    assert "spec" in full and "status" in full
