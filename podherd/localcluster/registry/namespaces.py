"""Namespace lifecycle: the NamespaceLifecycle admission checks and the namespace controller's termination.

Admission (``plugin/pkg/admission/namespace/lifecycle``): content may be created only in a namespace
that exists and is not terminating (404 / 403), and the immortal namespaces (`default`,
`kube-public`, `kube-system`) may never be deleted (403, checked before the namespace is even looked
up, as admission runs first). Termination (the namespace controller): a deleted
namespace turns Terminating, its content is deleted, and it disappears once nothing is left in it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.apimachinery.kinds import NAMESPACES, ResourceType, namespaced_kinds
from podherd.localcluster.storage.store import Store, now_rfc3339

IMMORTAL_NAMESPACES = frozenset({"default", "kube-public", "kube-system"})

DeleteOne = Callable[[ResourceType, str, str], Any]  # (kind, namespace, name): a default DELETE of one object


class NamespaceLifecycle:
    """Admission checks and termination of namespaces over one store."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock

    def check_writable(self, namespace: str, resource: str, name: str) -> None:
        """404 for a missing namespace, 403 while it terminates."""
        ns = self.store.get(NAMESPACES.plural, ("", namespace))
        if ns is None:
            raise errors.not_found(NAMESPACES.plural, namespace)
        if ns.get("status", {}).get("phase") == "Terminating":
            why = f"unable to create new content in namespace {namespace} because it is being terminated"
            err = errors.forbidden(resource, name, why)
            err.causes = [Cause("NamespaceTerminating", why, "metadata.namespace")]
            raise err

    def admit_delete(self, rtype: ResourceType, name: str) -> None:
        """403 Forbidden for a DELETE of an immortal namespace (dry-run included, as admission sees those too)."""
        if rtype is NAMESPACES and name in IMMORTAL_NAMESPACES:
            raise errors.forbidden(NAMESPACES.plural, name, "this namespace may not be deleted")

    def terminate(self, ns: dict[str, Any], delete_one: DeleteOne) -> dict[str, Any]:
        """Mark Terminating, delete the content; `finalize` removes the namespace once empty."""
        name = ns["metadata"]["name"]
        if ns.get("status", {}).get("phase") != "Terminating":
            updated = dict(ns)
            updated["metadata"] = {
                **ns["metadata"],
                "deletionTimestamp": now_rfc3339(self.clock()),
                "deletionGracePeriodSeconds": 0,
            }
            updated["status"] = {"phase": "Terminating"}
            ns = self.store.update(NAMESPACES.plural, ("", name), updated)
        for rtype in namespaced_kinds():
            for key, obj in list(self.store.items(rtype.plural, name)):
                if "deletionTimestamp" not in obj["metadata"]:
                    delete_one(rtype, key[0], key[1])
        self.finalize()
        return ns

    def finalize(self) -> None:
        """Remove terminating namespaces that hold nothing any more (the namespace controller's job)."""
        for key, ns in list(self.store.items(NAMESPACES.plural, None)):
            if ns.get("status", {}).get("phase") != "Terminating":
                continue
            if not any(any(True for _ in self.store.items(r.plural, key[1])) for r in namespaced_kinds()):
                self.store.delete(NAMESPACES.plural, key)
