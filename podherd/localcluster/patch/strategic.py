"""Strategic merge patch for built-in kinds (apimachinery `pkg/util/strategicpatch`, apply half).

Which lists merge by which key is data, per kind, in `schema`.

The algorithm, including the element order of merged lists, follows
`mergeMap`/`mergeSlice`/`normalizeElementOrder` so results match a real
apiserver. Deliberate divergences (all of them where Kubernetes errors out or
keeps garbage): `$patch: merge` is accepted as an explicit "merge as usual";
unknown `$`-keys and every malformed directive are 400 (Kubernetes answers 500
for some); stored list elements lacking their merge key never match instead of
failing the whole patch.
"""

from __future__ import annotations

import json
from typing import Any, Final

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.patch.schema import ITEM, Path, Schema

PATCH_DIRECTIVE: Final = "$patch"
RETAIN_KEYS: Final = "$retainKeys"
SET_ORDER: Final = "$setElementOrder/"
DELETE_FROM: Final = "$deleteFromPrimitiveList/"
REJECTED_MESSAGE: Final = "the server rejected our request due to an error in our request"

_ABSENT: Final = object()  # a key missing from a map
_DELETED: Final = object()  # a value that `$patch: delete` removed entirely


def rejected() -> ApiError:
    """422 as `NewGenericServerResponse(422)`: what a patch that cannot be applied gets."""
    return ApiError(422, "Invalid", REJECTED_MESSAGE, {})


def strategic_merge(original: dict[str, Any], patch: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """Apply `patch` to `original`, which is modified in place: pass a copy."""
    result = _Merger(schema).merge_map(original, patch, ())
    assert isinstance(result, dict)  # only a *missing* map can be deleted away
    return result


# --- helpers -------------------------------------------------------------------------------------


def _go(value: Any) -> str:
    """Format like Go's %v so error messages read like apimachinery's."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hashable(value: Any) -> tuple[str, Any]:
    """Equality as Go's interface ==: numbers by value, but true is not 1."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("num", value)
    if isinstance(value, dict | list):
        return ("json", json.dumps(value, sort_keys=True))
    return (type(value).__name__, value)


def _ident(item: Any, key: str | None) -> tuple[str, Any]:
    """What identifies a list element: its merge key value, or the value itself."""
    if key is None:
        return _hashable(item)
    if isinstance(item, dict) and key in item:
        return _hashable(item[key])
    return ("unkeyed", id(item))  # never equal to anything else


def _first_positions(items: list[Any], key: str | None) -> dict[tuple[str, Any], int]:
    positions: dict[tuple[str, Any], int] = {}
    for i, item in enumerate(items):
        positions.setdefault(_ident(item, key), i)
    return positions


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _element_kind(*lists: list[Any]) -> str | None:
    """`sliceElementType`: one element type across lists; lists of lists are not patchable."""
    kinds = {_kind(v) for items in lists for v in items}
    if "list" in kinds:
        raise rejected()  # mergepatch.ErrNoListOfLists is mapped to 422
    if len(kinds) > 1:
        raise errors.bad_request(f"list element types are not identical: {_go(list(lists))}")
    return next(iter(kinds), None)


def _normalize(merged: list[Any], order: list[Any], server: list[Any], key: str | None) -> list[Any]:
    """`normalizeElementOrder`: patch-named items in patch order, interleaved with the others.

    Items named by `order` are sorted by it, the rest keep the live (`server`)
    order, then `mergeSortedSlice` interleaves them: a server-only item goes
    first only while it precedes the next patch item in the live list, so an
    item new to the list lands before the server-only items that follow it.
    """
    in_order = _first_positions(order, key)
    in_server = _first_positions(server, key)
    last = len(server)
    named = sorted((m for m in merged if _ident(m, key) in in_order), key=lambda m: in_order[_ident(m, key)])
    rest = sorted(
        (m for m in merged if _ident(m, key) not in in_order), key=lambda m: in_server.get(_ident(m, key), last)
    )
    out: list[Any] = []
    i = j = 0
    while i < len(rest) or j < len(named):
        if j >= len(named):
            out.append(rest[i])
            i += 1
            continue
        if i < len(rest):
            left = in_server.get(_ident(rest[i], key), -1)
            right = in_server.get(_ident(named[j], key), -1)
            if left >= 0 and right >= 0 and left < right:
                out.append(rest[i])
                i += 1
                continue
        out.append(named[j])
        j += 1
    return out


def _check_order(patch_list: list[Any], order: list[Any], key: str | None) -> None:
    """`validatePatchWithSetOrderList`: patch items must appear in `order`, in the same order."""
    items = [p for p in patch_list if not (key and isinstance(p, dict) and p.get(PATCH_DIRECTIVE) == "delete")]
    pi = oi = 0
    while pi < len(items) and oi < len(order):
        if isinstance(items[pi], dict) and PATCH_DIRECTIVE in items[pi]:
            pi += 1
            continue
        if _ident(items[pi], key) == _ident(order[oi], key):
            pi += 1
        oi += 1
    if pi < len(items):
        raise errors.bad_request(
            f"The order in patch list:\n{_go(patch_list)}\n doesn't match $setElementOrder list:\n{_go(order)}\n"
        )


class _Merger:
    """One patch application against one schema."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def value(self, original: Any, patch: Any, path: Path) -> Any:
        """Merge where types agree; otherwise the (cleaned) patch value wins."""
        if isinstance(patch, dict):
            return self.merge_map(original if isinstance(original, dict) else None, patch, path)
        if isinstance(patch, list):
            return self.merge_list(original if isinstance(original, list) else None, patch, path)
        return patch

    def merge_map(self, original: dict[str, Any] | None, patch: dict[str, Any], path: Path) -> Any:
        """`mergeMap`. `original` None means "not there": directives are stripped, nulls dropped."""
        if PATCH_DIRECTIVE in patch:
            directive = patch[PATCH_DIRECTIVE]
            rest = {k: v for k, v in patch.items() if k != PATCH_DIRECTIVE}
            if directive == "delete":
                return _DELETED if original is None else {}
            if directive == "replace":
                return self.merge_map(None, rest, path)
            if directive != "merge":
                raise errors.bad_request(f"unknown patch type: {_go(directive)} in map: {_go(patch)}")
            patch = rest
        result: dict[str, Any] = {} if original is None else original
        if RETAIN_KEYS in patch:
            self._retain_keys(result, patch)
        ordered = self._set_element_orders(result, patch, path)
        for key, value in patch.items():
            if key == RETAIN_KEYS or key.startswith(SET_ORDER) or key in ordered:
                continue
            if key.startswith(DELETE_FROM):
                self._delete_from_primitive_list(result, key.removeprefix(DELETE_FROM), value)
                continue
            if key.startswith("$"):
                raise errors.bad_request(f"strategic merge patch format is not supported: unknown directive {key}")
            if value is None:
                result.pop(key, None)
                continue
            merged = self.value(result.get(key), value, (*path, key))
            if merged is _DELETED:
                result.pop(key, None)
            else:
                result[key] = merged
        return result

    def merge_list(self, original: list[Any] | None, patch: list[Any], path: Path) -> list[Any]:
        """`mergeSliceHandler`: merge lists that have a strategy, replace the rest."""
        return self._merge_list(original, patch, path)[0]

    def _merge_list(self, original: list[Any] | None, patch: list[Any], path: Path) -> tuple[list[Any], list[Any]]:
        """The merged list, and the live order a `$setElementOrder` on it compares against."""
        if path not in self.schema:
            return self._fresh(patch, path), original or []
        key = self.schema[path]
        if original is None:  # nothing to merge with: take the patch, minus its directives
            return self._fresh(patch, path), []
        if not original and not patch:
            return original, original
        kind = _element_kind(original, patch)
        if kind != "map":
            return _normalize(_dedupe(original + patch), patch, original, None), original
        if key is None:
            raise errors.bad_request("cannot merge lists without merge key for type map")
        return self._merge_keyed(original, patch, key, (*path, ITEM))

    def _merge_keyed(self, original: list[Any], patch: list[Any], key: str, item: Path) -> tuple[list[Any], list[Any]]:
        """`mergeSlice` for maps: `$patch` elements first, then merge by key, then order.

        The second result mimics Go slice aliasing that `$setElementOrder` depends
        on: `deleteMatchingEntries` shifts the caller's backing array in place and
        appends of new elements land in the freed slots, so the caller's
        original-length view reads (survivors + new elements)[:len(original)].
        apimachinery's own test expectations rely on it.
        """
        live = original
        plain: list[dict[str, Any]] = []
        replace = False
        for element in patch:
            if PATCH_DIRECTIVE not in element:
                plain.append(element)
                continue
            directive = element[PATCH_DIRECTIVE]
            if directive == "delete":
                if key not in element:
                    raise errors.bad_request(f"map: {_go(element)} does not contain declared merge key: {key}")
                gone = _ident(element, key)
                original = [o for o in original if _ident(o, key) != gone]
            elif directive == "replace":
                replace = True
            elif directive == "merge":
                plain.append({k: v for k, v in element.items() if k != PATCH_DIRECTIVE})
            else:
                raise errors.bad_request(f"unknown patch type: {_go(directive)} in map: {_go(element)}")
        if replace:
            return [m for m in (self.merge_map(None, e, item) for e in plain) if m is not _DELETED], live
        merged = list(original)
        added: list[Any] = []
        for element in plain:
            if key not in element:
                raise errors.bad_request(f"map: {_go(element)} does not contain declared merge key: {key}")
            wanted = _ident(element, key)
            at = next((i for i, m in enumerate(merged) if _ident(m, key) == wanted), None)
            if at is None:
                added.append(self.merge_map(None, element, item))
                merged.append(added[-1])
            else:
                merged[at] = self.merge_map(merged[at], element, item)
        return _normalize(merged, plain, original, key), (original + added)[: len(live)]

    def _fresh(self, patch: list[Any], path: Path) -> list[Any]:
        """A replaced list: the patch's elements, minus directives and nulls inside them."""
        out: list[Any] = []
        for element in patch:
            if isinstance(element, dict) and set(element) == {PATCH_DIRECTIVE}:
                continue
            cleaned = self.value(None, element, (*path, ITEM))
            if cleaned is not _DELETED:
                out.append(cleaned)
        return out

    def _retain_keys(self, result: dict[str, Any], patch: dict[str, Any]) -> None:
        """`applyRetainKeysDirective`: drop live keys not listed; the patch may only set listed ones."""
        keep = patch[RETAIN_KEYS]
        if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
            raise errors.bad_request("invalid patch format of retainKeys")
        for key, value in patch.items():
            if value is None or key == RETAIN_KEYS or key.startswith((SET_ORDER, DELETE_FROM)):
                continue
            if key not in keep:
                raise errors.bad_request("invalid patch format of retainKeys")
        for key in [k for k in result if k not in keep]:
            del result[key]

    def _set_element_orders(self, result: dict[str, Any], patch: dict[str, Any], path: Path) -> set[str]:
        """`mergePatchIntoOriginal`: merge each ordered list with its patch, then impose the order."""
        done: set[str] = set()
        for directive, order in patch.items():
            if not directive.startswith(SET_ORDER):
                continue
            field = directive.removeprefix(SET_ORDER)
            field_path = (*path, field)
            key = self.schema.get(field_path)
            patch_list = patch.get(field, _ABSENT)
            if not field or not isinstance(order, list) or not (patch_list is _ABSENT or isinstance(patch_list, list)):
                raise errors.bad_request("invalid patch format of setElementOrder list")
            if key is not None and not all(isinstance(o, dict) and key in o for o in order):
                raise errors.bad_request("invalid patch format of setElementOrder list")
            current = result.get(field)
            live = current if isinstance(current, list) else None
            if patch_list is not _ABSENT:
                _check_order(patch_list, order, key)
                merged, live_order = self._merge_list(live, patch_list, field_path)
            elif live is not None:
                merged, live_order = live, live
            else:
                continue
            result[field] = _normalize(merged, order, live_order, key)
            done.add(field)
        return done

    def _delete_from_primitive_list(self, result: dict[str, Any], field: str, values: Any) -> None:
        """`$deleteFromPrimitiveList/<f>`: remove values; a missing list stays missing."""
        if not field or not isinstance(values, list) or any(isinstance(v, dict | list) for v in values):
            raise errors.bad_request("invalid patch format of primitive list")
        current = result.get(field)
        if isinstance(current, list):
            drop = {_hashable(v) for v in values}
            result[field] = [v for v in current if isinstance(v, dict | list) or _hashable(v) not in drop]


def _dedupe(items: list[Any]) -> list[Any]:
    """Set union of primitives keeps the first occurrence (order is fixed afterwards)."""
    firsts: dict[tuple[str, Any], Any] = {}
    for item in items:
        firsts.setdefault(_hashable(item), item)
    return list(firsts.values())
