"""Server-side apply (``PATCH`` with ``application/apply-patch+yaml``) and the PatchOptions every PATCH has.

The flow of apiserver's patch handler for apply (handlers/patch.go applyPatcher), over the registry:
PatchOptions are validated first (an apply needs `fieldManager`; `force` is only for apply: 422
otherwise); the body is YAML (JSON is YAML) decoded as sigs.k8s.io/yaml does; a missing object is
created (201) from the configuration merged over the kind's zero value, a present one gets the
configuration merged in; in both cases ownership, conflicts (409) and the removal of fields the
manager stopped applying come from the field manager (`managedfields`). The result is then
validated and stored as any other create or update (dry-run included); applying what is already
there changes nothing, not even the resourceVersion.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.apimachinery.kinds import ResourceType
from podherd.localcluster.patch.apply import APPLY_PATCH_YAML, parse_apply_yaml
from podherd.localcluster.registry.store import Api
from podherd.localcluster.registry.strategies.catalog import strategy_for

FIELD_MANAGER_MAX_LENGTH = 128


def _printable(ch: str) -> bool:
    """Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def validate_patch_options(patch_type: str, field_manager: str, force: str | None) -> None:
    """ValidatePatchOptions: 422 Invalid on `PatchOptions.meta.k8s.io ""`."""
    causes: list[Cause] = []
    if patch_type == APPLY_PATCH_YAML:
        if not field_manager:
            causes.append(Cause("FieldValueRequired", "Required value: is required for apply patch", "fieldManager"))
    elif force is not None:
        causes.append(Cause("FieldValueForbidden", "Forbidden: may not be specified for non-apply patch", "force"))
    if len(field_manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        causes.append(
            Cause(
                "FieldValueTooLong", f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes", "fieldManager"
            )
        )
    for i, ch in enumerate(field_manager):
        if not _printable(ch):
            detail = f'Invalid value: "{field_manager}": invalid character U+{ord(ch):04X} (at position {i})'
            causes.append(Cause("FieldValueInvalid", detail, "fieldManager"))
    if causes:
        raise errors.invalid("PatchOptions", "", causes, group="meta.k8s.io")


def parse_force(value: str | None) -> bool:
    if value is None or value == "":
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise errors.bad_request(f'strconv.ParseBool: parsing "{value}": invalid syntax')


class Applier:
    """Applies configurations to objects of any kind through the registry's create and update paths."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def apply(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        raw: bytes,
        manager: str,
        force: bool,
        subresource: str = "",
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """(The object after applying, whether it was created)."""
        patch = parse_apply_yaml(raw)
        if not isinstance(patch, dict):
            raise errors.bad_request("error decoding YAML: the configuration must be a YAML or JSON object")
        meta = patch.get("metadata")
        if not isinstance(meta, dict) or meta.get("name") != name:
            body_name = meta.get("name") if isinstance(meta, dict) else None
            raise errors.bad_request(
                f"the name of the object ({body_name or ''}) does not match the name on the URL ({name})"
            )
        strategy = strategy_for(rtype)
        live = self.api.store.get(rtype.plural, self.api.key(rtype, namespace, name))
        if live is None:
            if subresource:
                raise errors.not_found(rtype.plural, name, rtype.group)
            return self._create(rtype, namespace, patch, manager, force, dry_run), True
        new, entries = self.api.fields.apply(
            rtype, strategy.has_status_subresource, live, patch, manager, force, subresource
        )
        if new is None and entries == live["metadata"].get("managedFields"):
            return live, False
        obj = new if new is not None else live
        rv = str(meta.get("resourceVersion") or "")  # an applied resourceVersion is a precondition
        body = {**obj, "metadata": {**obj["metadata"], "resourceVersion": rv}}
        written = self.api.write_applied(rtype, live, body, rv, subresource, dry_run, manager, entries)
        return written, False

    def _create(
        self, rtype: ResourceType, namespace: str, patch: dict[str, Any], manager: str, force: bool, dry_run: bool
    ) -> dict[str, Any]:
        strategy = strategy_for(rtype)
        new, entries = self.api.fields.apply(rtype, strategy.has_status_subresource, None, patch, manager, force)
        assert new is not None
        if rtype.namespaced:
            new["metadata"] = {**new.get("metadata", {}), "namespace": namespace}
        return self.api.create(rtype, namespace, new, manager, dry_run, managed_fields=entries or [])
