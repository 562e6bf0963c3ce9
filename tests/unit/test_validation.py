"""Field validation: causes shaped like apimachinery's (API.md §1, §7, §8, §9)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.validation.defaults import default_pod
from podherd.localcluster.validation.fieldcheck import go_quote, parse_time
from podherd.localcluster.validation.metadata import validate_metadata
from podherd.localcluster.validation.names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    validate_label_key,
    validate_label_value,
)
from podherd.localcluster.validation.objects import validate_event, validate_lease, validate_namespace
from podherd.localcluster.validation.pods import validate_pod
from podherd.localcluster.validation.podupdate import POD_UPDATE_FORBIDDEN, validate_pod_update

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def fields(causes: list[Cause]) -> list[str]:
    return [c.field for c in causes]


def one(causes: list[Cause]) -> Cause:
    assert len(causes) == 1, causes
    return causes[0]


def pod(**spec: Any) -> dict[str, Any]:
    spec.setdefault("containers", [{"name": "c", "image": "busybox:1.36"}])
    return {"metadata": {"name": "p", "namespace": "default"}, "spec": spec}


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "c", "image": "busybox:1.36", **fields}


def pod_causes(**spec: Any) -> list[Cause]:
    return validate_pod(pod(**spec))


# ---- names and labels ------------------------------------------------------------------------------


@pytest.mark.parametrize("s", ["a", "abc-123", "a" * 63, "0"])
def test_dns_label_good(s: str) -> None:
    assert is_dns1123_label(s) and is_dns1123_subdomain(s)


@pytest.mark.parametrize("s", ["", "A", "-a", "a-", "a.b", "a_b", "a" * 64, "é"])
def test_dns_label_bad(s: str) -> None:
    assert not is_dns1123_label(s)


@pytest.mark.parametrize("s", ["a.b", "example.com", "a-1.b-2", ("a" * 63 + ".") * 3 + "a" * 61])
def test_dns_subdomain_good(s: str) -> None:
    assert is_dns1123_subdomain(s)


@pytest.mark.parametrize("s", ["", "a..b", ".a", "a.", "A.b", "a" * 254, "a_b", "a.-b"])
def test_dns_subdomain_bad(s: str) -> None:
    assert not is_dns1123_subdomain(s)


@pytest.mark.parametrize("k", ["app", "a.b_c-d", "example.com/App", "k8s.io/x", "a" * 63, "A"])
def test_label_key_good(k: str) -> None:
    assert validate_label_key(k) is None


@pytest.mark.parametrize(
    ("k", "fragment"),
    [
        ("", "name part must be non-empty"),
        ("a/b/c", "a qualified name must consist of"),
        ("/x", "prefix part must be non-empty"),
        ("Example.com/x", "prefix part a lowercase RFC 1123 subdomain"),
        ("x/", "name part must be non-empty"),
        ("-x", "name part must consist of alphanumeric characters"),
        ("a" * 64, "name part must be no more than 63 characters"),
        ("a" * 254 + "/x", "prefix part must be no more than 253 characters"),
    ],
)
def test_label_key_bad(k: str, fragment: str) -> None:
    detail = validate_label_key(k)
    assert detail is not None and fragment in detail


def test_label_value_rules() -> None:
    for good in ("", "v", "My_value.1", "a" * 63):
        assert validate_label_value(good) is None
    for bad in ("a b", "-a", "a-", "a" * 64, "a/b"):
        assert validate_label_value(bad) is not None
    assert validate_label_value("a" * 64) == "must be no more than 63 characters"
    both = validate_label_value("-" * 64)
    assert both is not None and both.startswith("must be no more than 63 characters; a valid label must be")
    assert "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is" in both


# ---- metadata -----------------------------------------------------------------------------------------


def test_metadata_good() -> None:
    meta = {
        "name": "web-1.x",
        "namespace": "team-a",
        "labels": {"app": "web", "example.com/tier": ""},
        "annotations": {"Example.COM/Note": "anything at all\n"},
        "finalizers": ["example.com/cleanup"],
        "generation": 1,
    }
    assert validate_metadata(meta, namespaced=True) == []
    assert validate_metadata({"generateName": "job-"}, namespaced=False) == []  # a trailing dash is fine here


def test_metadata_name_rules() -> None:
    c = one(validate_metadata({"name": "Bad_Name", "namespace": "ns"}, True))
    assert c == Cause("FieldValueInvalid", f'Invalid value: "Bad_Name": {SUBDOMAIN_MSG}', "metadata.name")
    c = one(validate_metadata({"name": "a.b"}, False, "label"))
    assert c.message == 'Invalid value: "a.b": must not contain dots'
    c = one(validate_metadata({"generateName": "Job-"}, False))
    assert c.field == "metadata.generateName" and c.reason == "FieldValueInvalid"
    long = one(validate_metadata({"name": "a" * 254}, False))
    assert long.message == f'Invalid value: "{"a" * 254}": must be no more than 253 characters'
    assert validate_metadata({}, False) == []  # the server adds "name or generateName is required"


def test_metadata_namespace() -> None:
    assert one(validate_metadata({"name": "x"}, True)) == Cause(
        "FieldValueRequired", "Required value", "metadata.namespace"
    )
    assert one(validate_metadata({"name": "x", "namespace": "Bad"}, True)).field == "metadata.namespace"


def test_metadata_labels_use_the_map_path() -> None:
    causes = validate_metadata({"name": "x", "labels": {"bad key!": "ok", "k": "bad value!"}}, False)
    assert fields(causes) == ["metadata.labels", "metadata.labels"]
    assert causes[0].message.startswith('Invalid value: "bad key!": name part must consist of alphanumeric')
    assert causes[1].message.startswith('Invalid value: "bad value!": a valid label must be an empty string')


def test_metadata_annotations() -> None:
    assert one(validate_metadata({"name": "x", "annotations": {"a/b/c": "v"}}, False)).field == "metadata.annotations"
    big = {"k": "v" * (256 * 1024)}
    c = one(validate_metadata({"name": "x", "annotations": big}, False))
    assert c == Cause("FieldValueTooLong", "Too long: may not be more than 262144 bytes", "metadata.annotations")
    assert validate_metadata({"name": "x", "annotations": {"k": "v" * (256 * 1024 - 1)}}, False) == []


def test_metadata_finalizers_generation_and_owner_refs() -> None:
    assert one(validate_metadata({"name": "x", "finalizers": ["a/b/c"]}, False)).field == "metadata.finalizers"
    c = one(validate_metadata({"name": "x", "finalizers": ["orphan", "foregroundDeletion"]}, False))
    assert c.message.endswith("finalizer orphan and foregroundDeletion cannot be both set")
    c = one(validate_metadata({"name": "x", "generation": -1}, False))
    assert c == Cause(
        "FieldValueInvalid", "Invalid value: -1: must be greater than or equal to 0", "metadata.generation"
    )
    ref = {"apiVersion": "v1", "kind": "Pod", "name": "o", "uid": "u"}
    assert validate_metadata({"name": "x", "ownerReferences": [ref]}, False) == []
    causes = validate_metadata({"name": "x", "ownerReferences": [{**ref, "uid": "", "apiVersion": ""}]}, False)
    assert fields(causes) == ["metadata.ownerReferences.apiVersion", "metadata.ownerReferences.uid"]


@pytest.mark.parametrize(
    ("meta", "field", "expected"),
    [
        ({"name": 5}, "metadata.name", "string"),
        ({"name": "x", "labels": ["a"]}, "metadata.labels", "object"),
        ({"name": "x", "labels": {"a": 1}}, "metadata.labels[a]", "string"),
        ({"name": "x", "annotations": {"a": True}}, "metadata.annotations[a]", "string"),
        ({"name": "x", "finalizers": "f"}, "metadata.finalizers", "array"),
        ({"name": "x", "generation": "1"}, "metadata.generation", "integer"),
    ],
)
def test_metadata_wrong_types(meta: dict[str, Any], field: str, expected: str) -> None:
    c = one(validate_metadata(meta, False))
    assert c.reason == "FieldValueTypeInvalid" and c.field == field
    assert f"{field} in body must be of type {expected}" in c.message
    assert validate_metadata("nope", False)[0].field == "metadata"  # type: ignore[arg-type]


# ---- pods ---------------------------------------------------------------------------------------------


def test_minimal_pod_is_valid() -> None:
    assert pod_causes() == []
    assert validate_pod(default_pod(pod())) == []


def test_spec_and_containers_required() -> None:
    assert validate_pod({"metadata": {"name": "p"}}) == [
        Cause("FieldValueRequired", "Required value", "spec.containers")
    ]
    assert pod_causes(containers=[]) == [Cause("FieldValueRequired", "Required value", "spec.containers")]


def test_container_name_required_message_matches_api_md() -> None:
    causes = pod_causes(containers=[{"image": "busybox"}])
    assert causes == [Cause("FieldValueRequired", "Required value", "spec.containers[0].name")]
    err = errors.invalid("Pod", "p", causes).to_status()
    assert err["message"] == 'Pod "p" is invalid: spec.containers[0].name: Required value'


def test_container_name_and_image_rules() -> None:
    assert fields(pod_causes(containers=[container(name="Bad_Name")])) == ["spec.containers[0].name"]
    assert fields(pod_causes(containers=[container(name="a.b")])) == ["spec.containers[0].name"]
    c = one(pod_causes(containers=[{"name": "c"}]))
    assert c == Cause("FieldValueRequired", "Required value", "spec.containers[0].image")
    c = one(pod_causes(containers=[container(image=" busybox")]))
    assert c.message == 'Invalid value: " busybox": must not have leading or trailing whitespace'


def test_container_names_unique_across_init_containers() -> None:
    c = one(pod_causes(containers=[container(), container()]))
    assert c == Cause("FieldValueDuplicate", 'Duplicate value: "c"', "spec.containers[1].name")
    c = one(pod_causes(initContainers=[container()]))
    assert c == Cause("FieldValueDuplicate", 'Duplicate value: "c"', "spec.initContainers[0].name")
    assert pod_causes(initContainers=[container(name="init")]) == []


def test_command_and_args_are_string_lists() -> None:
    assert pod_causes(containers=[container(command=["sh", "-c", "x"], args=["a"])]) == []
    c = one(pod_causes(containers=[container(command="sh -c x")]))
    assert c.reason == "FieldValueTypeInvalid" and c.field == "spec.containers[0].command"
    c = one(pod_causes(containers=[container(args=["a", 5])]))
    assert c.field == "spec.containers[0].args[1]"


def test_env_rules() -> None:
    good = [{"name": "A_B", "value": "1"}, {"name": "lower.dot-dash", "value": ""}, {"name": "1X"}]
    good += [{"name": "P", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    assert pod_causes(containers=[container(env=good)]) == []
    c = one(pod_causes(containers=[container(env=[{"name": "A=B", "value": "x"}])]))
    assert c.field == "spec.containers[0].env[0].name" and "other than '='" in c.message
    causes = pod_causes(containers=[container(env=[{"value": "x"}])])
    assert causes[0] == Cause("FieldValueRequired", "Required value", "spec.containers[0].env[0].name")
    c = one(pod_causes(containers=[container(env=[{"name": "A", "value": 1}])]))
    assert c.reason == "FieldValueTypeInvalid" and c.field == "spec.containers[0].env[0].value"
    c = one(pod_causes(containers=[container(env=[{"name": "A", "value": "x", "valueFrom": {"fieldRef": {}}}])]))
    assert c.message == 'Invalid value: "": may not be specified when `value` is not empty'
    c = one(pod_causes(containers=[container(env=[{"name": "A", "valueFrom": {}}])]))
    assert c.field == "spec.containers[0].env[0].valueFrom" and "must specify one of" in c.message


def test_restart_policy() -> None:
    for ok in ("Always", "OnFailure", "Never"):
        assert pod_causes(restartPolicy=ok) == []
    c = one(pod_causes(restartPolicy="x"))
    # validateRestartPolicy lists them in this order; field.NotSupported does not sort.
    assert c == Cause(
        "FieldValueNotSupported",
        'Unsupported value: "x": supported values: "Always", "OnFailure", "Never"',
        "spec.restartPolicy",
    )


def test_other_enums() -> None:
    assert one(pod_causes(dnsPolicy="Nope")).field == "spec.dnsPolicy"
    assert pod_causes(dnsPolicy="None") == []
    c = one(pod_causes(containers=[container(imagePullPolicy="Sometimes")]))
    assert c.message == 'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"'
    c = one(pod_causes(containers=[container(terminationMessagePolicy="Stdout")]))
    assert c.field == "spec.containers[0].terminationMessagePolicy" and c.reason == "FieldValueNotSupported"


def test_resources() -> None:
    ok = {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": 0.5, "memory": 1024, "example.com/dev": "1"}}
    ok["limits"]["example.com/dev"] = "1"
    assert pod_causes(containers=[container(resources=ok)]) == []
    c = one(pod_causes(containers=[container(resources={"limits": {"memory": "1Q"}})]))
    assert c.field == "spec.containers[0].resources.limits[memory]" and "quantities must match" in c.message
    c = one(pod_causes(containers=[container(resources={"requests": {"cpu": "-1"}})]))
    assert c.message == 'Invalid value: "-1": must be greater than or equal to 0'
    c = one(pod_causes(containers=[container(resources={"limits": {"cpu": "1"}, "requests": {"cpu": "2"}})]))
    assert c == Cause(
        "FieldValueInvalid",
        'Invalid value: "2": must be less than or equal to cpu limit of 1',
        "spec.containers[0].resources.requests",
    )
    c = one(pod_causes(containers=[container(resources={"limits": {"gpu": "1"}})]))
    assert c.message == 'Invalid value: "gpu": must be a standard resource for containers'
    c = one(pod_causes(containers=[container(resources={"requests": {"example.com/dev": "1"}})]))
    assert c.message == "Required value: Limit must be set for non overcommitable resources"
    c = one(pod_causes(containers=[container(resources={"limits": {"cpu": True}})]))
    assert c.reason == "FieldValueTypeInvalid"


def test_ports_and_volume_mounts() -> None:
    ports = [{"containerPort": 80, "name": "http"}, {"containerPort": 53, "protocol": "UDP"}]
    assert pod_causes(containers=[container(ports=ports)]) == []
    c = one(pod_causes(containers=[container(ports=[{"containerPort": 70000}])]))
    assert c.message == "Invalid value: 70000: must be between 1 and 65535, inclusive"
    assert one(pod_causes(containers=[container(ports=[{}])])).field == "spec.containers[0].ports[0].containerPort"
    assert one(pod_causes(containers=[container(ports=[{"containerPort": 1, "protocol": "ICMP"}])])).reason == (
        "FieldValueNotSupported"
    )
    vols = [{"name": "data", "emptyDir": {}}]
    assert pod_causes(volumes=vols, containers=[container(volumeMounts=[{"name": "data", "mountPath": "/d"}])]) == []
    c = one(pod_causes(volumes=vols, containers=[container(volumeMounts=[{"name": "nope", "mountPath": "/d"}])]))
    assert c == Cause("FieldValueNotFound", 'Not found: "nope"', "spec.containers[0].volumeMounts[0].name")
    assert fields(pod_causes(volumes=vols + vols)) == ["spec.volumes[1].name"]


def test_grace_and_deadline() -> None:
    assert pod_causes(terminationGracePeriodSeconds=0, activeDeadlineSeconds=1) == []
    c = one(pod_causes(terminationGracePeriodSeconds=-1))
    assert c.message == "Invalid value: -1: must be greater than or equal to 0"
    c = one(pod_causes(activeDeadlineSeconds=0))
    assert c.message == "Invalid value: 0: must be between 1 and 2147483647, inclusive"
    assert one(pod_causes(terminationGracePeriodSeconds=30.0)).reason == "FieldValueTypeInvalid"
    assert one(pod_causes(activeDeadlineSeconds=True)).reason == "FieldValueTypeInvalid"


def test_tolerations_and_node_selector() -> None:
    good = [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}, {"operator": "Exists"}]
    assert pod_causes(tolerations=good, nodeSelector={"disk": "ssd"}) == []
    assert one(pod_causes(tolerations=[{"key": "k", "operator": "Maybe"}])).reason == "FieldValueNotSupported"
    assert one(pod_causes(tolerations=[{"operator": "Equal", "value": "v"}])).field == "spec.tolerations[0].operator"
    c = one(pod_causes(tolerations=[{"key": "k", "operator": "Exists", "tolerationSeconds": 5}]))
    assert c.message == "Invalid value: \"\": effect must be 'NoExecute' when `tolerationSeconds` is set"
    assert fields(pod_causes(nodeSelector={"k": "bad value"})) == ["spec.nodeSelector"]


def test_init_container_restart_policy() -> None:
    assert pod_causes(initContainers=[container(name="side", restartPolicy="Always", readinessProbe={})]) == []
    assert one(pod_causes(containers=[container(restartPolicy="Always")])).reason == "FieldValueForbidden"
    assert one(pod_causes(initContainers=[container(name="i", livenessProbe={})])).reason == "FieldValueForbidden"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("a string", "spec"),
        ({"containers": {"name": "c"}}, "spec.containers"),
        ({"containers": [7]}, "spec.containers[0]"),
        ({"containers": [{"name": ["c"], "image": "x"}]}, "spec.containers[0].name"),
        ({"containers": [{"name": "c", "image": 5}]}, "spec.containers[0].image"),
        ({"containers": [container(env={"A": "1"})]}, "spec.containers[0].env"),
        ({"containers": [container(resources=[])]}, "spec.containers[0].resources"),
        ({"containers": [container()], "restartPolicy": 1}, "spec.restartPolicy"),
        ({"containers": [container()], "tolerations": [{"key": 1, "operator": "Exists"}]}, "spec.tolerations[0].key"),
        ({"containers": [container()], "hostNetwork": "yes"}, "spec.hostNetwork"),
    ],
)
def test_wrong_types_give_one_type_cause(spec: Any, field: str) -> None:
    c = one(validate_pod({"metadata": {"name": "p"}, "spec": spec}))
    assert (c.reason, c.field) == ("FieldValueTypeInvalid", field)


def test_garbage_never_raises() -> None:
    junk: list[Any] = [None, 0, "", [], {}, [None], {"a": None}, 1.5, True]
    for value in junk:
        for key in ("containers", "initContainers", "volumes", "tolerations", "nodeSelector", "schedulingGates"):
            validate_pod({"spec": {key: value}})
        for key in ("name", "image", "env", "ports", "resources", "volumeMounts", "command", "restartPolicy"):
            validate_pod({"spec": {"containers": [{key: value}]}})
            validate_pod({"spec": {"containers": [container(env=[{key: value}], ports=[{key: value}])]}})
        validate_metadata({"labels": value, "annotations": value, "ownerReferences": value}, True)
        validate_lease({"spec": value})
        validate_event({"involvedObject": value, "eventTime": value})
        validate_namespace({"spec": value})


# ---- pod updates --------------------------------------------------------------------------------------


def stored(**spec: Any) -> dict[str, Any]:
    out = default_pod(pod(**spec))
    out["metadata"].update(uid="u1", resourceVersion="5", creationTimestamp="2025-01-01T00:00:00Z")
    return out


def test_update_allows_image_deadline_tolerations_and_labels() -> None:
    old = stored(activeDeadlineSeconds=100)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:1.37"
    new["spec"]["activeDeadlineSeconds"] = 50
    new["spec"]["tolerations"].append({"key": "k", "operator": "Exists"})
    new["spec"]["tolerations"][0]["tolerationSeconds"] = 10
    new["metadata"]["labels"] = {"a": "b"}
    assert validate_pod_update(old, new) == []


def test_update_forbids_other_spec_changes() -> None:
    old = stored()
    new = copy.deepcopy(old)
    new["spec"]["restartPolicy"] = "Never"
    assert validate_pod_update(old, new) == [Cause("FieldValueForbidden", "Forbidden: " + POD_UPDATE_FORBIDDEN, "spec")]
    assert POD_UPDATE_FORBIDDEN.startswith("pod updates may not change fields other than `spec.containers[*].image`,")
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["command"] = ["true"]
    assert one(validate_pod_update(old, new)).field == "spec"


def test_update_compares_specs_after_defaulting() -> None:
    old = stored()
    body = pod()  # a PUT of the original manifest: no defaults, no admission fields
    body["metadata"].update(uid="u1")
    body["spec"]["serviceAccountName"] = "default"  # ServiceAccount admission does not re-default on update
    assert validate_pod_update(old, body) == []
    body["spec"]["serviceAccountName"] = "other"
    assert one(validate_pod_update(old, body)).field == "spec"


def test_update_container_count_and_identity() -> None:
    old = stored()
    new = copy.deepcopy(old)
    new["spec"]["containers"].append(container(name="d"))
    c = one(validate_pod_update(old, new))
    assert c == Cause(
        "FieldValueForbidden", "Forbidden: pod updates may not add or remove containers", "spec.containers"
    )
    new = copy.deepcopy(old)
    new["metadata"]["uid"] = "other"
    c = one(validate_pod_update(old, new))
    assert c == Cause("FieldValueInvalid", 'Invalid value: "other": field is immutable', "metadata.uid")


def test_update_deadline_rules() -> None:
    old = stored(activeDeadlineSeconds=10)
    new = copy.deepcopy(old)
    new["spec"]["activeDeadlineSeconds"] = 20
    assert one(validate_pod_update(old, new)).message.endswith("must be less than or equal to previous value")
    del new["spec"]["activeDeadlineSeconds"]
    assert one(validate_pod_update(old, new)).message == (
        "Invalid value: null: must not update from a positive integer to nil value"
    )
    fresh = stored()
    new = copy.deepcopy(fresh)
    new["spec"]["activeDeadlineSeconds"] = 30
    assert validate_pod_update(fresh, new) == []


def test_update_tolerations_only_additions() -> None:
    old = stored(tolerations=[{"key": "k", "operator": "Equal", "value": "v"}])
    new = copy.deepcopy(old)
    new["spec"]["tolerations"][0]["value"] = "w"
    assert one(validate_pod_update(old, new)) == Cause(
        "FieldValueForbidden",
        "Forbidden: existing toleration can not be modified except its tolerationSeconds",
        "spec.tolerations",
    )


def test_update_grace_period_may_go_from_negative_to_one() -> None:
    old = stored(terminationGracePeriodSeconds=-5)
    new = copy.deepcopy(old)
    new["spec"]["terminationGracePeriodSeconds"] = 1
    assert validate_pod_update(old, new) == []
    new["spec"]["terminationGracePeriodSeconds"] = 2
    assert one(validate_pod_update(old, new)).field == "spec"


def test_update_no_new_finalizers_while_deleting() -> None:
    old = stored()
    old["metadata"]["deletionTimestamp"] = "2025-01-01T00:01:00Z"
    new = copy.deepcopy(old)
    new["metadata"]["finalizers"] = ["example.com/x"]
    c = one(validate_pod_update(old, new))
    assert c.field == "metadata.finalizers" and c.message.startswith("Forbidden: no new finalizers can be added")


# ---- leases, events, namespaces -----------------------------------------------------------------------


def lease(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "l", "namespace": "default"}, "spec": spec}


def test_lease_rules() -> None:
    good = lease(
        holderIdentity="a",
        leaseDurationSeconds=15,
        acquireTime="2025-01-01T00:00:00.000000Z",
        renewTime="2025-01-01T00:00:10.123456+00:00",
        leaseTransitions=0,
    )
    assert validate_lease(good) == []
    assert validate_lease({"metadata": {}}) == []
    c = one(validate_lease(lease(leaseDurationSeconds=0)))
    assert c == Cause("FieldValueInvalid", "Invalid value: 0: must be greater than 0", "spec.leaseDurationSeconds")
    c = one(validate_lease(lease(leaseTransitions=-1)))
    assert c.message == "Invalid value: -1: must be greater than or equal to 0"
    assert one(validate_lease(lease(renewTime="yesterday"))).field == "spec.renewTime"
    assert one(validate_lease(lease(acquireTime="2025-13-01T00:00:00.000000Z"))).field == "spec.acquireTime"
    assert one(validate_lease(lease(leaseDurationSeconds="15"))).reason == "FieldValueTypeInvalid"
    assert one(validate_lease(lease(preferredHolder="b"))).reason == "FieldValueForbidden"


def event(**fields: Any) -> dict[str, Any]:
    ev = {
        "metadata": {"name": "p.1", "namespace": "ns"},
        "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "p", "uid": "u"},
        "reason": "Started",
        "message": "Started container c",
        "type": "Normal",
        "eventTime": None,
    }
    ev.update(fields)
    return ev


def test_event_rules() -> None:
    assert validate_event(event()) == []
    assert one(validate_event(event(involvedObject=None))) == Cause(
        "FieldValueRequired", "Required value", "involvedObject"
    )
    c = one(validate_event(event(involvedObject={"kind": "Pod", "namespace": "other", "name": "p"})))
    assert c.message == 'Invalid value: "other": does not match event.namespace'
    assert one(validate_event(event(involvedObject="pod/p"))).reason == "FieldValueTypeInvalid"
    assert one(validate_event(event(count="1"))).field == "count"
    new_style = event(eventTime="2025-01-01T00:00:00.000000Z", reportingComponent="kubelet", reportingInstance="n1")
    assert fields(validate_event(new_style)) == ["action"]
    assert validate_event({**new_style, "action": "Started"}) == []


def test_namespace_rules() -> None:
    assert validate_namespace({"metadata": {"name": "team-a"}}) == []
    assert validate_namespace({"metadata": {"name": "n"}, "spec": {"finalizers": ["kubernetes"]}}) == []
    c = one(validate_namespace({"metadata": {"name": "n"}, "spec": {"finalizers": ["custom"]}}))
    assert c.message.endswith("name is neither a standard finalizer name nor is it fully qualified")
    assert one(validate_metadata({"name": "Team.A"}, False, "label")).field == "metadata.name"


# ---- helpers ------------------------------------------------------------------------------------------


def test_go_quote_and_time_parsing() -> None:
    assert go_quote('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01é"'
    t = parse_time("2025-01-01T02:00:00.5+02:00")
    assert t is not None and t.isoformat() == "2025-01-01T00:00:00.500000+00:00"
    assert parse_time("2025-01-01 00:00:00") is None and parse_time(None) is None


@pytest.mark.timeout(60)  # a backtracking pattern would take hours on these: the timeout fails it
def test_hostile_long_names_are_refused_without_backtracking() -> None:
    huge = "a-" * 500_000
    assert not is_dns1123_subdomain(huge)
    assert validate_label_key(huge) is not None
    assert len(validate_metadata({"name": huge + "!"}, False)) == 2
