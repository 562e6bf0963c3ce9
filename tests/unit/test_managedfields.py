"""Server-side apply's field ownership, pure: field paths and fieldsV1, typed walks, the updater, managedFields.

Vectors marked SMD are structured-merge-diff v4.4.2's own test cases (typed/merge_test.go) rewritten
as data; the managedFields of `kubectl run` and `kubectl apply --server-side` are what a real
kube-apiserver 1.32 writes for the same objects.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.apimachinery.kinds import LEASES, NAMESPACES, PODS
from podherd.localcluster.apimachinery.proto import schema
from podherd.localcluster.registry.managedfields import fieldpath, typed
from podherd.localcluster.registry.managedfields import manager as mf
from podherd.localcluster.registry.managedfields.fieldmanager import FieldManager, zero_object
from podherd.localcluster.registry.managedfields.fieldpath import Set, field
from podherd.localcluster.registry.managedfields.types import LEAF, ListType, MapType, types_for
from podherd.localcluster.registry.managedfields.updater import Conflicts, Owned, Updater

POD_TYPE = types_for(schema.load()).kind("v1", "Pod")


def p(*parts: Any) -> fieldpath.Path:
    """A path from "name" strings, {key: value} dicts (keyed items) and ("v", value) tuples (set items)."""
    out = []
    for part in parts:
        if isinstance(part, dict):
            out.append(fieldpath.key(part))
        elif isinstance(part, tuple):
            out.append(fieldpath.value(part[1]))
        else:
            out.append(field(part))
    return tuple(out)


# ---- field paths and fieldsV1 ---------------------------------------------------------------------

KUBECTL_RUN = {
    "f:metadata": {"f:labels": {".": {}, "f:run": {}}},
    "f:spec": {
        "f:containers": {
            'k:{"name":"p1"}': {
                ".": {},
                "f:args": {},
                "f:image": {},
                "f:imagePullPolicy": {},
                "f:name": {},
                "f:resources": {},
                "f:terminationMessagePath": {},
                "f:terminationMessagePolicy": {},
            }
        },
        "f:dnsPolicy": {},
        "f:enableServiceLinks": {},
        "f:restartPolicy": {},
        "f:schedulerName": {},
        "f:securityContext": {},
        "f:terminationGracePeriodSeconds": {},
    },
}


def test_fields_v1_round_trips_byte_for_byte() -> None:
    s = Set.from_fields_v1(KUBECTL_RUN)
    assert json.dumps(s.to_fields_v1()) == json.dumps(KUBECTL_RUN)
    assert s.has(p("metadata", "labels")) and s.has(p("metadata", "labels", "run"))
    assert not s.has(p("metadata")) and not s.has(p("spec"))  # children only: no "."
    assert s.has(p("spec", "containers", {"name": "p1"}, "image"))
    ports = Set.of(p("spec", "containers", {"name": "c"}, "ports", {"containerPort": 80, "protocol": "TCP"}))
    assert ports.to_fields_v1() == {
        "f:spec": {"f:containers": {'k:{"name":"c"}': {"f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {}}}}}
    }
    finalizers = Set.of(p("metadata", "finalizers", ("v", "a")), p("metadata", "finalizers", ("v", "b")))
    assert finalizers.to_fields_v1() == {"f:metadata": {"f:finalizers": {'v:"a"': {}, 'v:"b"': {}}}}
    assert Set.from_fields_v1({"z:unknown": {}, "f:a": {}}) == Set.of(p("a"))


def test_path_strings_as_conflict_messages_show_them() -> None:
    assert (
        fieldpath.path_string(p("spec", "containers", {"name": "main"}, "image"))
        == '.spec.containers[name="main"].image'
    )
    assert (
        fieldpath.path_string(p("spec", "ports", {"protocol": "TCP", "containerPort": 80}))
        == '.spec.ports[containerPort=80,protocol="TCP"]'
    )
    assert fieldpath.path_string(p("metadata", "finalizers", ("v", "x"))) == '.metadata.finalizers[="x"]'
    assert fieldpath.path_string((field("a"), ("i", 3))) == ".a[3]"


def test_set_operations() -> None:
    a = Set.of(p("x"), p("y", "z"), p("y", "w"))
    b = Set.of(p("y", "z"), p("q"))
    assert a.union(b) == Set.of(p("x"), p("y", "z"), p("y", "w"), p("q"))
    assert a.intersection(b) == Set.of(p("y", "z"))
    assert a.difference(b) == Set.of(p("x"), p("y", "w"))
    assert a.without_prefixes(Set.of(p("y"))) == Set.of(p("x"))
    assert Set().empty() and not a.empty()
    assert [fieldpath.path_string(x) for x in Set.of(p("b"), p("a", "c"), p("a")).paths()] == [".a", ".b", ".a.c"]


# ---- typed walks ------------------------------------------------------------------------------------

ELEMENT = MapType(struct=True, fields={"key": LEAF, "id": LEAF, "value": MapType(element=LEAF), "bv": LEAF, "nv": LEAF})
ROOT = MapType(struct=True, fields={"list": ListType(ELEMENT, True, ("key", "id")), "atomicList": ListType(LEAF)})

SMD_ASSOCIATIVE_LIST = [  # (lhs, rhs, merged): typed/merge_test.go "associative list"
    (
        '{"list":[{"key":"a","id":1,"value":{"a":"a"}}]}',
        '{"list":[{"key":"a","id":2,"value":{"a":"a"}}]}',
        '{"list":[{"key":"a","id":1,"value":{"a":"a"}},{"key":"a","id":2,"value":{"a":"a"}}]}',
    ),
    (
        '{"list":[{"key":"a","id":1},{"key":"b","id":1}]}',
        '{"list":[{"key":"a","id":1},{"key":"a","id":2}]}',
        '{"list":[{"key":"a","id":1},{"key":"b","id":1},{"key":"a","id":2}]}',
    ),
    (
        '{"list":[{"key":"b","id":2}]}',
        '{"list":[{"key":"a","id":1},{"key":"b","id":2},{"key":"c","id":3}]}',
        '{"list":[{"key":"a","id":1},{"key":"b","id":2},{"key":"c","id":3}]}',
    ),
    (
        '{"list":[{"key":"a","id":1},{"key":"b","id":2},{"key":"c","id":3}]}',
        '{"list":[{"key":"c","id":3},{"key":"b","id":2}]}',
        '{"list":[{"key":"a","id":1},{"key":"c","id":3},{"key":"b","id":2}]}',
    ),
    (
        '{"list":[{"key":"a","id":1},{"key":"b","id":2},{"key":"c","id":3}]}',
        '{"list":[{"key":"c","id":3},{"key":"a","id":1}]}',
        '{"list":[{"key":"b","id":2},{"key":"c","id":3},{"key":"a","id":1}]}',
    ),
    ('{"atomicList":["a","a","a"]}', '{"atomicList":null}', '{"atomicList":null}'),
    ('{"atomicList":["a","b","c"]}', '{"atomicList":[]}', '{"atomicList":[]}'),
    (
        '{"list":[{"key":"a","id":1,"bv":true},{"key":"b","id":2},{"key":"a","id":1,"bv":false,"nv":2}]}',
        '{"list":[{"key":"a","id":1,"nv":3},{"key":"c","id":3},{"key":"b","id":2}]}',
        '{"list":[{"key":"a","id":1,"nv":3},{"key":"c","id":3},{"key":"b","id":2}]}',
    ),
    (
        '{"list":[{"key":"a","id":1,"nv":1},{"key":"a","id":1,"nv":2}]}',
        "{}",
        '{"list":[{"key":"a","id":1,"nv":1},{"key":"a","id":1,"nv":2}]}',
    ),
]


@pytest.mark.parametrize(("lhs", "rhs", "out"), SMD_ASSOCIATIVE_LIST)
def test_merge_follows_smd_for_associative_and_atomic_lists(lhs: str, rhs: str, out: str) -> None:
    assert typed.merge(json.loads(lhs), json.loads(rhs), ROOT) == json.loads(out)


def test_field_set_of_a_pod_config_uses_keys_and_key_defaults() -> None:
    config = {
        "metadata": {"name": "p", "labels": {"a": "1"}, "finalizers": ["x"]},
        "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}], "resources": {}}]},
    }
    c = ("spec", "containers", {"name": "c"})
    assert typed.field_set(config, POD_TYPE) == Set.of(
        p("metadata", "name"),
        p("metadata", "labels", "a"),
        p("metadata", "finalizers", ("v", "x")),
        p(*c),
        p(*c, "name"),
        p(*c, "image"),
        p(*c, "resources"),  # an empty struct is a leaf
        p(*c, "ports", {"containerPort": 80, "protocol": "TCP"}),  # protocol: +default="TCP"
        p(*c, "ports", {"containerPort": 80, "protocol": "TCP"}, "containerPort"),
    )
    with pytest.raises(typed.TypedError, match='omits key field "name"'):
        typed.field_set({"spec": {"containers": [{"image": "i"}]}}, POD_TYPE)


def test_compare_marks_new_maps_and_items_as_members() -> None:
    old = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "a"}]}}
    new = {
        "metadata": {"name": "p", "labels": {"x": "1"}},
        "spec": {"containers": [{"name": "c", "image": "b"}, {"name": "d", "image": "e"}]},
    }
    cmp = typed.compare(old, new, POD_TYPE)
    d = ("spec", "containers", {"name": "d"})
    assert cmp.added == Set.of(
        p("metadata", "labels"), p("metadata", "labels", "x"), p(*d), p(*d, "name"), p(*d, "image")
    )
    assert cmp.modified == Set.of(p("spec", "containers", {"name": "c"}, "image"))
    assert typed.compare(new, old, POD_TYPE).removed == cmp.added
    assert typed.compare(old, old, POD_TYPE).same()


def test_remove_items_drops_subtrees_and_emptied_maps() -> None:
    obj = {
        "metadata": {"labels": {"a": "1"}, "name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}, {"name": "d"}]},
    }
    out = typed.remove_items(
        obj, Set.of(p("metadata", "labels", "a"), p("spec", "containers", {"name": "d"})), POD_TYPE
    )
    assert out == {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}


# ---- the updater ------------------------------------------------------------------------------------

LEASE_TYPE = types_for(schema.load()).kind("coordination.k8s.io/v1", "Lease")


def lease(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "l"}, "spec": spec}


def owned(managers: dict[str, Owned], name: str) -> set[str]:
    return {fieldpath.path_string(x) for x in managers[name].fields.paths()}


def test_apply_shares_equal_values_and_conflicts_on_different_ones() -> None:
    u = Updater(LEASE_TYPE)
    live, managers = u.apply(lease(), lease(holderIdentity="a", leaseDurationSeconds=15), "v1", {}, "first", False)
    assert owned(managers, "first") == {".metadata.name", ".spec.holderIdentity", ".spec.leaseDurationSeconds"}
    again, same = u.apply(live, lease(holderIdentity="a", leaseDurationSeconds=15), "v1", managers, "first", False)
    assert again is None and same == managers  # nothing changes
    _, shared = u.apply(live, lease(holderIdentity="a"), "v1", managers, "second", False)
    assert ".spec.holderIdentity" in owned(shared, "first") and ".spec.holderIdentity" in owned(shared, "second")
    with pytest.raises(Conflicts) as e:
        u.apply(live, lease(holderIdentity="b"), "v1", managers, "second", False)
    assert [(m, fieldpath.path_string(x)) for m, x in e.value.conflicts] == [("first", ".spec.holderIdentity")]
    forced, taken = u.apply(live, lease(holderIdentity="b"), "v1", managers, "second", True)
    assert forced["spec"]["holderIdentity"] == "b"
    assert ".spec.holderIdentity" not in owned(taken, "first") and ".spec.holderIdentity" in owned(taken, "second")


def test_fields_an_applier_drops_are_removed_unless_someone_else_owns_them() -> None:
    u = Updater(LEASE_TYPE)
    live, managers = u.apply(
        lease(), lease(holderIdentity="a", leaseDurationSeconds=15, leaseTransitions=1), "v1", {}, "first", False
    )
    live2, managers = u.apply(live, lease(leaseTransitions=1), "v1", managers, "second", False)
    assert live2 is None  # co-owning an equal value changes nothing
    out, managers = u.apply(live, lease(holderIdentity="a"), "v1", managers, "first", False)
    assert out["spec"] == {
        "holderIdentity": "a",
        "leaseTransitions": 1,
    }  # duration dropped, transitions kept by "second"


def test_update_takes_ownership_without_conflicts_and_apply_then_conflicts() -> None:
    u = Updater(LEASE_TYPE)
    live, managers = u.apply(lease(), lease(holderIdentity="a"), "v1", {}, "applier", False)
    edited = lease(holderIdentity="edited")
    managers = u.update(live, edited, "v1", managers, "editor")
    assert owned(managers, "editor") == {".spec.holderIdentity"}
    assert owned(managers, "applier") == {".metadata.name"}
    with pytest.raises(Conflicts):
        u.apply(
            edited,
            lease(holderIdentity="a", leaseTransitions=2),
            "v1",
            {**managers, "applier": Owned(Set.of(p("spec", "holderIdentity")), "v1", True)},
            "other",
            False,
        )


def test_reset_fields_are_never_owned() -> None:
    u = Updater(POD_TYPE, Set.of(p("status")))
    managers = u.update({}, {"spec": {"nodeName": "n"}, "status": {"phase": "Running"}}, "v1", {}, "m")
    assert owned(managers, "m") == {".spec", ".spec.nodeName"}


# ---- managedFields entries ----------------------------------------------------------------------------


def test_identifiers_and_conflict_status() -> None:
    assert mf.identifier("kubectl", "Apply", "v1") == '{"manager":"kubectl","operation":"Apply"}'
    update = mf.identifier("kubelet", "Update", "v1", "status")
    assert update == '{"manager":"kubelet","operation":"Update","apiVersion":"v1","subresource":"status"}'
    assert mf.describe_manager(update) == '"kubelet" with subresource "status" using v1'
    status = mf.conflict_error([(mf.identifier("other", "Apply", "v1"), p("spec", "x"))]).to_status()
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "other": .spec.x',
        "reason": "Conflict",
        "details": {
            "causes": [{"reason": "FieldManagerConflict", "message": 'conflict with "other"', "field": ".spec.x"}]
        },
        "code": 409,
    }
    two = mf.conflict_error(
        [(mf.identifier("b", "Update", "v1"), p("y")), (mf.identifier("a", "Apply", "v1"), p("x"))]
    ).message
    assert two == 'Apply failed with 2 conflicts: conflicts with "a":\n- .x\nconflicts with "b" using v1:\n- .y'


def test_entries_sort_apply_first_then_by_time_and_cap_update_managers() -> None:
    managers = {mf.identifier(f"m{i}", "Update", "v1"): Owned(Set.of(p(f"f{i}")), "v1", False) for i in range(12)}
    managers[mf.identifier("kubectl", "Apply", "v1")] = Owned(Set.of(p("a")), "v1", True)
    times = {ident: f"2025-01-01T00:00:{i:02d}Z" for i, ident in enumerate(managers)}
    mf.cap(managers, times)
    entries = mf.encode(managers, times)
    # capUpdateManagers: the oldest is kept as the bucket's seed, the next ones fold into it until 10 are left
    assert [e["manager"] for e in entries] == ["kubectl", "ancient-changes", *(f"m{i}" for i in range(3, 12))]
    assert entries[1]["fieldsV1"] == {"f:f0": {}, "f:f1": {}, "f:f2": {}}
    assert entries[1]["time"] == "2025-01-01T00:00:02Z"
    assert mf.decode(entries)[0].keys() == managers.keys()
    with pytest.raises(ValueError, match="operation"):
        mf.decode([{"manager": "x", "operation": "Delete", "apiVersion": "v1", "fieldsType": "FieldsV1"}])


# ---- the field manager over whole objects ---------------------------------------------------------------


def test_a_create_owns_what_kubectl_run_owns_on_a_real_server() -> None:
    pod = {
        "metadata": {"name": "p1", "labels": {"run": "p1"}},
        "spec": {
            "containers": [
                {
                    "name": "p1",
                    "image": "busybox",
                    "args": ["true"],
                    "imagePullPolicy": "Always",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "enableServiceLinks": True,
        },
        "status": {},
    }
    [entry] = FieldManager(lambda: 0.0).update(PODS, True, None, pod, "kubectl-run") or []
    assert entry == {
        "manager": "kubectl-run",
        "operation": "Update",
        "apiVersion": "v1",
        "time": "1970-01-01T00:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": KUBECTL_RUN,
    }


def test_zero_objects_are_go_zero_values() -> None:
    s = schema.load()
    assert zero_object(s, "k8s.io.api.core.v1.Pod") == {
        "metadata": {"creationTimestamp": None},
        "spec": {"containers": None},
        "status": {},
    }
    assert zero_object(s, "k8s.io.api.coordination.v1.Lease") == {"metadata": {"creationTimestamp": None}, "spec": {}}


def test_apply_checks_the_object_type_and_managed_fields() -> None:
    fm = FieldManager()
    with pytest.raises(ApiError, match=r"invalid object type: /v1, Kind=Pod"):
        fm.apply(NAMESPACES, True, None, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}, "m", False)
    with pytest.raises(ApiError, match=r"metadata\.managedFields must be nil"):
        fm.apply(
            LEASES,
            False,
            None,
            {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "x", "managedFields": []}},
            "m",
            False,
        )
