"""The kinds the local cluster serves: their API facts (names, group, scope, verbs, subresources), nothing more.

Pure data shared by every layer: the router resolves URLs to these, the registry picks a strategy
per kind (`registry.strategies`), and discovery describes them. What differs in *behaviour* between
kinds lives in the registry's strategies, not here.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    # Subresources listed in discovery, with their verbs (`status` is served for every kind regardless).
    subresources: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def has_subresource(self, name: str) -> bool:
        return any(sub == name for sub, _verbs in self.subresources)


_ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

PODS = ResourceType(
    "pods",
    "pod",
    "Pod",
    "",
    "v1",
    True,
    _ALL_VERBS,
    ("po",),
    ("all",),
    subresources=(
        ("attach", ("create", "get")),
        ("exec", ("create", "get")),
        ("log", ("get",)),
        ("status", ("get", "patch", "update")),
    ),
)
NAMESPACES = ResourceType(
    "namespaces",
    "namespace",
    "Namespace",
    "",
    "v1",
    False,
    ("create", "delete", "get", "list", "patch", "update", "watch"),
    ("ns",),
)
EVENTS = ResourceType("events", "event", "Event", "", "v1", True, _ALL_VERBS, ("ev",))
LEASES = ResourceType("leases", "lease", "Lease", "coordination.k8s.io", "v1", True, _ALL_VERBS)
CONFIGMAPS = ResourceType("configmaps", "configmap", "ConfigMap", "", "v1", True, _ALL_VERBS, ("cm",))
SECRETS = ResourceType("secrets", "secret", "Secret", "", "v1", True, _ALL_VERBS)
SERVICEACCOUNTS = ResourceType(
    "serviceaccounts", "serviceaccount", "ServiceAccount", "", "v1", True, _ALL_VERBS, ("sa",)
)
NODES = ResourceType(
    "nodes",
    "node",
    "Node",
    "",
    "v1",
    False,
    _ALL_VERBS,
    ("no",),
    subresources=(("status", ("get", "patch", "update")),),
)

RESOURCES: dict[tuple[str, str], ResourceType] = {
    (r.group, r.plural): r for r in (PODS, NAMESPACES, EVENTS, LEASES, CONFIGMAPS, SECRETS, SERVICEACCOUNTS, NODES)
}

# A review is created and answered, never stored (apiserver.handlers.reviews): `kubectl auth can-i`.
SELF_SUBJECT_ACCESS_REVIEWS = ResourceType(
    "selfsubjectaccessreviews",
    "selfsubjectaccessreview",
    "SelfSubjectAccessReview",
    "authorization.k8s.io",
    "v1",
    False,
    ("create",),
)
RESOURCES[(SELF_SUBJECT_ACCESS_REVIEWS.group, SELF_SUBJECT_ACCESS_REVIEWS.plural)] = SELF_SUBJECT_ACCESS_REVIEWS


def lookup(group: str, plural: str) -> ResourceType | None:
    return RESOURCES.get((group, plural))


def lookup_resource(plural: str) -> ResourceType | None:
    """The served kind whose resource is `plural` (resource names are unique across the groups served here)."""
    return next((r for r in RESOURCES.values() if r.plural == plural), None)


def namespaced_kinds() -> list[ResourceType]:
    """The kinds whose objects live in a namespace (what a namespace's deletion must empty)."""
    return [r for r in RESOURCES.values() if r.namespaced]
