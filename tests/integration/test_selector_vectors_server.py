"""Apimachinery's selector vectors evaluated by the server: match vectors through LIST, parse errors as 400."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from podherd.localcluster.apiserver.server import LocalCluster, http_pool

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "k8s"


def load(name: str) -> list[dict[str, Any]]:
    return json.loads((VECTORS / name).read_text())["vectors"]


LABEL = load("label_selector_vectors.json")
MATCH = [v for v in LABEL if "labels" in v]
ERRORS = [v for v in LABEL if v.get("error") is True]
FIELD_ERRORS = [v for v in load("field_selector_vectors.json") if v.get("error") is True]


def test_vectors_are_present() -> None:
    assert len(MATCH) >= 20 and len(ERRORS) >= 10 and FIELD_ERRORS


def test_match_vectors_through_list(cluster: LocalCluster, ns: str) -> None:
    coord = client.CoordinationV1Api(cluster.api_client())
    core = client.CoreV1Api(cluster.api_client())
    # One labelled object per vector (leases: no kubelet work); each is listed with its vector's selector.
    for i, v in enumerate(MATCH):
        coord.create_namespaced_lease(ns, {"metadata": {"name": f"v{i}", "labels": v["labels"]}})
        core.create_namespaced_pod(
            ns,
            {
                "metadata": {"name": f"v{i}", "labels": v["labels"]},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox", "command": ["true"]}],
                },
            },
        )
    failures = []
    for i, v in enumerate(MATCH):
        for lister in (coord.list_namespaced_lease, core.list_namespaced_pod):
            names = {o.metadata.name for o in lister(ns, label_selector=v["selector"]).items}
            if (f"v{i}" in names) != v["matches"]:
                failures.append((v["selector"], v["labels"], v["matches"], lister.__name__))
    assert failures == []


@pytest.mark.parametrize("vector", ERRORS, ids=[v["selector"][:40] for v in ERRORS])
def test_label_parse_errors_are_400(cluster: LocalCluster, vector: dict[str, Any]) -> None:
    core = client.CoreV1Api(cluster.api_client())
    with pytest.raises(ApiException) as ei:
        core.list_namespaced_pod("default", label_selector=vector["selector"])
    assert ei.value.status == 400
    assert json.loads(ei.value.body)["reason"] == "BadRequest"


@pytest.mark.parametrize("vector", FIELD_ERRORS, ids=[v["selector"][:40] for v in FIELD_ERRORS])
def test_field_parse_errors_are_400(cluster: LocalCluster, vector: dict[str, Any]) -> None:
    r = http_pool(cluster).request(
        "GET",
        f"{cluster.url}/api/v1/namespaces/default/pods",
        fields={"fieldSelector": vector["selector"]},
        headers={"Authorization": f"Bearer {cluster.token}"},
    )
    assert r.status == 400, (vector, r.data)
