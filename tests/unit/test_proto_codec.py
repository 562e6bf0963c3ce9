"""The schema-driven protobuf codec, pure: known bytes, Go's zero values, and JSON -> proto -> JSON round trips.

Every served kind round-trips (as the objects the cluster stores and serves them), and so do kinds
other modules register (ConfigMap, Secret, ServiceAccount, Node) with no code of their own. A property
test builds random objects from the schema itself and checks the round trip for them too.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podherd.localcluster.apimachinery.proto import codec, envelope, schema, wellknown
from podherd.localcluster.apimachinery.proto.schema import Message, Schema
from podherd.localcluster.apimachinery.proto.wellknown import CodecError

S = schema.load()
TS = "2025-01-01T00:00:00Z"


def roundtrip(obj: dict[str, Any]) -> dict[str, Any]:
    return envelope.decode_object(S, envelope.encode_object(S, obj))


def test_known_bytes_for_a_namespace() -> None:
    ns = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "a", "labels": {"k": "v"}}}
    raw = codec.encode(S, S.message("k8s.io.api.core.v1.Namespace"), ns)
    # metadata (1) { name (1) "a", labels (11) map entry {key (1) "k", value (2) "v"} }
    assert raw == b"\x0a\x0b" + b"\x0a\x01a" + b"\x5a\x06\x0a\x01k\x12\x01v"


def test_go_zero_values_are_dropped_unless_json_keeps_them() -> None:
    """What kubectl's Go client writes for `kubectl create namespace a`: every non-pointer field, zero or not."""
    meta = (
        b"\x0a\x01a" + b"\x12\x00" + b"\x1a\x00" + b"\x22\x00" + b"\x2a\x00" + b"\x32\x00" + b"\x38\x00" + b"\x42\x00"
    )
    raw = b"\x0a" + bytes([len(meta)]) + meta + b"\x12\x00" + b"\x1a\x02\x0a\x00"
    decoded = envelope.decode_object(S, envelope.wrap("v1", "Namespace", raw))
    assert decoded == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "a", "creationTimestamp": None},  # a non-pointer Time is written empty: null
        "spec": {},
        "status": {},
    }
    status = {"name": "c", "ready": False, "restartCount": 0, "image": "i", "imageID": "", "started": False}
    assert (
        codec.decode(
            S,
            S.message("k8s.io.api.core.v1.ContainerStatus"),
            codec.encode(S, S.message("k8s.io.api.core.v1.ContainerStatus"), status),
        )
        == status
    )
    spec = {"containers": [{"name": "c", "image": "i"}], "terminationGracePeriodSeconds": 0, "hostNetwork": False}
    back = codec.decode(
        S, S.message("k8s.io.api.core.v1.PodSpec"), codec.encode(S, S.message("k8s.io.api.core.v1.PodSpec"), spec)
    )
    assert back == {"containers": [{"name": "c", "image": "i"}], "terminationGracePeriodSeconds": 0}
    env = S.message("k8s.io.api.core.v1.EnvVar")
    assert codec.decode(S, env, codec.encode(S, env, {"name": "X", "value": ""})) == {"name": "X"}  # omitempty


POD = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": "p",
        "namespace": "d",
        "uid": "0b1c",
        "resourceVersion": "12",
        "generation": 1,
        "creationTimestamp": TS,
        "deletionTimestamp": TS,
        "deletionGracePeriodSeconds": 0,
        "labels": {"a": "b", "empty": ""},
        "annotations": {"x": "y"},
        "finalizers": ["f"],
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u", "controller": True}],
        "managedFields": [
            {
                "manager": "kubectl",
                "operation": "Apply",
                "apiVersion": "v1",
                "time": TS,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}}},
            }
        ],
    },
    "spec": {
        "volumes": [
            {"name": "e", "emptyDir": {}},
            {"name": "cm", "configMap": {"name": "cfg", "defaultMode": 420, "optional": False}},
            {"name": "d", "downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        ],
        "initContainers": [{"name": "i", "image": "busybox", "command": ["true"]}],
        "containers": [
            {
                "name": "c",
                "image": "busybox:1.36",
                "command": ["sh", "-c"],
                "args": ["echo $(X)"],
                "workingDir": "/tmp",
                "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}],
                "env": [
                    {"name": "X", "value": "x"},
                    {"name": "Y", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k", "optional": True}}},
                    {"name": "Z", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                    {"name": "N", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                    {"name": "R", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
                ],
                "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "P_"}],
                "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}},
                "volumeMounts": [{"name": "e", "mountPath": "/e", "readOnly": True}],
                "livenessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 10},
                "readinessProbe": {"tcpSocket": {"port": 80}, "initialDelaySeconds": 5},
                "lifecycle": {"preStop": {"exec": {"command": ["sleep", "1"]}}},
                "securityContext": {"runAsUser": 0, "privileged": False, "capabilities": {"drop": ["ALL"]}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent",
            }
        ],
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 30,
        "activeDeadlineSeconds": 60,
        "dnsPolicy": "ClusterFirst",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "serviceAccountName": "default",
        "nodeName": "local",
        "securityContext": {},
        "schedulerName": "default-scheduler",
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
        "enableServiceLinks": True,
    },
    "status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": TS}],
        "hostIP": "127.0.0.1",
        "podIP": "127.0.0.1",
        "podIPs": [{"ip": "127.0.0.1"}],
        "startTime": TS,
        "containerStatuses": [
            {
                "name": "c",
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": TS,
                        "finishedAt": TS,
                        "containerID": "containerd://1",
                    }
                },
                "lastState": {},
                "ready": False,
                "restartCount": 0,
                "image": "busybox:1.36",
                "imageID": "",
                "containerID": "containerd://1",
                "started": False,
            }
        ],
        "qosClass": "Burstable",
    },
}

SERVED = [
    POD,
    {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "n", "creationTimestamp": TS},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    },
    {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": "p.1", "namespace": "d"},
        "involvedObject": {
            "kind": "Pod",
            "namespace": "d",
            "name": "p",
            "uid": "u",
            "apiVersion": "v1",
            "fieldPath": "spec.containers{c}",
        },
        "reason": "Started",
        "message": "Started container c",
        "source": {"component": "kubelet", "host": "local"},
        "firstTimestamp": TS,
        "lastTimestamp": TS,
        "count": 1,
        "type": "Normal",
        "eventTime": None,
        "reportingComponent": "kubelet",
        "reportingInstance": "local",
    },
    {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": {"name": "l", "namespace": "d"},
        "spec": {
            "holderIdentity": "a",
            "leaseDurationSeconds": 15,
            "acquireTime": "2025-01-01T00:00:00.000000Z",
            "renewTime": "2025-01-01T00:00:10.123456Z",
            "leaseTransitions": 0,
        },
    },
    {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"resourceAttributes": {"namespace": "d", "verb": "create", "resource": "pods"}},
        "status": {"allowed": True, "reason": "ok"},
    },
    {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "9", "continue": "x", "remainingItemCount": 3},
        "items": [{"metadata": {"name": "a"}, "spec": {}, "status": {}}],
    },
    {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "x" not found',
        "reason": "NotFound",
        "details": {
            "name": "x",
            "kind": "pods",
            "causes": [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec"}],
        },
        "code": 404,
    },
    {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u"},
        "propagationPolicy": "Background",
        "dryRun": ["All"],
    },
    {
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "3"},
        "items": [{"metadata": {"name": "a", "labels": {"x": "y"}}}],
    },
]

REGISTERED_ELSEWHERE = [
    {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "c"},
        "data": {"k": "v", "e": ""},
        "binaryData": {"b": base64.b64encode(b"\x00\x01").decode()},
        "immutable": False,
    },
    {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "s"},
        "data": {"k": base64.b64encode(b"secret").decode()},
        "type": "Opaque",
    },
    {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": {"name": "default"},
        "automountServiceAccountToken": False,
    },
    {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {"name": "local", "labels": {"kubernetes.io/hostname": "local"}},
        "spec": {},
        "status": {
            "capacity": {"cpu": "2", "pods": "110"},
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": TS, "lastTransitionTime": TS}],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kernelVersion": "",
                "osImage": "",
                "containerRuntimeVersion": "",
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    },
]


@pytest.mark.parametrize("obj", SERVED + REGISTERED_ELSEWHERE, ids=lambda o: o["kind"])
def test_every_kind_round_trips(obj: dict[str, Any]) -> None:
    assert roundtrip(obj) == obj


def test_slice_wrappers_and_raw_extensions() -> None:
    resources = {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "pods",
                "singularName": "pod",
                "namespaced": True,
                "kind": "Pod",
                "verbs": ["get", "list"],
                "shortNames": ["po"],
            }
        ],
    }
    assert roundtrip(resources) == resources
    event = {"type": "ADDED", "object": {"kind": "Pod"}}
    assert (
        codec.decode(
            S, S.message(f"{schema.META}.WatchEvent"), codec.encode(S, S.message(f"{schema.META}.WatchEvent"), event)
        )
        == event
    )


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"kind": "Pod", "apiVersion": "v1", "spec": {"containers": "c"}}, "spec: containers: must be a JSON list"),
        ({"kind": "Pod", "apiVersion": "v1", "spec": {"activeDeadlineSeconds": "60"}}, "must be an integer"),
        ({"kind": "Pod", "apiVersion": "v1", "spec": {"hostNetwork": "yes"}}, "must be a boolean"),
        ({"kind": "Pod", "apiVersion": "v1", "metadata": {"creationTimestamp": "now"}}, "not an RFC 3339 time"),
        ({"kind": "Secret", "apiVersion": "v1", "data": {"k": "not base64!"}}, "not valid base64"),
        ({"kind": "Widget", "apiVersion": "v1"}, "no protobuf message for Widget"),
    ],
)
def test_wrongly_typed_json_is_a_codec_error(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(CodecError, match=message):
        envelope.encode_object(S, obj)


def test_unknown_fields_are_skipped_and_packed_varints_read() -> None:
    lease_spec = S.message("k8s.io.api.coordination.v1.LeaseSpec")
    assert codec.decode(S, lease_spec, b"\x10\x0f" + b"\xf8\x07\x01" + b"\x0a\x01a") == {
        "leaseDurationSeconds": 15,
        "holderIdentity": "a",
    }
    assert codec.decode(S, S.message("k8s.io.api.core.v1.Capabilities"), b"") == {}
    security = S.message("k8s.io.api.core.v1.PodSecurityContext")  # repeated int64 supplementalGroups = 4
    unpacked = codec.encode(S, security, {"supplementalGroups": [1, 2]})
    assert unpacked == b"\x20\x01\x20\x02"  # proto2 writes repeated scalars unpacked
    assert codec.decode(S, security, b"\x22\x02\x01\x02") == {"supplementalGroups": [1, 2]}  # packed is read too


# ---- property: random objects built from the schema round-trip -------------------------------------

SCALAR_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(min_size=1, max_size=8),
    "bytes": st.binary(min_size=1, max_size=8).map(lambda b: base64.b64encode(b).decode()),
    "bool": st.just(True),
    "int32": st.integers(-(2**31), 2**31 - 1).filter(bool),
    "int64": st.integers(-(2**63), 2**63 - 1).filter(bool),
}
SPECIAL_VALUES: dict[str, st.SearchStrategy[Any]] = {
    schema.TIME: st.integers(0, 4_000_000_000).map(lambda s: wellknown.format_time(s)),
    schema.MICRO_TIME: st.tuples(st.integers(0, 4_000_000_000), st.integers(0, 999_999)).map(
        lambda t: wellknown.format_time(t[0], t[1] * 1000, micro=True)
    ),
    schema.QUANTITY: st.sampled_from(["1", "100m", "64Mi", "0.5", "2Gi"]),
    schema.INT_OR_STRING: st.one_of(st.integers(-(2**31), 2**31 - 1), st.text(max_size=5)),
    schema.RAW_EXTENSION: st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    schema.FIELDS_V1: st.dictionaries(st.sampled_from(["f:a", "f:b", "."]), st.just({}), max_size=2),
}


def value_of(s: Schema, type_: str, depth: int) -> st.SearchStrategy[Any] | None:
    if type_ in SCALAR_VALUES:
        return SCALAR_VALUES[type_]
    if type_ in SPECIAL_VALUES:
        return SPECIAL_VALUES[type_]
    message = s.message(type_)
    if message.slice_wrapper:
        return st.lists(st.text(max_size=4), min_size=1, max_size=2)
    return None if depth <= 0 else object_of(s, message, depth - 1)


def object_of(s: Schema, message: Message, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of `message` with a random subset of its fields (inline fields flattened, as JSON has them)."""
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for f in message.fields[:12]:
        if f.inline:
            continue
        item = value_of(s, f.type, depth)
        if item is None:
            continue
        if f.map_key is not None:
            optional[f.json_name] = st.dictionaries(st.text(max_size=4), item, min_size=1, max_size=2)
        elif f.repeated:
            optional[f.json_name] = st.lists(item, min_size=1, max_size=2)
        else:
            optional[f.json_name] = item
    return st.fixed_dictionaries({}, optional=optional)


@pytest.mark.parametrize(
    "message",
    [
        "k8s.io.api.core.v1.Pod",
        "k8s.io.api.core.v1.Container",
        "k8s.io.api.coordination.v1.Lease",
        "k8s.io.api.core.v1.Event",
        "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    ],
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_objects_round_trip(message: str, data: st.DataObject) -> None:
    m = S.message(message)
    obj = data.draw(object_of(S, m, depth=3))
    assert codec.decode(S, m, codec.encode(S, m, obj)) == obj


def with_go_zeros(s: Schema, message: Message, obj: Any) -> Any:
    """`obj` as Go's marshaller sees it: every non-pointer scalar it lacks, written as its zero value."""
    if not isinstance(obj, dict) or message.slice_wrapper or message.full_name in wellknown.SPECIAL:
        return obj
    out = dict(obj)
    for f in message.fields:
        if f.inline:
            out.update(with_go_zeros(s, s.message(f.type), out))
        elif f.scalar and not f.pointer and not f.repeated and f.map_key is None:
            out.setdefault(f.json_name, {"string": "", "bool": False, "bytes": None}.get(f.type, 0))
        elif not f.scalar and f.json_name in out:
            inner = s.message(f.type)
            value = out[f.json_name]
            if f.map_key is not None and isinstance(value, dict):
                out[f.json_name] = {k: with_go_zeros(s, inner, v) for k, v in value.items()}
            elif f.repeated and isinstance(value, list):
                out[f.json_name] = [with_go_zeros(s, inner, v) for v in value]
            else:
                out[f.json_name] = with_go_zeros(s, inner, value)
    return {k: v for k, v in out.items() if v is not None or k in obj}


@pytest.mark.parametrize("obj", SERVED + REGISTERED_ELSEWHERE, ids=lambda o: o["kind"])
def test_bodies_written_by_go_decode_to_what_go_json_would_say(obj: dict[str, Any]) -> None:
    """Go writes every non-pointer scalar, zero or not; decoding drops exactly the zeros JSON's omitempty drops."""
    message = S.message_for(obj["apiVersion"], obj["kind"])
    assert message is not None
    go_written = with_go_zeros(S, message, obj)
    assert go_written != obj or obj["kind"] == "DeleteOptions"  # zeros are on the wire (DeleteOptions: all pointers)
    assert roundtrip(go_written) == obj
