"""Which discovery document a non-resource GET path asks for (pure; kubectl needs these, API.md §9)."""

from __future__ import annotations

from typing import Any

from podherd.localcluster.apimachinery import kinds as resources


def is_discovery_path(path: str) -> bool:
    """Paths that exist for GET: another verb on them is 405, not 404."""
    return path in ("/version", "/api", "/apis", "/openapi/v3") or path.startswith(("/api/", "/apis/"))


def discovery_document(path: str, server_address: str) -> dict[str, Any] | None:
    """The document served at `path`, or None for an unknown path (404)."""
    if path == "/version":
        return resources.version_info()
    if path == "/api":
        return resources.api_versions(server_address)
    if path == "/apis":
        return resources.api_group_list()
    if path == "/openapi/v3":
        return resources.openapi_v3_root()
    segs = [s for s in path.split("/") if s]
    if len(segs) == 2 and segs[0] == "api":
        return resources.resource_list("", segs[1])
    if len(segs) == 2 and segs[0] == "apis" and segs[1] in {r.group for r in resources.RESOURCES.values()}:
        return resources.api_group(segs[1])
    if len(segs) == 3 and segs[0] == "apis":
        return resources.resource_list(segs[1], segs[2])
    if len(segs) >= 4 and segs[:2] == ["openapi", "v3"]:
        group, version = ("", segs[3]) if segs[2] == "api" else (segs[3], segs[4] if len(segs) > 4 else "")
        return resources.openapi_v3_group(group, version)
    return None
