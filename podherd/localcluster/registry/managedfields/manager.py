"""`metadata.managedFields` as kube-apiserver keeps it: apimachinery's `managedfields/internal`, ported.

The Go field manager is a chain of decorators; their rules, in the order a request meets them:

* **version check** (apply): the applied object's apiVersion and kind must be the resource's (400);
* **last-applied** (apply as ``kubectl``): conflicts only with what ``kubectl apply``'s
  last-applied-configuration annotation already says are not conflicts, and the annotation follows
  the applied configuration;
* **skip non-applied**: an existing object with no managedFields stays untracked by updates; the first
  apply gives its existing fields to ``before-first-apply``;
* **cap managers**: beyond 10 Update entries the oldest merge into ``ancient-changes``;
* **manager identity**: an entry is (manager, operation, apiVersion, subresource), apply entries
  without apiVersion;
* **time**: an entry's time is set when its fields change (apply: when the object changes);
* **strip meta**: apiVersion, kind and server-set metadata (name, namespace, uid, resourceVersion,
  generation, creationTimestamp, managedFields, ...) are never owned.

Entries are written sorted (Apply before Update, then by time, manager, apiVersion, subresource),
with `fieldsV1` in the ``f:``/``k:``/``v:`` trie form.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from podherd.localcluster.apimachinery.errors import ApiError, Cause
from podherd.localcluster.registry.managedfields import fieldpath
from podherd.localcluster.registry.managedfields.fieldpath import Set
from podherd.localcluster.registry.managedfields.updater import Managers, Owned

MAX_UPDATE_MANAGERS = 10
ANCIENT = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
STRIPPED = Set.of(
    *(
        tuple(fieldpath.field(p) for p in path)
        for path in (
            ("apiVersion",),
            ("kind",),
            ("metadata",),
            ("metadata", "name"),
            ("metadata", "namespace"),
            ("metadata", "creationTimestamp"),
            ("metadata", "selfLink"),
            ("metadata", "uid"),
            ("metadata", "clusterName"),
            ("metadata", "generation"),
            ("metadata", "managedFields"),
            ("metadata", "resourceVersion"),
        )
    )
)


def identifier(manager: str, operation: str, api_version: str, subresource: str = "") -> str:
    """BuildManagerIdentifier: the entry's JSON without fieldsType, fieldsV1 and time (nor apiVersion when applied)."""
    entry: dict[str, str] = {"manager": manager or "unknown", "operation": operation}
    if operation == "Update" and api_version:
        entry["apiVersion"] = api_version
    if subresource:
        entry["subresource"] = subresource
    return orjson.dumps(entry).decode()


def describe_manager(ident: str) -> str:
    """How conflict messages name a manager (printManager)."""
    entry = orjson.loads(ident)
    text = orjson.dumps(entry.get("manager", "")).decode()
    if entry.get("subresource"):
        text += f" with subresource {orjson.dumps(entry['subresource']).decode()}"
    if entry.get("operation") == "Update":
        text += f" using {entry.get('apiVersion', '')}"
    return text


class _IdentityCache:
    """Sets decoded from (and fieldsV1 encoded for) objects by identity. Stored objects never change, so an
    entry untouched by a write is neither decoded nor encoded again; a bounded LRU holding its keys alive."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self.items: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    def get(self, key: Any, make: Callable[[Any], Any]) -> Any:
        hit = self.items.get(id(key))
        if hit is not None and hit[0] is key:
            self.items.move_to_end(id(key))
            return hit[1]
        value = make(key)
        self.items[id(key)] = (key, value)
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


_DECODED = _IdentityCache()
_ENCODED = _IdentityCache()


def decode(entries: Any) -> tuple[Managers, dict[str, str | None]]:
    """Managers and their times from `metadata.managedFields`; ValueError when an entry is invalid."""
    managers: Managers = {}
    times: dict[str, str | None] = {}
    for i, entry in enumerate(entries or []):
        if not isinstance(entry, dict) or entry.get("operation") not in ("Apply", "Update"):
            raise ValueError("operation must be `Apply` or `Update`")
        if not entry.get("apiVersion"):
            raise ValueError("apiVersion must not be empty")
        if entry.get("fieldsType") != "FieldsV1":
            raise ValueError(f"invalid fieldsType {entry.get('fieldsType')!r} in managed fields entry {i}")
        ident = identifier(
            str(entry.get("manager", "")), entry["operation"], entry["apiVersion"], str(entry.get("subresource") or "")
        )
        managers[ident] = Owned(
            Set.from_fields_v1(entry.get("fieldsV1") or {}), entry["apiVersion"], entry["operation"] == "Apply"
        )
        times[ident] = entry.get("time")
    return managers, times


def encode(managers: Managers, times: dict[str, str | None]) -> list[dict[str, Any]]:
    out = []
    for ident, owned in managers.items():
        entry = orjson.loads(ident)
        row: dict[str, Any] = {"manager": entry["manager"], "operation": "Apply" if owned.applied else "Update"}
        row["apiVersion"] = owned.api_version
        if times.get(ident):
            row["time"] = times[ident]
        row["fieldsType"] = "FieldsV1"
        row["fieldsV1"] = _ENCODED.get(owned.fields, Set.to_fields_v1)
        if entry.get("subresource"):
            row["subresource"] = entry["subresource"]
        out.append(row)
    out.sort(
        key=lambda e: (e["operation"], e.get("time") or "", e["manager"], e["apiVersion"], e.get("subresource", ""))
    )
    return out


def strip(managers: Managers, ident: str) -> Managers:
    """stripMetaManager: the entry of `ident` without apiVersion, kind and server-set metadata."""
    owned = managers.get(ident)
    if owned is None:
        return managers
    out = dict(managers)
    fields = owned.fields.difference(STRIPPED)
    if fields.empty():
        del out[ident]
    else:
        out[ident] = Owned(fields, owned.api_version, owned.applied)
    return out


def cap(managers: Managers, times: dict[str, str | None]) -> None:
    """capManagersManager: fold the oldest Update entries into ancient-changes beyond the limit."""
    updaters = [m for m, owned in managers.items() if not owned.applied]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return
    updaters.sort(key=lambda m: (times.get(m) or "", m))
    first_of_version: dict[str, str] = {}
    length = len(updaters)
    for ident in updaters:
        if length <= MAX_UPDATE_MANAGERS:
            break
        owned = managers[ident]
        bucket = identifier(ANCIENT, "Update", owned.api_version)
        first = first_of_version.get(owned.api_version)
        if first is None:
            first_of_version[owned.api_version] = ident
            continue
        if bucket not in managers:
            managers[bucket] = managers.pop(first)
        managers[bucket] = Owned(owned.fields.union(managers[bucket].fields), owned.api_version, False)
        del managers[ident]
        times[bucket] = times.get(ident)
        length -= 1


def conflict_error(conflicts: list[tuple[str, fieldpath.Path]]) -> ApiError:
    """NewConflictError: 409 Conflict, one FieldManagerConflict cause per conflicting path."""
    causes = [
        Cause("FieldManagerConflict", f"conflict with {describe_manager(m)}", fieldpath.path_string(p))
        for m, p in conflicts
    ]
    if len(conflicts) == 1:
        manager, path = conflicts[0]
        message = (
            f"Apply failed with 1 conflict: conflict with {describe_manager(manager)}: {fieldpath.path_string(path)}"
        )
    else:
        lines: list[str] = []
        for manager in sorted({m for m, _p in conflicts}):
            lines.append(f"conflicts with {describe_manager(manager)}:")
            lines.extend(f"- {fieldpath.path_string(p)}" for m, p in conflicts if m == manager)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {}, causes)


def without_managed_fields(obj: Any) -> Any:
    """The object as the typed operations see it: without metadata.managedFields."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict) or "managedFields" not in obj["metadata"]:
        return obj
    meta = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    return {**obj, "metadata": meta}


def is_reset(entries: Any) -> bool:
    """A request that sets managedFields to [] or [{}] asks to drop all of them."""
    return isinstance(entries, list) and (not entries or (len(entries) == 1 and entries[0] == {}))
