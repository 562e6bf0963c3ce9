"""The kinds the local cluster serves, and the discovery documents that describe them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podherd import __version__
from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.validation import objects as validation
from podherd.localcluster.validation.defaults import default_pod


@dataclass(frozen=True)
class ResourceType:
    plural: str
    singular: str
    kind: str
    group: str
    version: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    returns_deleted_object: bool = False  # pods answer DELETE with the object, others with a Status
    allow_unconditional_update: bool = True
    name_rule: str = "subdomain"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def validate(self, obj: dict[str, Any]) -> list[Cause]:
        return VALIDATORS[self.plural](obj)

    def prepare_create(self, obj: dict[str, Any]) -> dict[str, Any]:
        fn = PREPARERS.get(self.plural)
        return fn(obj) if fn else obj


_ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

PODS = ResourceType("pods", "pod", "Pod", "", "v1", True, _ALL_VERBS, ("po",), ("all",), returns_deleted_object=True)
NAMESPACES = ResourceType(
    "namespaces",
    "namespace",
    "Namespace",
    "",
    "v1",
    False,
    ("create", "delete", "get", "list", "patch", "update", "watch"),
    ("ns",),
    name_rule="label",
)
EVENTS = ResourceType("events", "event", "Event", "", "v1", True, _ALL_VERBS, ("ev",))
LEASES = ResourceType(
    "leases", "lease", "Lease", "coordination.k8s.io", "v1", True, _ALL_VERBS, allow_unconditional_update=False
)

RESOURCES: dict[tuple[str, str], ResourceType] = {(r.group, r.plural): r for r in (PODS, NAMESPACES, EVENTS, LEASES)}

VALIDATORS: dict[str, Callable[[dict[str, Any]], list[Cause]]] = {
    "pods": validation.validate_pod,
    "namespaces": validation.validate_namespace,
    "events": validation.validate_event,
    "leases": validation.validate_lease,
}

PREPARERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"pods": default_pod}


def lookup(group: str, plural: str) -> ResourceType | None:
    return RESOURCES.get((group, plural))


# ---- discovery (API.md §9: plain legacy discovery is enough for kubectl) ---------------------------


def version_info() -> dict[str, str]:
    return {
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-podherd." + __version__,
        "gitCommit": "podherd",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _resource_entry(r: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    return entry


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    members = [r for r in RESOURCES.values() if r.group == group and r.version == version]
    if not members:
        return None
    resources = []
    for r in sorted(members, key=lambda x: x.plural):
        resources.append(_resource_entry(r))
        if r is PODS:
            resources.append(
                {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}
            )
            resources.append(
                {
                    "name": "pods/status",
                    "singularName": "",
                    "namespaced": True,
                    "kind": "Pod",
                    "verbs": ["get", "patch", "update"],
                }
            )
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def api_group_list() -> dict[str, Any]:
    groups = sorted({r.group for r in RESOURCES.values() if r.group})
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [api_group(g) for g in groups],
    }


def api_group(group: str) -> dict[str, Any]:
    gv = {"groupVersion": f"{group}/v1", "version": "v1"}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv], "preferredVersion": gv}


def openapi_v3_root() -> dict[str, Any]:
    """Just enough OpenAPI v3 for kubectl's strict field validation to go server-side (API.md §9)."""
    paths: dict[str, Any] = {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=podherd"}}
    for g in sorted({r.group for r in RESOURCES.values() if r.group}):
        paths[f"apis/{g}/v1"] = {"serverRelativeURL": f"/openapi/v3/apis/{g}/v1?hash=podherd"}
    return {"paths": paths}


def openapi_v3_group(group: str, version: str) -> dict[str, Any] | None:
    members = [r for r in RESOURCES.values() if r.group == group and r.version == version]
    if not members:
        return None
    paths: dict[str, Any] = {}
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    for r in members:
        ns = "/namespaces/{namespace}" if r.namespaced else ""
        paths[f"{prefix}{ns}/{r.plural}/{{name}}"] = {
            "patch": {
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": r.kind},
                "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK"}},
            }
        }
        paths[f"{prefix}{ns}/{r.plural}"] = {
            "post": {
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": r.kind},
                "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                "responses": {"201": {"description": "Created"}},
            }
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths}
