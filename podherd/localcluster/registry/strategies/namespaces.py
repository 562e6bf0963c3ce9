"""The namespace strategy: DNS-label names, the Active status and `kubernetes` finalizer on create.

Ported from ``pkg/registry/core/namespace/strategy.go``. A namespace is never deleted gracefully:
its DELETE starts termination, which `registry.namespaces` carries out (the namespace controller).
A new namespace gets its `default` ServiceAccount at once (see `serviceaccounts`).
"""

from __future__ import annotations

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.registry.strategies.base import JSONDict, Strategy, go_string, json_object
from podherd.localcluster.registry.strategies.serviceaccounts import default_account
from podherd.localcluster.validation.objects import validate_namespace
from podherd.localcluster.validation.status import validate_namespace_status

NAMESPACE_FIELD_LABELS = frozenset({"status.phase", "metadata.name"})


class NamespaceStrategy(Strategy):
    name_rule = "label"
    returns_deleted_object = True
    has_status_subresource = True
    deleted_by_lifecycle = True
    field_labels = NAMESPACE_FIELD_LABELS

    def prepare_for_create(self, obj: JSONDict) -> JSONDict:
        """The name label every namespace carries, the `kubernetes` finalizer, and phase Active."""
        obj = dict(obj)
        labels = dict(obj["metadata"].get("labels") or {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj["metadata"] = {**obj["metadata"], "labels": labels}
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
        return obj

    def validate(self, obj: JSONDict) -> list[Cause]:
        return validate_namespace(obj)

    def companions(self, obj: JSONDict) -> list[tuple[str, str, JSONDict]]:
        """The ServiceAccount controller's `default` account of the new namespace."""
        return [("serviceaccounts", obj["metadata"]["name"], default_account())]

    def validate_status_update(self, old: JSONDict, new: JSONDict) -> list[Cause]:
        return validate_namespace_status(new.get("status"))

    def selectable_fields(self, obj: JSONDict) -> dict[str, str]:
        meta = json_object(obj, "metadata")
        return {
            "metadata.name": go_string(meta.get("name")),
            "status.phase": go_string(json_object(obj, "status").get("phase")),
        }
