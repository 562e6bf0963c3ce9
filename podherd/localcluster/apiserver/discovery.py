"""Discovery: the version, API group and resource documents kubectl needs (API.md §9); OpenAPI is in `openapi/`.

Pure: each document is built from the kinds in `apimachinery.kinds`; `discovery_document` picks the
one a GET path asks for.
"""

from __future__ import annotations

from typing import Any

from podherd.localcluster.apimachinery.kinds import RESOURCES, ResourceType
from podherd.localcluster.apimachinery.version import GIT_VERSION, MAJOR, MINOR


def version_info() -> dict[str, str]:
    return {
        "major": MAJOR,
        "minor": MINOR,
        "gitVersion": GIT_VERSION,
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
        for sub, verbs in r.subresources:
            resources.append(
                {
                    "name": f"{r.plural}/{sub}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": list(verbs),
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


def is_discovery_path(path: str) -> bool:
    """Documents served for GET: another verb on them is 405. Anything else under /api or /apis is a
    resource this server does not serve, and any verb on it is 404, as kube-apiserver answers."""
    return discovery_document(path, "") is not None


def discovery_document(path: str, server_address: str) -> dict[str, Any] | None:
    """The document served at `path`, or None for an unknown path (404)."""
    if path == "/version":
        return version_info()
    if path == "/api":
        return api_versions(server_address)
    if path == "/apis":
        return api_group_list()
    segs = [s for s in path.split("/") if s]
    if len(segs) == 2 and segs[0] == "api":
        return resource_list("", segs[1])
    if len(segs) == 2 and segs[0] == "apis" and segs[1] in {r.group for r in RESOURCES.values()}:
        return api_group(segs[1])
    if len(segs) == 3 and segs[0] == "apis":
        return resource_list(segs[1], segs[2])
    return None
