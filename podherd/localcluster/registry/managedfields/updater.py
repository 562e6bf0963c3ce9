"""Ownership bookkeeping for one object: structured-merge-diff's `merge.Updater`, ported (one API version).

`managers` maps a manager identifier to the `Owned` fields it manages (and whether it got them by
apply). Two operations change it:

* `update` (create, PUT, non-apply PATCH): the writer takes every field it added or changed, even
  from other managers (never a conflict); removed fields leave every manager;
* `apply`: the applied configuration is merged over the live object; the applier's set becomes the
  configuration's fields; fields it applied last time but no longer does are pruned from the object
  unless another manager owns them; then every other manager whose fields the result changes is a
  conflict, unless `force` moves those fields to the applier.

`ignore` holds the reset fields of the kind and subresource (status on the main resource, spec on
/status): they are never owned, never conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podherd.localcluster.registry.managedfields import typed
from podherd.localcluster.registry.managedfields.fieldpath import Path, Set
from podherd.localcluster.registry.managedfields.typed import Comparison


@dataclass(frozen=True)
class Owned:
    fields: Set
    api_version: str
    applied: bool


Managers = dict[str, Owned]


class Conflicts(Exception):
    """Apply would change fields other managers own: (manager identifier, path) pairs."""

    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        super().__init__(f"{len(conflicts)} conflicts")
        self.conflicts = conflicts


def conflicts_from(sets: dict[str, Set]) -> Conflicts:
    return Conflicts([(manager, path) for manager in sorted(sets) for path in sets[manager].paths()])


class Updater:
    def __init__(self, object_type: Any, ignore: Set | None = None) -> None:
        self.type = object_type
        self.ignore = ignore or Set()

    def _filter(self, s: Set) -> Set:
        return s.without_prefixes(self.ignore) if not self.ignore.empty() else s

    def _update(
        self, old: Any, new: Any, version: str, managers: Managers, workflow: str, force: bool
    ) -> tuple[Managers, Comparison]:
        comparison = typed.compare(old, new, self.type)
        if not self.ignore.empty():
            comparison = comparison.excluding(self.ignore)
        changed = comparison.modified.union(comparison.added)
        conflicts: dict[str, Set] = {}
        for manager, owned in managers.items():
            if manager == workflow:
                continue
            clash = owned.fields.intersection(changed)
            if not clash.empty():
                conflicts[manager] = clash
        if conflicts and not force:
            raise conflicts_from(conflicts)
        out: Managers = {}
        removed = comparison.removed
        for manager, owned in managers.items():
            if manager == workflow or (manager not in conflicts and removed.empty()):
                out[manager] = owned  # unchanged: the same object, so its encoded entry can be reused
                continue
            fields = owned.fields.difference(conflicts[manager]) if manager in conflicts else owned.fields
            fields = fields.difference(removed)
            if not fields.empty():
                out[manager] = owned if fields is owned.fields else Owned(fields, owned.api_version, owned.applied)
        return out, comparison

    def update(self, live: Any, new: Any, version: str, managers: Managers, manager: str) -> Managers:
        """Managers after `manager` wrote `new` over `live` (SMD's Updater.Update)."""
        out, comparison = self._update(live, new, version, managers, manager, force=True)
        previous = out.get(manager, Owned(Set(), version, False)).fields
        fields = previous.difference(comparison.removed).union(comparison.modified).union(comparison.added)
        fields = self._filter(fields)
        out.pop(manager, None)
        if not fields.empty():
            out[manager] = Owned(fields, version, False)
        return out

    def apply(
        self, live: Any, config: Any, version: str, managers: Managers, manager: str, force: bool
    ) -> tuple[Any, Managers]:
        """(The new object, or None when applying changes nothing; the managers). Raises Conflicts."""
        merged = typed.merge(live, config, self.type)
        last = managers.get(manager)
        managers = dict(managers)
        managers[manager] = Owned(self._filter(typed.field_set(config, self.type)), version, True)
        new = self._prune(merged, managers, last)
        managers, _comparison = self._update(live, new, version, managers, manager, force)
        return (None if new == live else new), managers

    def _prune(self, merged: Any, managers: Managers, last: Owned | None) -> Any:
        """Remove what the applier applied last time and no one manages now (SMD's prune, one version)."""
        if last is None or last.fields.empty():
            return merged
        t = self.type

        def named(s: Set) -> Set:
            return typed.named_fields_as_members(s, t)

        def fields_of(v: Any) -> Set:
            return named(typed.field_set(v, t)) if v is not typed.MISSING else Set()

        pruned = typed.remove_items(merged, named(last.fields), t)
        managed = Set()
        for owned in managers.values():
            managed = managed.union(owned.fields)
        merged_set = fields_of(merged)
        pruned = typed.remove_items(merged, merged_set.difference(fields_of(pruned).union(named(managed))), t)
        dangling = merged_set.difference(fields_of(pruned)).intersection(named(last.fields))
        out = typed.remove_items(merged, dangling, t)
        return {} if out is typed.MISSING else out
