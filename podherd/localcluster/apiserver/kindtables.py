"""Server-side printing of ConfigMaps, Secrets, ServiceAccounts and Nodes (``kubectl get``'s columns).

Columns and cells follow ``pkg/printers/internalversion/printers.go`` (printConfigMap, printSecret,
printServiceAccount, printNode), generated "wide" as the server does: kubectl hides the priority-1
columns of nodes unless ``-o wide``. `tables` dispatches to `KIND_CELLS` for these resources.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from podherd.localcluster.apiserver.columns import AGE_COL, NAME_COL, col, since

JSONDict = dict[str, Any]
NODE_ROLE_PREFIX = "node-role.kubernetes.io/"

_ADDRESSES_DOC = "List of addresses reachable to the node. Queried from cloud provider, if available."
KIND_COLUMNS: dict[str, list[JSONDict]] = {
    "configmaps": [NAME_COL, col("Data", "Data contains the configuration data."), AGE_COL],
    "secrets": [
        NAME_COL,
        col("Type", "Used to facilitate programmatic handling of secret data."),
        col("Data", "Data contains the secret data."),
        AGE_COL,
    ],
    "serviceaccounts": [
        NAME_COL,
        col(
            "Secrets",
            "Secrets is a list of the secrets in the same namespace that pods running using this "
            "ServiceAccount are allowed to use.",
        ),
        AGE_COL,
    ],
    "nodes": [
        NAME_COL,
        col("Status", "The status of the node"),
        col("Roles", "The roles of the node"),
        AGE_COL,
        col("Version", "Kubelet Version reported by the node."),
        col("Internal-IP", _ADDRESSES_DOC, 1),
        col("External-IP", _ADDRESSES_DOC, 1),
        col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
        col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
        col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API.", 1),
    ],
}


def _d(value: Any) -> JSONDict:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return len(value) if isinstance(value, dict | list) else 0


def _name_and_age(obj: JSONDict, now: datetime) -> tuple[str, str]:
    meta = _d(obj.get("metadata"))
    return meta.get("name", ""), since(meta.get("creationTimestamp"), now)


def config_map_cells(cm: JSONDict, now: datetime) -> list[Any]:
    name, age = _name_and_age(cm, now)
    return [name, _count(cm.get("data")) + _count(cm.get("binaryData")), age]


def secret_cells(secret: JSONDict, now: datetime) -> list[Any]:
    name, age = _name_and_age(secret, now)
    return [name, secret.get("type") or "", _count(secret.get("data")), age]


def service_account_cells(sa: JSONDict, now: datetime) -> list[Any]:
    name, age = _name_and_age(sa, now)
    return [name, _count(sa.get("secrets")), age]


def node_status_text(node: JSONDict) -> str:
    """Ready / NotReady / Unknown, plus SchedulingDisabled for a cordoned node."""
    ready = [
        c for c in _d(node.get("status")).get("conditions") or [] if isinstance(c, dict) and c.get("type") == "Ready"
    ]
    status = ["Unknown"] if not ready else ["Ready" if ready[-1].get("status") == "True" else "NotReady"]
    if _d(node.get("spec")).get("unschedulable") is True:
        status.append("SchedulingDisabled")
    return ",".join(status)


def node_roles(node: JSONDict) -> str:
    """findNodeRoles: node-role.kubernetes.io/<role> keys and kubernetes.io/role values, sorted; else <none>."""
    roles = set()
    for k, v in (_d(_d(node.get("metadata")).get("labels"))).items():
        if k.startswith(NODE_ROLE_PREFIX) and k[len(NODE_ROLE_PREFIX) :]:
            roles.add(k[len(NODE_ROLE_PREFIX) :])
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return ",".join(sorted(roles)) or "<none>"


def _address(status: JSONDict, kind: str) -> str:
    found = [a for a in status.get("addresses") or [] if isinstance(a, dict) and a.get("type") == kind]
    return found[0].get("address", "") if found else "<none>"


def node_cells(node: JSONDict, now: datetime) -> list[Any]:
    name, age = _name_and_age(node, now)
    status = _d(node.get("status"))
    info = _d(status.get("nodeInfo"))
    return [
        name,
        node_status_text(node),
        node_roles(node),
        age,
        info.get("kubeletVersion", ""),
        _address(status, "InternalIP"),
        _address(status, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


KIND_CELLS: dict[str, Callable[[JSONDict, datetime], list[Any]]] = {
    "configmaps": config_map_cells,
    "secrets": secret_cells,
    "serviceaccounts": service_account_cells,
    "nodes": node_cells,
}
