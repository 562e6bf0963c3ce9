"""The field manager every write goes through: `update` for create/PUT/PATCH, `apply` for server-side apply.

It joins the pieces as kube-apiserver's FieldManager does (see `manager` for the decorator rules):
objects are compared with their types (`types`, from the .proto schema), ownership changes through the
`updater`, and the result is the object's new `metadata.managedFields`. A create compares against the
kind's Go zero value as unstructured JSON (`zero_object`: what ``creater.New`` converts to), so a new
object's entries look like a real server's (``f:spec`` without ``.``, ``f:labels`` with it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.kinds import ResourceType
from podherd.localcluster.apimachinery.proto import schema
from podherd.localcluster.apimachinery.proto.schema import INT_OR_STRING, QUANTITY, Schema
from podherd.localcluster.registry.managedfields import manager as mf
from podherd.localcluster.registry.managedfields import typed
from podherd.localcluster.registry.managedfields.fieldpath import Set, field
from podherd.localcluster.registry.managedfields.typed import TypedError
from podherd.localcluster.registry.managedfields.types import UNTYPED_MESSAGES, types_for
from podherd.localcluster.registry.managedfields.updater import Conflicts, Managers, Owned, Updater
from podherd.timefmt import rfc3339

CURRENT = "current-operation"
log = logging.getLogger("podherd.localcluster")


def zero_object(proto: Schema, message_name: str) -> dict[str, Any]:
    """A message's Go zero value as unstructured JSON: non-pointer structs present, omitempty zeros absent."""
    out: dict[str, Any] = {}
    for f in proto.message(message_name).fields:
        if f.inline:
            out.update(zero_object(proto, f.type))
        elif f.repeated or f.map_key is not None or f.pointer or f.type == "bytes":
            if not f.omitempty:
                out[f.json_name] = None
        elif f.scalar:
            if not f.omitempty:
                out[f.json_name] = {"string": "", "bool": False}.get(f.type, 0)
        elif f.type == QUANTITY:
            out[f.json_name] = "0"
        elif f.type == INT_OR_STRING:
            out[f.json_name] = 0
        elif f.type in UNTYPED_MESSAGES or proto.message(f.type).slice_wrapper:
            out[f.json_name] = None
        else:
            out[f.json_name] = zero_object(proto, f.type)
    return out


class FieldManager:
    """Computes managedFields; stateless but for the clock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.proto = schema.load()
        self.types = types_for(self.proto)

    def _updater(self, rtype: ResourceType, has_status: bool, subresource: str) -> Updater:
        reset = Set()
        if subresource == "status":
            reset.insert((field("spec"),))
        elif has_status:
            reset.insert((field("status"),))
        return Updater(self.types.kind(rtype.api_version, rtype.kind), reset)

    def _zero(self, rtype: ResourceType) -> dict[str, Any]:
        message = self.proto.message_for(rtype.api_version, rtype.kind)
        return zero_object(self.proto, message.full_name) if message is not None else {}

    def _now(self) -> str:
        return rfc3339(self.clock())

    # ---- create, update, non-apply patch ----------------------------------------------------------

    def update(
        self,
        rtype: ResourceType,
        has_status: bool,
        live: dict[str, Any] | None,
        new: dict[str, Any],
        manager: str,
        subresource: str = "",
    ) -> list[dict[str, Any]] | None:
        """The managedFields of `new` written by `manager` over `live` (None for a create); None: untracked.

        As UpdateNoErrors: an object the types cannot index (a keyed list item without its key) is
        written without managedFields, and the reason logged, rather than failing the write."""
        try:
            return self._update(rtype, has_status, live, new, manager, subresource)
        except TypedError as e:
            log.error("[SHOULD NOT HAPPEN] failed to update managedFields of %s: %s", rtype.kind, e)
            return None

    def _update(
        self,
        rtype: ResourceType,
        has_status: bool,
        live: dict[str, Any] | None,
        new: dict[str, Any],
        manager: str,
        subresource: str,
    ) -> list[dict[str, Any]] | None:
        managers, times = self._decode_live_or_new(live, new, subresource)
        if not managers and live is not None:
            return None  # skipNonApplied: an existing untracked object stays untracked by updates
        base = self._zero(rtype) if live is None else mf.without_managed_fields(live)
        ident = mf.identifier(manager, "Update", rtype.api_version, subresource)
        managers = self._track(
            self._updater(rtype, has_status, subresource),
            base,
            mf.without_managed_fields(new),
            managers,
            times,
            ident,
            rtype.api_version,
        )
        mf.cap(managers, times)
        return mf.encode(managers, times) or None

    def _track(
        self,
        updater: Updater,
        live: Any,
        new: Any,
        managers: Managers,
        times: dict[str, str | None],
        ident: str,
        version: str,
    ) -> Managers:
        """managedFieldsUpdater + stripMeta + Updater.Update: the writer's new fields join its entry."""
        out = mf.strip(updater.update(live, new, version, managers, CURRENT), CURRENT)
        current = out.pop(CURRENT, None)
        if current is not None:
            previous = out.get(ident)
            fields = current.fields if previous is None else current.fields.union(previous.fields)
            out[ident] = Owned(fields, version, False)
            times[ident] = self._now()
        return out

    def _decode_live_or_new(
        self, live: dict[str, Any] | None, new: dict[str, Any], subresource: str
    ) -> tuple[Managers, dict[str, str | None]]:
        live_entries = (live or {}).get("metadata", {}).get("managedFields")
        requested = new.get("metadata", {}).get("managedFields")
        if not subresource:
            if mf.is_reset(requested):
                return {}, {}
            try:
                managers, times = mf.decode(requested)
                if managers:
                    return managers, times
            except ValueError:
                pass
        try:
            return mf.decode(live_entries)
        except ValueError:
            return {}, {}

    # ---- server-side apply ------------------------------------------------------------------------

    def apply(
        self,
        rtype: ResourceType,
        has_status: bool,
        live: dict[str, Any] | None,
        patch: dict[str, Any],
        manager: str,
        force: bool,
        subresource: str = "",
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None]:
        """(The applied object, or None when nothing changed; its managedFields). Raises a 409 on conflicts."""
        self._check_patch(rtype, patch)
        try:
            managers, times = mf.decode((live or {}).get("metadata", {}).get("managedFields"))
        except ValueError as e:
            raise errors.internal(f"failed to decode managed fields: {e}") from None
        kind = {"apiVersion": rtype.api_version, "kind": rtype.kind}
        current = {**kind, **(mf.without_managed_fields(live) if live is not None else self._zero(rtype))}
        updater = self._updater(rtype, has_status, subresource)
        ident = mf.identifier(manager, "Apply", "", subresource)
        try:
            if not managers:  # skipNonApplied: existing fields go to before-first-apply
                before = mf.identifier(mf.BEFORE_FIRST_APPLY, "Update", rtype.api_version)
                zero = {**kind, **self._zero(rtype)}
                managers = self._track(updater, zero, current, managers, times, before, rtype.api_version)
            new, managers = self._apply_typed(updater, current, patch, managers, times, ident, rtype, manager, force)
        except TypedError as e:
            group, _, version = rtype.api_version.rpartition("/")
            gvk = f"{group}/{version}, Kind={rtype.kind}"
            raise errors.internal(f"failed to create typed patch object ({gvk}): {e}") from None
        new = self._update_last_applied(manager, live, current if new is None else new, patch, new)
        entries = mf.encode(managers, times) or None
        if new is not None:
            new = {k: v for k, v in new.items() if k not in ("apiVersion", "kind")}
        return new, entries

    def _apply_typed(
        self,
        updater: Updater,
        current: dict[str, Any],
        patch: dict[str, Any],
        managers: Managers,
        times: dict[str, str | None],
        ident: str,
        rtype: ResourceType,
        manager: str,
        force: bool,
    ) -> tuple[dict[str, Any] | None, Managers]:
        """One apply; on conflicts, kubectl's last-applied rule may still let it through."""
        try:
            return self._apply_once(updater, current, patch, managers, times, ident, rtype.api_version, force)
        except Conflicts as conflict:
            return self._after_conflict(updater, current, patch, managers, times, ident, rtype, manager, conflict)

    def _check_patch(self, rtype: ResourceType, patch: dict[str, Any]) -> None:
        if patch.get("apiVersion") != rtype.api_version or patch.get("kind") != rtype.kind:
            group, _, version = str(patch.get("apiVersion") or "").rpartition("/")
            raise errors.bad_request(f"invalid object type: {group}/{version}, Kind={patch.get('kind') or ''}")
        meta = patch.get("metadata")
        if isinstance(meta, dict) and meta.get("managedFields") is not None:
            raise errors.bad_request("metadata.managedFields must be nil")

    def _apply_once(
        self,
        updater: Updater,
        live: Any,
        patch: Any,
        managers: Managers,
        times: dict[str, str | None],
        ident: str,
        version: str,
        force: bool,
    ) -> tuple[dict[str, Any] | None, Managers]:
        new, out = updater.apply(live, patch, version, managers, ident, force)
        out = mf.strip(out, ident)
        if new is not None:
            times[ident] = self._now()
        return new, out

    def _after_conflict(
        self,
        updater: Updater,
        live: Any,
        patch: Any,
        managers: Managers,
        times: dict[str, str | None],
        ident: str,
        rtype: ResourceType,
        manager: str,
        conflict: Conflicts,
    ) -> tuple[dict[str, Any] | None, Managers]:
        """lastAppliedManager: for kubectl, conflicts its last-applied annotation explains are forced."""
        allowed = self._allowed_by_last_applied(rtype, live) if manager == "kubectl" else None
        if allowed is None:
            raise mf.conflict_error(conflict.conflicts) from None
        remaining = [(m, p) for m, p in conflict.conflicts if not allowed.has(p)]
        if remaining:
            raise mf.conflict_error(remaining) from None
        return self._apply_once(updater, live, patch, managers, times, ident, rtype.api_version, True)

    def _allowed_by_last_applied(self, rtype: ResourceType, live: dict[str, Any]) -> Set | None:
        text = ((live.get("metadata") or {}).get("annotations") or {}).get(mf.LAST_APPLIED)
        try:
            last = orjson.loads(text) if text else None
        except orjson.JSONDecodeError:
            return None
        if not isinstance(last, dict) or last.get("apiVersion") != rtype.api_version:
            return None
        t = self.types.kind(rtype.api_version, rtype.kind)
        comparison = typed.compare(last, live, t)
        return (
            typed.field_set(last, t)
            .difference(comparison.modified)
            .difference(comparison.added)
            .difference(comparison.removed)
        )

    def _update_last_applied(
        self,
        manager: str,
        live: dict[str, Any] | None,
        result: dict[str, Any],
        patch: dict[str, Any],
        new: dict[str, Any] | None,
    ) -> dict[str, Any] | None:
        """lastAppliedUpdater: kubectl's apply keeps an existing last-applied annotation in step."""
        annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
        if manager != "kubectl" or not annotations.get(mf.LAST_APPLIED):
            return new
        config_meta = dict(patch.get("metadata") or {})
        config_meta["annotations"] = {
            k: v for k, v in (config_meta.get("annotations") or {}).items() if k != mf.LAST_APPLIED
        }
        if not config_meta["annotations"]:
            del config_meta["annotations"]
        text = orjson.dumps({**patch, "metadata": config_meta}, option=orjson.OPT_SORT_KEYS).decode()
        meta = dict(result.get("metadata") or {})
        if (meta.get("annotations") or {}).get(mf.LAST_APPLIED) == text:
            return new
        meta["annotations"] = {**(meta.get("annotations") or {}), mf.LAST_APPLIED: text}
        return {**result, "metadata": meta}
