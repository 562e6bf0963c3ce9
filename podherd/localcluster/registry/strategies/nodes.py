"""The Node strategy: cluster-scoped, a status subresource, and `spec.unschedulable` as a field selector.

Ported from ``pkg/registry/core/node/strategy.go``: a node may be created with its status (the
kubelet registers itself so), main-resource writes keep the stored status and /status writes keep
the spec. The local kubelet registers the one node, `local` (`kubelet.registration`).
"""

from __future__ import annotations

from podherd.localcluster.registry.strategies.base import JSONDict, Strategy, go_string, json_object

NODE_FIELD_LABELS = frozenset({"metadata.name", "spec.unschedulable"})  # conversion.go: Node


class NodeStrategy(Strategy):
    has_status_subresource = True
    field_labels = NODE_FIELD_LABELS

    def selectable_fields(self, obj: JSONDict) -> dict[str, str]:
        meta = json_object(obj, "metadata")
        return {
            "metadata.name": go_string(meta.get("name")),
            "spec.unschedulable": "true" if json_object(obj, "spec").get("unschedulable") is True else "false",
        }
