"""LIST semantics: list options, resourceVersion rules, paging with continue tokens (API.md §3).

Options are decoded (`decode_list_query`, 400 for what does not parse) and then validated
(`validate_list_options`, pure, the causes of a 422), as the apiserver's `listOpts` and
`ValidateListOptions` do. `run_list` serves a list from the store's history.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import ApiError, Cause
from podherd.localcluster.apimachinery.kinds import ResourceType
from podherd.localcluster.registry.fields import check_field_selector
from podherd.localcluster.registry.strategies.catalog import strategy_for
from podherd.localcluster.selectors.errors import SelectorError
from podherd.localcluster.selectors.field import FieldSelector, parse_field_selector
from podherd.localcluster.selectors.label import LabelSelector, parse_label_selector
from podherd.localcluster.storage.store import Key, Store, TooOld

CONTINUE_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list "
    "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show up in the list."
)
LIST_TOO_OLD = "The resourceVersion for the provided list is too old."


@dataclass(frozen=True)
class ListOptions:
    label: LabelSelector
    field: FieldSelector
    limit: int | None = None
    cont: str | None = None
    rv: str | None = None
    rv_match: str | None = None
    allow_bookmarks: bool = False
    timeout_seconds: int | None = None
    send_initial_events: bool = False


def _truthy(v: str | None) -> bool:
    return v is not None and v.lower() in ("1", "true", "yes")


def _int_param(query: Mapping[str, str], name: str, what: str) -> int | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(f"invalid {what}: {raw!r}") from None


def decode_list_query(query: Mapping[str, str], rtype: ResourceType) -> ListOptions:
    """Decode list/watch query parameters (the handlers' `listOpts`): 400 for anything that does not parse."""
    try:
        label = parse_label_selector(query.get("labelSelector", ""))
    except SelectorError as e:
        raise errors.bad_request(f"unable to parse requirement: {e}") from None
    try:
        field = parse_field_selector(query.get("fieldSelector", ""))
    except SelectorError as e:
        raise errors.bad_request(f"invalid field selector: {e}") from None
    field = check_field_selector(rtype.plural, field)
    limit = _int_param(query, "limit", "limit")
    timeout = _int_param(query, "timeoutSeconds", "timeoutSeconds")
    rv = query.get("resourceVersion") or None
    if rv is not None and rv != "0":
        try:
            if int(rv) < 0:
                raise ValueError
        except ValueError:
            raise errors.bad_request(f"invalid resource version: {rv}") from None
    return ListOptions(
        label,
        field,
        limit if limit is not None and limit > 0 else None,
        query.get("continue") or None,
        rv,
        query.get("resourceVersionMatch") or None,
        _truthy(query.get("allowWatchBookmarks")),
        max(0, timeout) if timeout is not None else None,
        _truthy(query.get("sendInitialEvents")),
    )


def _rv_match_causes(opts: ListOptions) -> list[Cause]:
    rv_match = opts.rv_match
    if rv_match is None:
        return []
    if rv_match not in ("Exact", "NotOlderThan"):
        msg = f'Unsupported value: "{rv_match}": supported values: "Exact", "NotOlderThan"'
        return [Cause("FieldValueNotSupported", msg, "resourceVersionMatch")]
    if opts.cont is not None:
        msg = "Forbidden: resourceVersionMatch is forbidden when continue is provided"
    elif opts.rv is None:
        msg = "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
    elif rv_match == "Exact" and opts.rv == "0":
        msg = 'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'
    else:
        return []
    return [Cause("FieldValueForbidden", msg, "resourceVersionMatch")]


def validate_list_options(opts: ListOptions, watch: bool) -> list[Cause]:
    """ValidateListOptions: the causes of a 422 (pure; empty when the options are consistent)."""
    causes = _rv_match_causes(opts)
    if opts.send_initial_events:
        msg = (
            "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"
            if watch
            else "Forbidden: sendInitialEvents is forbidden for list"
        )
        causes.append(Cause("FieldValueForbidden", msg, "sendInitialEvents"))
    return causes


def parse_list_options(query: Mapping[str, str], rtype: ResourceType, watch: bool) -> ListOptions:
    """Decode, then validate, the options of a list, watch or deletecollection (400, then 422)."""
    opts = decode_list_query(query, rtype)
    causes = validate_list_options(opts, watch)
    if causes:
        raise errors.invalid("ListOptions", "", causes, group="meta.k8s.io")
    if opts.cont is not None and opts.rv not in (None, "0") and not watch:
        raise errors.bad_request("specifying resource version is not allowed when using continue")
    return opts


def matcher(rtype: ResourceType, label: LabelSelector, field: FieldSelector) -> Callable[[dict[str, Any]], bool]:
    """One predicate for label + field selectors; the cheap cases avoid any per-object work."""
    fields_of = strategy_for(rtype).selectable_fields
    has_label = not label.empty()
    has_field = not field.empty()
    if not has_label and not has_field:
        return lambda _obj: True
    if not has_field:
        return lambda obj: label.matches(obj["metadata"].get("labels") or {})
    if not has_label:
        return lambda obj: field.matches(fields_of(obj))
    return lambda obj: label.matches(obj["metadata"].get("labels") or {}) and field.matches(fields_of(obj))


def encode_continue(rv: int, start: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        pad = "=" * (-len(token) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(token + pad))
        if data.get("v") != "meta.k8s.io/v1" or not isinstance(data.get("rv"), int):
            raise ValueError
        start = data["start"]
        if not isinstance(start, str) or not start.endswith("\x00") or ".." in start:
            raise ValueError
        return data["rv"], start[:-1]
    except (ValueError, binascii.Error, orjson.JSONDecodeError, TypeError, AttributeError):
        raise errors.bad_request(
            "invalid continue token: continue key is not valid: the continue token is invalid or does not match"
        ) from None


def _key_text(key: Key, namespace: str | None) -> str:
    """Continue keys are relative to the list's prefix, as etcd3 keys are."""
    return key[1] if namespace is not None or not key[0] else f"{key[0]}/{key[1]}"


def _start_key(text: str, namespace: str | None) -> Key:
    if namespace is not None:
        return (namespace, text + "\x00")
    if "/" in text:
        ns, name = text.split("/", 1)
        return (ns, name + "\x00")
    return ("", text + "\x00")


async def run_list(
    store: Store, rtype: ResourceType, namespace: str | None, opts: ListOptions
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return (items, list metadata) honouring RV semantics and paging."""
    match = matcher(rtype, opts.label, opts.field)
    plural = rtype.plural
    limit = opts.limit
    start: Key | None = None
    if opts.cont is not None:
        rv, start_text = decode_continue(opts.cont)
        start = _start_key(start_text, namespace)
        if rv == -1:
            rv = store.rv
        try:
            objs, keys = store.snapshot_sorted(plural, rv)
        except TooOld:
            err = errors.expired(CONTINUE_TOO_OLD)
            err.metadata = {"continue": encode_continue(-1, start_text)}
            raise err from None
    elif opts.rv in (None, "0") or opts.rv_match == "NotOlderThan" or (limit is None and opts.rv_match is None):
        if opts.rv not in (None, "0"):
            await wait_for_rv(store, int(opts.rv))
        rv = store.rv
        objs, keys = store.snapshot_sorted(plural, rv)
        if opts.rv == "0":
            limit = None  # the watch cache serves rv=0 whole; clients tolerate no continue
    else:  # Exact (explicit, or implied by rv=N with limit)
        rv = int(opts.rv)
        await wait_for_rv(store, rv)
        try:
            objs, keys = store.snapshot_sorted(plural, rv)
        except TooOld:
            raise errors.expired(LIST_TOO_OLD) from None

    if namespace is not None:
        lo = bisect.bisect_left(keys, (namespace, ""))
        hi = bisect.bisect_left(keys, (namespace + "\x00", ""))
    else:
        lo, hi = 0, len(keys)
    if start is not None:
        lo = max(lo, bisect.bisect_left(keys, start))

    items: list[dict[str, Any]] = []
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    i = lo
    while i < hi:
        obj = objs[keys[i]]
        i += 1
        if match(obj):
            items.append(obj)
            if limit is not None and len(items) >= limit:
                break
    if limit is not None and len(items) >= limit and i < hi:
        # Keys remain: hand out a token (with a selector none of them may match, as with etcd).
        meta["continue"] = encode_continue(rv, _key_text(keys[i - 1], namespace))
        if opts.label.empty() and opts.field.empty():
            meta["remainingItemCount"] = hi - i
        store.pin_snapshot(plural, rv, objs, keys)
    return items, meta


async def wait_for_rv(store: Store, rv: int) -> None:
    """An RV in the future: wait ~3 s for it, then 504 like the apiserver (lists and watches alike)."""
    if rv <= store.rv:
        return
    for _ in range(30):
        await asyncio.sleep(0.1)
        if rv <= store.rv:
            return
    raise ApiError(
        504,
        "Timeout",
        f"Too large resource version: {rv}, current: {store.rv}",
        {
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1,
        },
    )
