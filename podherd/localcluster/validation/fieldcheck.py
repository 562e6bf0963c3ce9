"""Field-error causes and typed JSON access, shared by every object validator.

Why: the cause texts must match apimachinery's ``field/errors.go`` to the byte
(clients match on them), and a JSON value of the wrong type must become a
``FieldValueTypeInvalid`` cause worded like kube-openapi's rather than an
exception, so validators read fields only through the ``field_*`` helpers here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.validation.names import label_value_errors, qualified_name_errors

JSONDict = dict[str, Any]

_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(s: str) -> str:
    """Go's strconv.Quote (``%q``), as used for bad values in field errors."""
    out = []
    for c in s:
        if c in ('"', "\\"):
            out.append("\\" + c)
        elif c in _GO_ESCAPES:
            out.append(_GO_ESCAPES[c])
        elif c.isprintable():
            out.append(c)
        elif ord(c) < 0x80:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


def _bad_value(value: Any) -> str:
    """Field Error.ErrorBody's value rendering: %q for strings, %v for scalars, JSON otherwise."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


# ---- cause constructors (field.Required, field.Invalid, ...) -----------------------------------------


def required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), path)


def invalid_value(path: str, value: Any, detail: str = "") -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {_bad_value(value)}" + (f": {detail}" if detail else ""), path)


def not_supported(path: str, value: Any, supported: Sequence[str]) -> Cause:
    detail = "supported values: " + ", ".join(go_quote(s) for s in supported)
    return Cause("FieldValueNotSupported", f"Unsupported value: {_bad_value(value)}: {detail}", path)


def forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", path)


def duplicate(path: str, value: Any) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {_bad_value(value)}", path)


def not_found(path: str, value: Any) -> Cause:
    return Cause("FieldValueNotFound", f"Not found: {_bad_value(value)}", path)


def too_long(path: str, max_bytes: int) -> Cause:
    return Cause("FieldValueTooLong", f"Too long: may not be more than {max_bytes} bytes", path)


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "object": dict,
    "array": list,
}


def _json_type(value: Any) -> str:
    for name, t in (("null", type(None)), ("boolean", bool), ("integer", int), ("number", float)):
        if isinstance(value, t):
            return name
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def type_invalid(path: str, value: Any, expected: str) -> Cause:
    """kube-openapi's wording: ``Invalid value: "string": spec.x in body must be of type integer: "string"``."""
    actual = _json_type(value)
    return Cause(
        "FieldValueTypeInvalid",
        f'Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"',
        path,
    )


def inclusive_range(lo: int, hi: int) -> str:
    """validation.InclusiveRangeError's detail."""
    return f"must be between {lo} and {hi}, inclusive"


# ---- typed access: a wrong JSON type is a cause, never an exception ---------------------------------


def field_value(errs: list[Cause], obj: JSONDict, key: str, path: str, kind: str) -> Any:
    """obj[key] when it has JSON type `kind`; None when absent or null (Go's zero value), or mistyped."""
    value = obj.get(key)
    if value is None:
        return None
    ok = isinstance(value, _JSON_TYPES[kind]) and not (kind == "integer" and isinstance(value, bool))
    if not ok:
        errs.append(type_invalid(path, value, kind))
        return None
    return value


def field_str(errs: list[Cause], obj: JSONDict, key: str, path: str) -> str:
    return field_value(errs, obj, key, path, "string") or ""


def field_objects(errs: list[Cause], obj: JSONDict, key: str, path: str) -> list[tuple[int, JSONDict]]:
    items = field_value(errs, obj, key, path, "array") or []
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            out.append((i, item))
        elif item is not None:
            errs.append(type_invalid(f"{path}[{i}]", item, "object"))
    return out


def field_strings(errs: list[Cause], obj: JSONDict, key: str, path: str) -> list[str]:
    items = field_value(errs, obj, key, path, "array") or []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            errs.append(type_invalid(f"{path}[{i}]", item, "string"))
    return [s for s in items if isinstance(s, str)]


def field_string_map(errs: list[Cause], obj: JSONDict, key: str, path: str) -> dict[str, str]:
    items = field_value(errs, obj, key, path, "object") or {}
    for k, v in items.items():
        if v is not None and not isinstance(v, str):
            errs.append(type_invalid(f"{path}[{k}]", v, "string"))
    return {k: v for k, v in items.items() if isinstance(v, str)}


def field_enum(errs: list[Cause], obj: JSONDict, key: str, path: str, allowed: Sequence[str]) -> str:
    """An enum whose empty value the defaulter fills in, so only a wrong non-empty value is an error."""
    value = field_str(errs, obj, key, path)
    if value and value not in allowed:
        errs.append(not_supported(path, value, allowed))
    return value


def check_labels(errs: list[Cause], labels: dict[str, str], path: str) -> None:
    """ValidateLabels: every cause is on the map's path, keys and values alike."""
    for k, v in labels.items():
        errs += [invalid_value(path, k, m) for m in qualified_name_errors(k)]
        errs += [invalid_value(path, v, m) for m in label_value_errors(v)]


# ---- timestamps ---------------------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))", re.ASCII
)
_MICROTIME_MSG = 'must be an RFC 3339 time with microseconds, e.g. "2006-01-02T15:04:05.000000Z"'


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (metav1.Time or MicroTime, any fraction) as an aware UTC datetime, else None."""
    m = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micros = int((m.group(7) or "0").ljust(9, "0")[:6])
    try:
        t = datetime(year, month, day, hour, minute, second, micros, tzinfo=UTC)
    except ValueError:
        return None
    if m.group(9):
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        t -= offset if m.group(9) == "+" else -offset
    return t


def field_time(errs: list[Cause], obj: JSONDict, key: str, path: str) -> None:
    """A timestamp field: absent or empty is fine, anything else must parse."""
    value = field_str(errs, obj, key, path)
    if value and parse_time(value) is None:
        errs.append(invalid_value(path, value, _MICROTIME_MSG))
