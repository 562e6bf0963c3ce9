"""Strategic-merge schemas: for each built-in kind, which lists merge by which key (the Go struct tags, as data).

Kubernetes reads the patch strategy of each field from Go struct tags; here the tags are data: a
`Schema` maps a field path to its list merge key. Paths name map fields, with `ITEM` ("[]") standing
for "any element of this list", so the `env` list inside any container is
``("spec", "containers", "[]", "env")``. A path present with a key merges list elements by that
key; present with `None` merges a list of primitives as a set (``metadata.finalizers``); absent
means the list is replaced. Maps always merge.
"""

from __future__ import annotations

from typing import Final

Path = tuple[str, ...]
Schema = dict[Path, str | None]

ITEM: Final = "[]"

METADATA_SCHEMA: Final[Schema] = {
    ("metadata", "ownerReferences"): "uid",
    ("metadata", "finalizers"): None,
}

_CONTAINER_RULES: Final[Schema] = {
    ("env",): "name",
    ("ports",): "containerPort",
    ("volumeMounts",): "mountPath",
    ("volumeDevices",): "devicePath",
    ("resizePolicy",): "resourceName",
}


def _under(prefix: Path, rules: Schema) -> Schema:
    """Re-root relative rules, e.g. the container rules under each container list."""
    return {prefix + path: key for path, key in rules.items()}


POD_SCHEMA: Final[Schema] = {
    **METADATA_SCHEMA,
    **{("spec", field): "name" for field in ("containers", "initContainers", "ephemeralContainers")},
    **_under(("spec", "containers", ITEM), _CONTAINER_RULES),
    **_under(("spec", "initContainers", ITEM), _CONTAINER_RULES),
    **_under(("spec", "ephemeralContainers", ITEM), _CONTAINER_RULES),
    ("spec", "volumes"): "name",
    ("spec", "imagePullSecrets"): "name",
    ("spec", "hostAliases"): "ip",
    ("spec", "schedulingGates"): "name",
    ("spec", "resourceClaims"): "name",
    ("spec", "topologySpreadConstraints"): "topologyKey",
    ("status", "conditions"): "type",
    ("status", "containerStatuses"): "name",
    ("status", "initContainerStatuses"): "name",
    ("status", "ephemeralContainerStatuses"): "name",
    ("status", "podIPs"): "ip",
    ("status", "hostIPs"): "ip",
    ("status", "resourceClaimStatuses"): "name",
}

NAMESPACE_SCHEMA: Final[Schema] = {**METADATA_SCHEMA, ("status", "conditions"): "type"}

SCHEMAS: Final[dict[str, Schema]] = {
    "pods": POD_SCHEMA,
    "namespaces": NAMESPACE_SCHEMA,
    "leases": METADATA_SCHEMA,
    "events": METADATA_SCHEMA,
}


def schema_for(resource: str) -> Schema:
    """Every built-in kind has ObjectMeta, so unknown resources still get its rules."""
    return SCHEMAS.get(resource, METADATA_SCHEMA)
