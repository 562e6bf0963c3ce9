"""The local cluster's fast paths: JSON copies, the equal-spec update check, shallow renderings,
watch lines encoded once per commit, and the GC tuning while a cluster runs.

Each must give exactly what the slow path gave (the expected values below were taken from it).
"""

from __future__ import annotations

import copy
import gc
from datetime import UTC, datetime
from typing import Any

import pytest

from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.apiserver.gctuning import GC_THRESHOLDS, GcTuning
from podherd.localcluster.apiserver.handlers import watch as watch_mod
from podherd.localcluster.apiserver.handlers.dispatch import ResourceHandlers
from podherd.localcluster.apiserver.handlers.watch import encode_event
from podherd.localcluster.apiserver.tables import COLUMNS, table, to_partial_metadata
from podherd.localcluster.kubelet.logs import LogStore
from podherd.localcluster.registry.deletion import Deleter
from podherd.localcluster.registry.store import Api
from podherd.localcluster.storage.store import Event, Store, transition
from podherd.localcluster.validation import podupdate as podvalidation
from podherd.localcluster.validation.defaults import default_pod, json_copy
from podherd.localcluster.validation.podupdate import validate_pod_update


def body() -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "default", "labels": {"app": "x"}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox:1",
                    "env": [{"name": "A", "value": "1"}],
                    "livenessProbe": {"httpGet": {"port": 80}},
                }
            ]
        },
    }


def containers_of(value: Any) -> list[int]:
    """ids of every dict and list inside `value`."""
    if isinstance(value, dict):
        return [id(value), *(i for v in value.values() for i in containers_of(v))]
    if isinstance(value, list):
        return [id(value), *(i for v in value for i in containers_of(v))]
    return []


# ---- json_copy and default_pod ------------------------------------------------------------------------


def test_json_copy_is_a_deep_copy() -> None:
    value = {"a": [1, 2.5, None, True, {"b": "c"}], "d": {"e": []}, "t": (1, [2]), "s": {3}}
    out = json_copy(value)
    assert out == value
    assert not set(containers_of(out)) & set(containers_of(value))
    assert out["t"][1] is not value["t"][1] and out["s"] is not value["s"]  # other types: copy.deepcopy


def test_default_pod_neither_modifies_nor_shares_its_input() -> None:
    b = body()
    snapshot = copy.deepcopy(b)
    out = default_pod(b)
    assert b == snapshot
    assert out["spec"]["containers"][0]["livenessProbe"]["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}
    assert not set(containers_of(out)) & set(containers_of(b))


# ---- validate_pod_update with an unchanged spec ---------------------------------------------------------


def pod_with(**spec: Any) -> dict[str, Any]:
    base = default_pod(body())
    return {**base, "metadata": {**base["metadata"], "uid": "u"}, "spec": {**base["spec"], **spec}}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, []),
        (
            {"activeDeadlineSeconds": "5"},
            [
                (
                    "spec.activeDeadlineSeconds",
                    "Invalid value: null: must not update from a positive integer to nil value",
                )
            ],
        ),
        (
            {"activeDeadlineSeconds": 2**31},
            [("spec.activeDeadlineSeconds", "Invalid value: 2147483648: must be between 0 and 2147483647, inclusive")],
        ),
        ({"containers": {"a": 1}}, [("spec.containers", "Forbidden: pod updates may not add or remove containers")]),
        (
            {"tolerations": "ab"},
            [("spec.tolerations", "Forbidden: existing toleration can not be modified except its tolerationSeconds")],
        ),
    ],
)
def test_update_with_an_equal_spec_still_checks_its_shape(
    spec: dict[str, Any], expected: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_defaulting(_spec: Any) -> Any:
        raise AssertionError("equal specs need no defaulting")

    monkeypatch.setattr(podvalidation, "_internal_spec", no_defaulting)
    old = pod_with(**spec)
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"app": "y"}
    assert [(c.field, c.message) for c in validate_pod_update(old, new)] == expected


def test_update_with_a_changed_spec_takes_the_full_check() -> None:
    old = pod_with()
    image_only = copy.deepcopy(old)
    image_only["spec"]["containers"][0]["image"] = "busybox:2"
    assert validate_pod_update(old, image_only) == []
    forbidden = copy.deepcopy(old)
    forbidden["spec"]["containers"][0]["env"] = []
    assert [c.field for c in validate_pod_update(old, forbidden)] == ["spec"]


# ---- renderings share the stored values -----------------------------------------------------------------


def test_partial_metadata_copies_only_the_top_level() -> None:
    pod = default_pod(body())
    p = to_partial_metadata(pod, "v1", "Pod")
    assert p["metadata"] == pod["metadata"] and p["metadata"] is not pod["metadata"]
    assert p["metadata"]["labels"] is pod["metadata"]["labels"]  # stored objects are immutable


def test_table_columns_are_copies() -> None:
    t = table("pods", [], {}, datetime(2024, 1, 1, tzinfo=UTC))
    t["columnDefinitions"][0]["name"] = "changed"
    assert COLUMNS["pods"][0]["name"] == "Name"


# ---- watch lines encoded once per commit ---------------------------------------------------------------


def labelled(app: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "default", "labels": {"app": app}, "resourceVersion": str(rv)}}


def test_transition_shares_the_cache_only_for_the_event_object() -> None:
    cache: dict[Any, bytes] = {}
    ev = Event("MODIFIED", "pods", ("default", "p"), 7, labelled("b", 7), labelled("a", 6))
    wants_b = transition(ev, lambda o: o["metadata"]["labels"]["app"] == "b", cache)
    wants_a = transition(ev, lambda o: o["metadata"]["labels"]["app"] == "a", cache)
    assert wants_b is not None and wants_b.type == "ADDED" and wants_b.encoded is cache
    assert wants_a is not None and wants_a.type == "DELETED" and wants_a.encoded is None  # its own object
    assert wants_a.obj is not None and wants_a.obj["metadata"]["resourceVersion"] == "7"


@pytest.fixture
def resource_handlers() -> ResourceHandlers:
    store = Store()
    api = Api(store)
    return ResourceHandlers(store, api, Deleter(api), LogStore())


def test_watchers_of_one_commit_share_one_encoding(
    resource_handlers: ResourceHandlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = resource_handlers.store
    watchers = [store.watch("pods", "default", lambda _o: True, store.rv) for _ in range(3)]
    store.create("pods", ("default", "p"), {"metadata": {"name": "p", "namespace": "default"}, "spec": {}})
    items = [w.queue.get_nowait() for w in watchers]
    assert items[0].encoded is not None and all(i.encoded is items[0].encoded for i in items)
    calls: list[Any] = []
    real = watch_mod.dumps
    monkeypatch.setattr(watch_mod, "dumps", lambda obj: calls.append(obj) or real(obj))
    lines = [encode_event(PODS, i, "json", "Metadata") for i in items]
    assert len(calls) == 1 and all(line is lines[0] for line in lines)
    uncached = copy.copy(items[0])
    uncached.encoded = None
    assert encode_event(PODS, uncached, "json", "Metadata") == lines[0]
    partial = [encode_event(PODS, i, "partial", "Metadata") for i in items]
    assert len(calls) == 3 and partial[0] != lines[0] and all(p is partial[0] for p in partial)
    encode_event(PODS, items[0], "table", "Metadata")
    encode_event(PODS, items[1], "table", "Metadata")
    assert len(calls) == 5  # Table rows carry ages as of now: never shared
    assert len(items[0].encoded) == 2


def test_the_cache_of_a_commit_is_not_kept_in_history(resource_handlers: ResourceHandlers) -> None:
    store = resource_handlers.store
    w = store.watch("pods", "default", lambda _o: True, store.rv)
    store.create("pods", ("default", "p"), {"metadata": {"name": "p", "namespace": "default"}, "spec": {}})
    item = w.queue.get_nowait()
    encode_event(PODS, item, "json", "Metadata")
    replay = store.watch("pods", "default", lambda _o: True, store.rv - 1).queue.get_nowait()
    assert replay == item and replay.encoded is None


# ---- GC tuning --------------------------------------------------------------------------------------


def test_gc_tuning_nests_and_restores() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    tuning = GcTuning()
    tuning.acquire()
    tuning.acquire()
    assert gc.get_threshold() == GC_THRESHOLDS
    tuning.release()
    assert gc.get_threshold() == GC_THRESHOLDS
    tuning.release()
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_gc_tuning_keeps_a_threshold_set_meanwhile() -> None:
    before = gc.get_threshold()
    tuning = GcTuning()
    tuning.acquire()
    try:
        gc.set_threshold(1234, 5, 6)
        tuning.release()
        assert gc.get_threshold() == (1234, 5, 6)
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("enabled", [True, False])
def test_cluster_tunes_gc_only_while_running_and_only_when_asked(enabled: bool) -> None:
    """In a fresh interpreter, so no other cluster of this test process holds the tuning."""
    import subprocess
    import sys

    script = (
        "import gc\n"
        "from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster, GC_THRESHOLDS\n"
        "before = gc.get_threshold()\n"
        f"with LocalCluster(ClusterConfig(mode='none', tls=False, gc_tuning={enabled})):\n"
        "    during = gc.get_threshold()\n"
        "after = gc.get_threshold()\n"
        "print(before == after, during == (GC_THRESHOLDS if " + str(enabled) + " else before))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]
