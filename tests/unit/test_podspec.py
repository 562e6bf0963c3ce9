"""Pod naming and task attempt -> pod manifest."""

from __future__ import annotations

import copy
import json
import re
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podherd.core.labels import AIRFLOW_SCHEME, PODHERD_SCHEME, LabelScheme, make_safe_label_value
from podherd.core.podspec import PodRequest, build_pod, deep_merge, pod_name

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def valid_name(name: str) -> bool:
    return len(name) <= 63 and DNS1123_LABEL.fullmatch(name) is not None


# -- pod_name ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_name", "task_id", "try_number", "expected"),
    [
        ("hello", 7, 1, "hello-7-t1"),
        ("My Task", 42, 3, "my-task-42-t3"),
        ("etl.load_users", 1, 1, "etl-load-users-1-t1"),
        ("café", 5, 2, "cafe-5-t2"),  # accents folded, not dropped
        ("", 9, 1, "task-9-t1"),
        ("日本語タスク", 9, 1, "task-9-t1"),
        ("---", 9, 1, "task-9-t1"),
    ],
)
def test_pod_name_examples(task_name: str, task_id: int, try_number: int, expected: str) -> None:
    assert pod_name(task_name, task_id, try_number) == expected


@pytest.mark.parametrize(
    "task_name",
    [
        "",
        "a",
        "A" * 200,
        "x" * 62,
        "ünïcödé-" * 20,
        "日本語タスク",
        "___",
        "a.b.c",
        "  spaced  out  ",
        "a-" * 40,
        "🚀 launch",
    ],
)
@pytest.mark.parametrize(("task_id", "try_number"), [(0, 0), (1, 1), (123456789, 17), (2**63 - 1, 2**31 - 1), (-5, 1)])
def test_pod_name_is_valid_dns1123_label(task_name: str, task_id: int, try_number: int) -> None:
    name = pod_name(task_name, task_id, try_number)
    assert valid_name(name), name
    assert pod_name(task_name, task_id, try_number) == name


def test_pod_name_distinguishes_attempts_and_tasks() -> None:
    long = "very-long-task-name-" * 10
    names = {pod_name(long, task_id, try_number) for task_id in range(1, 50) for try_number in range(1, 5)}
    assert len(names) == 49 * 4
    assert pod_name("t", 1, 1) != pod_name("t", 1, 2)
    assert pod_name("t", 1, 1) != pod_name("t", 2, 1)
    assert pod_name("t", 12, 1) != pod_name("t", 1, 21)  # no ambiguity when concatenating numbers


def test_pod_name_with_absurd_numbers_stays_valid_and_distinct() -> None:
    a = pod_name("job", 10**40, 1)
    b = pod_name("job", 10**40, 2)
    assert valid_name(a) and valid_name(b)
    assert a != b


@given(st.text(max_size=200), st.integers(min_value=-(2**63), max_value=2**63), st.integers(0, 10**6))
def test_pod_name_property(task_name: str, task_id: int, try_number: int) -> None:
    name = pod_name(task_name, task_id, try_number)
    assert valid_name(name), name
    assert pod_name(task_name, task_id, try_number) == name
    assert pod_name(task_name, task_id, try_number + 1) != name


# -- build_pod --------------------------------------------------------------------------------


def request(**kw: Any) -> PodRequest:
    base: dict[str, Any] = dict(
        task_id=42,
        task_name="etl.load users",
        try_number=2,
        owner_id="5",
        image="busybox:1.36",
        command=("sh", "-c"),
        args=("echo hi",),
    )
    base.update(kw)
    return PodRequest(**base)


def base_container(pod: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in pod["spec"]["containers"] if c["name"] == "base"]
    return container


@pytest.mark.parametrize("scheme", [PODHERD_SCHEME, AIRFLOW_SCHEME])
def test_generated_pod_shape(scheme: LabelScheme) -> None:
    pod = build_pod(request(), scheme)
    assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod"
    assert pod["metadata"]["name"] == pod_name("etl.load users", 42, 2)
    assert pod["metadata"]["namespace"] == "default"
    assert pod["metadata"]["labels"] == {
        scheme.executor_key: scheme.executor_value,
        scheme.owner_key: "5",
        scheme.task_key: make_safe_label_value("etl.load users"),
        scheme.try_key: "2",
    }
    assert pod["metadata"]["annotations"] == {scheme.task_id_annotation: "42", scheme.try_annotation: "2"}
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["containers"] == [
        {
            "name": "base",
            "image": "busybox:1.36",
            "command": ["sh", "-c"],
            "args": ["echo hi"],
            "env": [
                {"name": "PODHERD_TASK_ID", "value": "42"},
                {"name": "PODHERD_TRY_NUMBER", "value": "2"},
                {"name": "PODHERD_TASK_NAME", "value": "etl.load users"},
            ],
        }
    ]
    assert scheme.done_key not in pod["metadata"]["labels"]
    for value in pod["metadata"]["labels"].values():
        assert LABEL_VALUE.fullmatch(value) and len(value) <= 63


def test_env_sorted_then_podherd_vars_which_win() -> None:
    pod = build_pod(request(env={"ZED": "z", "ALPHA": "a", "PODHERD_TASK_ID": "spoofed", "MID": "m"}), PODHERD_SCHEME)
    assert base_container(pod)["env"] == [
        {"name": "ALPHA", "value": "a"},
        {"name": "MID", "value": "m"},
        {"name": "ZED", "value": "z"},
        {"name": "PODHERD_TASK_ID", "value": "42"},
        {"name": "PODHERD_TRY_NUMBER", "value": "2"},
        {"name": "PODHERD_TASK_NAME", "value": "etl.load users"},
    ]


def test_optional_fields() -> None:
    pod = build_pod(
        request(
            namespace="batch",
            service_account="runner",
            active_deadline_seconds=600,
            resources={"limits": {"memory": "1Gi"}, "requests": {"cpu": "100m"}},
            labels={"team": "data"},
            annotations={"note": "x"},
            args=(),
            command=(),
        ),
        PODHERD_SCHEME,
    )
    assert pod["metadata"]["namespace"] == "batch"
    assert pod["spec"]["serviceAccountName"] == "runner"
    assert pod["spec"]["activeDeadlineSeconds"] == 600
    container = base_container(pod)
    assert container["resources"] == {"limits": {"memory": "1Gi"}, "requests": {"cpu": "100m"}}
    assert "args" not in container and "command" not in container  # image entrypoint is kept
    assert pod["metadata"]["labels"]["team"] == "data"
    assert pod["metadata"]["annotations"]["note"] == "x"


def test_long_and_unicode_names_give_valid_labels_and_exact_annotations() -> None:
    name = "Ünïcode task " + "x" * 100
    pod = build_pod(request(task_name=name, owner_id="scheduler host-1"), AIRFLOW_SCHEME)
    labels = pod["metadata"]["labels"]
    assert labels["task_id"] == make_safe_label_value(name)
    assert labels["airflow-worker"] == make_safe_label_value("scheduler host-1")
    for value in labels.values():
        assert LABEL_VALUE.fullmatch(value) and len(value) <= 63
    assert pod["metadata"]["annotations"]["task_id"] == "42"  # the exact id lives in annotations
    assert base_container(pod)["env"][-1] == {"name": "PODHERD_TASK_NAME", "value": name}
    assert valid_name(pod["metadata"]["name"])


TEMPLATE = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "template-name", "labels": {"app": "podherd", "podherd.io/done": "true"}},
    "spec": {
        "restartPolicy": "Always",
        "serviceAccountName": "template-sa",
        "tolerations": [{"key": "a", "operator": "Exists"}],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "containers": [
            {
                "name": "base",
                "image": "template:1",
                "env": [{"name": "FROM_TEMPLATE", "value": "1"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            },
            {"name": "sidecar", "image": "proxy:2"},
        ],
    },
}


def test_template_merge() -> None:
    template = copy.deepcopy(TEMPLATE)
    pod = build_pod(request(), PODHERD_SCHEME, template)
    assert template == TEMPLATE  # not mutated
    assert pod["metadata"]["name"] == pod_name("etl.load users", 42, 2)
    assert pod["metadata"]["labels"]["app"] == "podherd"
    assert "podherd.io/done" not in pod["metadata"]["labels"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["serviceAccountName"] == "template-sa"
    assert [c["name"] for c in pod["spec"]["containers"]] == ["base", "sidecar"]
    base = base_container(pod)
    assert base["image"] == "busybox:1.36"  # generated layer wins over the template
    assert base["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert [e["name"] for e in base["env"]] == [
        "FROM_TEMPLATE",
        "PODHERD_TASK_ID",
        "PODHERD_TRY_NUMBER",
        "PODHERD_TASK_NAME",
    ]
    assert pod["spec"]["containers"][1] == {"name": "sidecar", "image": "proxy:2"}


def test_empty_image_keeps_template_image() -> None:
    pod = build_pod(request(image=""), PODHERD_SCHEME, TEMPLATE)
    assert base_container(pod)["image"] == "template:1"


def test_overrides_merge_last() -> None:
    overrides = {
        "metadata": {"labels": {"extra": "yes"}, "annotations": {"podherd.io/task-id": "999"}},
        "spec": {
            "tolerations": [{"key": "b", "operator": "Exists"}],
            "containers": [
                {"name": "base", "image": "override:3", "env": [{"name": "FROM_TEMPLATE", "value": "2"}]},
                {"name": "extra", "image": "extra:1"},
            ],
            "serviceAccountName": None,  # null deletes
            "nodeSelector": {"pool": "batch"},
        },
    }
    pod = build_pod(request(pod_overrides=overrides), PODHERD_SCHEME, TEMPLATE)
    spec = pod["spec"]
    assert spec["tolerations"] == [{"key": "b", "operator": "Exists"}]  # plain list: replaced
    assert [c["name"] for c in spec["containers"]] == ["base", "sidecar", "extra"]
    base = base_container(pod)
    assert base["image"] == "override:3"
    assert base["command"] == ["sh", "-c"]
    assert base["env"][0] == {"name": "FROM_TEMPLATE", "value": "2"}
    assert len(base["env"]) == 4
    assert "serviceAccountName" not in spec
    assert spec["nodeSelector"] == {"pool": "batch"}
    assert pod["metadata"]["labels"]["extra"] == "yes"
    assert pod["metadata"]["annotations"]["podherd.io/task-id"] == "42"  # identity cannot be overridden


@pytest.mark.parametrize(
    "overrides",
    [
        {"metadata": {"name": "other", "namespace": "elsewhere", "generateName": "x-"}},
        {"metadata": {"labels": {"podherd.io/owner": "7", "podherd.io/done": "true", "podherd.io/executor": None}}},
        {"spec": {"restartPolicy": "Always"}},
        {"metadata": {"labels": None, "annotations": None}},
        {"metadata": {"resourceVersion": "12", "uid": "u"}, "status": {"phase": "Succeeded"}},
    ],
)
def test_overrides_cannot_break_invariants(overrides: dict[str, Any]) -> None:
    pod = build_pod(request(pod_overrides=overrides, namespace="ns1"), PODHERD_SCHEME)
    meta = pod["metadata"]
    assert meta["name"] == pod_name("etl.load users", 42, 2)
    assert meta["namespace"] == "ns1"
    assert "generateName" not in meta and "resourceVersion" not in meta and "uid" not in meta
    assert meta["labels"]["podherd.io/owner"] == "5"
    assert meta["labels"]["podherd.io/executor"] == "true"
    assert "podherd.io/done" not in meta["labels"]
    assert meta["annotations"]["podherd.io/try-number"] == "2"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert "status" not in pod


def test_req_labels_cannot_spoof_identity_or_done() -> None:
    pod = build_pod(request(labels={"podherd.io/owner": "9", "podherd.io/done": "true"}), PODHERD_SCHEME)
    assert pod["metadata"]["labels"]["podherd.io/owner"] == "5"
    assert "podherd.io/done" not in pod["metadata"]["labels"]


def test_result_is_json_serialisable_and_fresh() -> None:
    req = request(
        env=MappingProxyType({"A": "1"}),
        resources=MappingProxyType({"limits": MappingProxyType({"cpu": "1"})}),
        pod_overrides={"spec": {"containers": ({"name": "base", "args": ("x", "y")},)}},
    )
    pod = build_pod(req, PODHERD_SCHEME, TEMPLATE)
    assert json.loads(json.dumps(pod)) == pod
    assert base_container(pod)["args"] == ["x", "y"]
    assert build_pod(req, PODHERD_SCHEME, TEMPLATE) == pod
    pod["spec"]["containers"][0]["image"] = "mutated"
    assert build_pod(req, PODHERD_SCHEME, TEMPLATE) != pod
    assert req.pod_overrides == {"spec": {"containers": ({"name": "base", "args": ("x", "y")},)}}


@pytest.mark.parametrize(
    ("base", "overlay", "expected"),
    [
        ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}, {"a": {"x": 1, "y": 3}}),
        ({"a": 1, "b": 2}, {"a": None}, {"b": 2}),
        ({"args": [1, 2]}, {"args": [3]}, {"args": [3]}),
        ({"a": {"x": 1}}, {"a": 5}, {"a": 5}),
        ({"a": 5}, {"a": {"x": 1}}, {"a": {"x": 1}}),
        ({"env": [{"name": "A", "value": "1"}]}, {"env": [{"name": "B", "value": "2"}]}, {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}),
        ({"env": [{"name": "A", "value": "1"}]}, {"env": [{"name": "A", "value": "2"}]}, {"env": [{"name": "A", "value": "2"}]}),
        ({"volumeMounts": [{"name": "d", "mountPath": "/d"}]}, {"volumeMounts": [{"name": "e", "mountPath": "/d"}]}, {"volumeMounts": [{"name": "e", "mountPath": "/d"}]}),
        ({"containers": [{"name": "a"}]}, {"containers": [{"image": "no-name"}]}, {"containers": [{"image": "no-name"}]}),  # unkeyed: replace
        ({"env": "junk"}, {"env": [{"name": "A", "value": "1"}]}, {"env": [{"name": "A", "value": "1"}]}),
    ],
)  # fmt: skip
def test_deep_merge(base: dict[str, Any], overlay: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(base)
    assert deep_merge(base, overlay) == expected
    assert base == before


def test_task_pods_get_no_service_account_token_unless_asked() -> None:
    req = PodRequest(task_id=1, task_name="t", try_number=1, owner_id="5", image="busybox", command=("true",))
    assert build_pod(req, PODHERD_SCHEME)["spec"]["automountServiceAccountToken"] is False
    asked = PodRequest(
        task_id=1,
        task_name="t",
        try_number=1,
        owner_id="5",
        image="busybox",
        command=("true",),
        pod_overrides={"spec": {"automountServiceAccountToken": True, "serviceAccountName": "etl"}},
    )
    spec = build_pod(asked, PODHERD_SCHEME)["spec"]
    assert spec["automountServiceAccountToken"] is True and spec["serviceAccountName"] == "etl"
    template = {"spec": {"automountServiceAccountToken": True}}
    assert build_pod(req, PODHERD_SCHEME, template)["spec"]["automountServiceAccountToken"] is True
