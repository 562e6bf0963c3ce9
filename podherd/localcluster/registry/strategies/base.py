"""The strategy contract: what the generic registry asks a kind, with the defaults most kinds share.

Kubernetes' `registry.Store` implements write semantics once and asks a per-kind strategy
(`RESTCreateStrategy`, `RESTUpdateStrategy`, `RESTDeleteStrategy`, the field-label conversion and
`GetAttrs`) for the rest; `registry.store.Api` and `registry.deletion.Deleter` do the same with
:class:`Strategy`. A kind overrides only what it does differently, so the generic code never tests
which kind it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podherd.localcluster.apimachinery.errors import Cause

JSONDict = dict[str, Any]
META_FIELDS = frozenset({"metadata.name", "metadata.namespace"})


def go_string(value: Any) -> str:
    """A Go string field as the registry sees it: unset (absent or null) is ""."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def json_object(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """`obj[key]` when it is a JSON object, else an empty one (a mistyped field selects as unset)."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


class Strategy:
    """The defaults: validation of metadata only, no status subresource, immediate deletes."""

    name_rule = "subdomain"  # metadata.name syntax: "subdomain" (most kinds) or "label"
    allow_unconditional_update = True  # a PUT without metadata.resourceVersion is allowed
    returns_deleted_object = False  # DELETE answers with the object rather than a Status
    has_status_subresource = False  # main-resource writes keep .status; /status writes change only it
    tracks_generation = False  # metadata.generation starts at 1 and counts spec changes
    deleted_by_lifecycle = False  # DELETE hands the object to its lifecycle (namespaces), not graceful delete
    graceful_delete = False  # RESTGracefulDeleteStrategy: DELETE always writes deletionTimestamp before removing
    field_labels: frozenset[str] | None = None  # None: DefaultMetaV1FieldSelectorConversion
    field_aliases: Mapping[str, str] = {}

    def prepare_for_create(self, obj: JSONDict) -> JSONDict:
        """Defaults and server-set fields of a new object (PrepareForCreate + scheme defaulting)."""
        return obj

    def scheme_defaults(self, obj: JSONDict) -> JSONDict:
        """Only the defaults the decoder applies (not admission or PrepareForCreate): the object the field
        manager sees, so that a creator owns its defaulted fields but not what admission added."""
        return obj

    def decode(self, obj: JSONDict) -> JSONDict:
        """What decoding a request body into the Go type does before validation (conversion, defaulting of
        fields the decode sets, base64 of []byte fields); may raise a 400 ApiError, as a failed decode does."""
        return obj

    def companions(self, obj: JSONDict) -> list[tuple[str, str, JSONDict]]:
        """Objects a controller creates at once for a new `obj`: (resource, namespace, body). The registry
        creates them right after `obj` (the ServiceAccount controller's `default` in a new namespace)."""
        return []

    def replacement(self, obj: JSONDict) -> JSONDict | None:
        """The body a controller creates again, in the same namespace, once `obj` is deleted (None: nothing)."""
        return None

    def canonicalize(self, obj: JSONDict) -> JSONDict:
        """The object as a JSON round trip through the Go types leaves it (Canonicalize): e.g. times in one form.

        Called on every create and update after validation; it returns a new dict and never raises."""
        return obj

    def validate(self, obj: JSONDict) -> list[Cause]:
        """Everything but metadata, on create and on every update (the registry validates metadata)."""
        return []

    def validate_update(self, old: JSONDict, new: JSONDict) -> list[Cause]:
        """The rules of a main-resource update beyond `validate` (ValidateUpdate)."""
        return []

    def validate_status_update(self, old: JSONDict, new: JSONDict) -> list[Cause]:
        """The rules of a /status update beyond `validate` (the status strategy's ValidateUpdate)."""
        return []

    def grace_period(self, obj: JSONDict, requested: int | None) -> int:
        """Seconds a DELETE leaves the object terminating (CheckGracefulDelete); 0 deletes at once."""
        return 0

    def selectable_fields(self, obj: JSONDict) -> dict[str, str]:
        """ToSelectableFields: what field selectors match against (unset fields are "")."""
        meta = json_object(obj, "metadata")
        return {"metadata.name": go_string(meta.get("name")), "metadata.namespace": go_string(meta.get("namespace"))}
