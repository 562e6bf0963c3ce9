"""Typed walks over JSON objects: structured-merge-diff's `typed` package (field sets, merge, compare, remove).

Each walk follows the object and its type (`types`) together. A value is a leaf when its type is a
scalar or untyped, when its list or map type is atomic, or when it is an empty list or map (SMD
promotes those to leaves); otherwise lists descend per item (keyed by `item_element`) and maps per
key. `MISSING` is an absent value, distinct from JSON null (None).

* `field_set`: the paths a value sets (leaves, list items, null or empty values; SMD's ToFieldSet);
* `merge`: the right value laid over the left (keep-RHS rule), associative lists merged by key in
  SMD's order;
* `compare`: added, modified and removed paths between two values (a new or dropped map, list item
  or struct is itself a path, besides its leaves); equal subtrees are skipped at once;
* `remove_items`: the value without the given paths (a removed item takes its subtree with it);
* `named_fields_as_members`: SMD's EnsureNamedFieldsAreMembers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from podherd.localcluster.registry.managedfields import fieldpath
from podherd.localcluster.registry.managedfields.fieldpath import Path, PathElement, Set
from podherd.localcluster.registry.managedfields.types import LEAF, ListType, MapType


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class TypedError(ValueError):
    """A value its type cannot index: a keyed list item without its key, a set item that is a map."""


def item_element(t: ListType, item: Any) -> PathElement:
    """The path element of an associative list's item (SMD's listItemToPathElement)."""
    if t.keys:
        if not isinstance(item, dict):
            raise TypedError("associative list with keys may not have non-map elements")
        pairs = {}
        for k in t.keys:
            if k in item:
                pairs[k] = item[k]
            elif k in t.key_defaults:
                pairs[k] = t.key_defaults[k]
            else:
                raise TypedError(
                    f'associative list with keys has an element that omits key field "{k}" (and doesn\'t have default value)'
                )
        return fieldpath.key(pairs)
    if isinstance(item, dict | list) or item is None:
        raise TypedError("associative list without keys has an element that is not a scalar")
    return fieldpath.value(item)


def _shape(t: Any, v: Any) -> str:
    """How `v` is walked with type `t`: "leaf", "list" or "map" (SMD's deduceAtom + the atomic rules)."""
    if isinstance(t, ListType) and isinstance(v, list) and t.associative:
        return "list"
    if isinstance(t, MapType) and isinstance(v, dict) and not t.atomic:
        return "map"
    return "leaf"


def _joint_shape(t: Any, lhs: Any, rhs: Any) -> str:
    """The shape two values are walked with: absent and null take the other side's; a mismatch is a leaf."""
    shapes = {_shape(t, v) for v in (lhs, rhs) if v is not MISSING and v is not None}
    if not shapes:
        return "leaf"
    return shapes.pop() if len(shapes) == 1 else "leaf"


# ---- field sets -----------------------------------------------------------------------------------


def field_set(v: Any, t: Any) -> Set:
    out = Set()
    _to_set(v, t, (), out)
    return out


def _to_set(v: Any, t: Any, path: Path, out: Set) -> None:
    shape = _shape(t, v)
    if shape == "leaf":
        if v is not None or not isinstance(t, ListType | MapType):
            out.insert(path)
        return
    if shape == "list":
        seen: set[PathElement] = set()
        duplicates: set[PathElement] = set()
        elements = [item_element(t, item) for item in v]
        for pe in elements:
            if pe in seen and pe not in duplicates:
                out.insert((*path, pe))
                duplicates.add(pe)
            seen.add(pe)
        for item, pe in zip(v, elements, strict=True):
            if pe not in duplicates:
                _to_set(item, t.element, (*path, pe), out)
                out.insert((*path, pe))
        return
    for k, val in v.items():
        child = (*path, fieldpath.field(k))
        _to_set(val, t.field_type(k), child, out)
        if val is None or (isinstance(val, dict) and not val) or not t.has_field(k):
            out.insert(child)


# ---- merge (keep the right-hand side) -------------------------------------------------------------


def merge(lhs: Any, rhs: Any, t: Any) -> Any:
    """`rhs` laid over `lhs`; MISSING when both are."""
    if rhs is MISSING and lhs is MISSING:
        return MISSING
    shape = _joint_shape(t, lhs, rhs)
    if shape == "list" and (not _empty(lhs) or not _empty(rhs)):
        return _merge_list(lhs, rhs, t)
    if shape == "map" and (not _empty(lhs) or not _empty(rhs)):
        out: dict[str, Any] = {}
        left = lhs if isinstance(lhs, dict) else {}
        right = rhs if isinstance(rhs, dict) else {}
        for k in [*left, *(k for k in right if k not in left)]:
            merged = merge(left.get(k, MISSING), right.get(k, MISSING), t.field_type(k))
            if merged is not MISSING:
                out[k] = merged
        return out if out else MISSING
    return rhs if rhs is not MISSING else lhs


def _empty(v: Any) -> bool:
    return v is MISSING or v is None or (isinstance(v, list | dict) and not v)


def _index(t: ListType, items: Any) -> tuple[list[PathElement], dict[PathElement, Any]]:
    elements: list[PathElement] = []
    observed: dict[PathElement, Any] = {}
    for item in items if isinstance(items, list) else []:
        pe = item_element(t, item)
        observed[pe] = None if pe in observed else item  # a duplicate keeps no value (SMD)
        elements.append(pe)
    return elements, observed


def _merge_list(lhs: Any, rhs: Any, t: ListType) -> Any:
    """SMD's visitListItems: shared items keep the right side's order, left-only items stay in place."""
    rhs_pes, observed_rhs = _index(t, rhs)
    lhs_pes, observed_lhs = _index(t, lhs)
    shared = [pe for pe in rhs_pes if pe in observed_lhs]
    next_shared = shared.pop(0) if shared else None
    merged_rhs: set[PathElement] = set()
    out: list[Any] = []

    def take(pe: PathElement, left: Any, right: Any) -> None:
        value = merge(left, right, t.element)
        if value is not MISSING:
            out.append(value)

    li = ri = 0
    while li < len(lhs_pes) or ri < len(rhs_pes):
        if li < len(lhs_pes) and ri < len(rhs_pes):
            pe = lhs_pes[li]
            if pe == rhs_pes[ri]:
                merged_rhs.add(pe)
                take(pe, observed_lhs.get(pe, MISSING), observed_rhs.get(pe, MISSING))
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in observed_rhs and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(lhs_pes):
            pe = lhs_pes[li]
            if pe not in observed_rhs:
                take(pe, lhs[li], MISSING)
                li += 1
                continue
            if pe in merged_rhs:
                li += 1
        if ri < len(rhs_pes):
            pe = rhs_pes[ri]
            merged_rhs.add(pe)
            take(pe, observed_lhs.get(pe, MISSING), observed_rhs.get(pe, MISSING))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out if out else MISSING


# ---- compare --------------------------------------------------------------------------------------


@dataclass
class Comparison:
    added: Set = field(default_factory=Set)
    modified: Set = field(default_factory=Set)
    removed: Set = field(default_factory=Set)

    def same(self) -> bool:
        return self.added.empty() and self.modified.empty() and self.removed.empty()

    def excluding(self, prefixes: Set) -> Comparison:
        return Comparison(*(s.without_prefixes(prefixes) for s in (self.added, self.modified, self.removed)))


def compare(lhs: Any, rhs: Any, t: Any) -> Comparison:
    out = Comparison()
    _compare(lhs, rhs, t, (), out)
    return out


def _compare(lhs: Any, rhs: Any, t: Any, path: Path, out: Comparison) -> None:
    if lhs is not MISSING and rhs is not MISSING and type(lhs) is type(rhs) and lhs == rhs:
        return  # equal subtrees differ nowhere (a shortcut SMD does not need in Go)
    shape = _joint_shape(t, lhs, rhs)
    if shape == "leaf" or (_empty(lhs) and _empty(rhs)):
        if lhs is MISSING:
            out.added.insert(path)
        elif rhs is MISSING:
            out.removed.insert(path)
        elif lhs != rhs or type(lhs) is not type(rhs):
            out.modified.insert(path)
        return
    if shape == "list":
        _compare_list(lhs, rhs, t, path, out)
    else:
        left = lhs if isinstance(lhs, dict) else {}
        right = rhs if isinstance(rhs, dict) else {}
        for k in left.keys() | right.keys():
            _compare(left.get(k, MISSING), right.get(k, MISSING), t.field_type(k), (*path, fieldpath.field(k)), out)
    if lhs is MISSING:
        out.added.insert(path)
    elif rhs is MISSING:
        out.removed.insert(path)


def _compare_list(lhs: Any, rhs: Any, t: ListType, path: Path, out: Comparison) -> None:
    lefts: dict[PathElement, list[Any]] = {}
    rights: dict[PathElement, list[Any]] = {}
    for items, into in ((lhs, lefts), (rhs, rights)):
        for item in items if isinstance(items, list) else []:
            into.setdefault(item_element(t, item), []).append(item)
    for pe in [*lefts, *(pe for pe in rights if pe not in lefts)]:
        left, right = lefts.get(pe, []), rights.get(pe, [])
        child = (*path, pe)
        if len(left) <= 1 and len(right) <= 1:
            _compare(left[0] if left else MISSING, right[0] if right else MISSING, t.element, child, out)
        elif len(left) >= 2 and len(right) >= 2:
            if left != right:
                out.modified.insert(child)
        elif len(left) >= 2:
            if right:
                _compare(MISSING, right[0], t.element, child, out)
            out.removed.insert(child)
        else:
            if left:
                _compare(left[0], MISSING, t.element, child, out)
            out.added.insert(child)


# ---- removal --------------------------------------------------------------------------------------


def remove_items(v: Any, to_remove: Set, t: Any) -> Any:
    """`v` without the paths in `to_remove`; MISSING for a list or map left empty."""
    shape = _shape(t, v)
    if shape == "list":
        items = []
        for item in v:
            pe = item_element(t, item)
            if pe in to_remove.members:
                continue
            sub = to_remove.children.get(pe)
            if sub is not None and not sub.empty():
                item = remove_items(item, sub, t.element)
                if item is MISSING:
                    continue
            items.append(item)
        return items if items else MISSING
    if shape == "map":
        out = {}
        for k, val in v.items():
            pe = fieldpath.field(k)
            if pe in to_remove.members:
                continue
            sub = to_remove.children.get(pe)
            if sub is not None and not sub.empty():
                val = remove_items(val, sub, t.field_type(k))
                if val is MISSING:
                    continue
            out[k] = val
        return out if out else MISSING
    return v


def named_fields_as_members(s: Set, t: Any) -> Set:
    """`s` with every struct field that has children also a member (SMD's EnsureNamedFieldsAreMembers)."""
    out = Set()
    out.members = set(s.members)
    for pe, child in s.children.items():
        child_type = LEAF
        if isinstance(t, MapType) and pe[0] == "f":
            child_type = t.field_type(pe[1])
            if t.has_field(pe[1]):
                out.members.add(pe)
        elif isinstance(t, ListType):
            child_type = t.element
        out.children[pe] = named_fields_as_members(child, child_type)
    return out
