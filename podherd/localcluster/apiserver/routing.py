"""Request information: which resource, namespace, name, subresource and verb a request is about.

Mirrors the apiserver's RequestInfo resolver so that the audit log, fault
injection and the handlers all agree on the verb.
"""

from __future__ import annotations

from dataclasses import dataclass

from podherd.localcluster.apimachinery.kinds import ResourceType, lookup


@dataclass(frozen=True)
class RequestInfo:
    is_resource: bool
    verb: str  # get list watch create update patch delete deletecollection (or the HTTP verb lowercased)
    group: str = ""
    version: str = ""
    resource: str = ""
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    rtype: ResourceType | None = None
    parts: tuple[str, ...] = ()  # what followed /api/v1 or /apis/g/v when no resource matched


def _truthy(v: str | None) -> bool:
    return v is not None and v.lower() in ("1", "true")


def resolve(method: str, path: str, query: dict[str, str]) -> RequestInfo:
    segs = [s for s in path.split("/") if s]
    method = method.upper()
    if len(segs) >= 2 and segs[0] == "api":
        group, version, rest = "", segs[1], segs[2:]
    elif len(segs) >= 3 and segs[0] == "apis":
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return RequestInfo(False, method.lower(), parts=tuple(segs))

    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        candidate = lookup(group, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    if not rest:
        return RequestInfo(False, method.lower(), group, version, parts=())
    rtype = lookup(group, rest[0])
    if rtype is None or version != rtype.version or len(rest) > 3:
        return RequestInfo(False, method.lower(), group, version, parts=tuple(rest))
    name = rest[1] if len(rest) >= 2 else ""
    sub = rest[2] if len(rest) == 3 else ""
    if name:
        verb = {
            "GET": "get",
            "HEAD": "get",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete",
            "POST": "create",
        }.get(method, method.lower())
        if verb == "get" and _truthy(query.get("watch")):
            verb = "watch"
    else:
        verb = {"GET": "list", "HEAD": "list", "POST": "create", "DELETE": "deletecollection"}.get(
            method, method.lower()
        )
        if verb == "list" and _truthy(query.get("watch")):
            verb = "watch"
    return RequestInfo(True, verb, group, version, rtype.plural, namespace, name, sub, rtype)
