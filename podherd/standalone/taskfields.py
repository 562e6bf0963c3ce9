"""Per-field rules for task files: each check turns one raw value into a typed one or reports why not.

Why a module of its own: `podherd.standalone.taskfile` owns the file format (decoding, the task
list, collecting errors); this module owns what each task field may hold. A check has
the shape ``(value, field, err) -> parsed | None`` and reports every problem through
``err`` rather than raising, so one pass over a file finds all of its mistakes.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import shlex
import unicodedata
from collections.abc import Callable
from typing import Any

TASK_FIELDS = (
    "name",
    "image",
    "command",
    "args",
    "env",
    "resources",
    "namespace",
    "max_tries",
    "timeout",
    "priority",
    "annotations",
    "labels",
    "pod_overrides",
)
MAX_NAME_LENGTH = 200  # the task.name column
MAX_IMAGE_LENGTH = 1000  # the task.image column
# Integer columns are 32-bit INTEGER on both SQLite and PostgreSQL (podherd/standalone/db/models.py): a larger value would
# fail at insert time (SQLite: OverflowError; PostgreSQL: "integer out of range"), so the file check refuses it.
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
# How much of a user's value an error message repeats: a 10,000-character name must not come back whole.
SHOWN_CHARS = 60
HINT_CHARS = 200  # a shell string longer than this gets no "did you mean" (it would be echoed twice)
MAX_TIMEOUT = float(INT32_MAX)  # seconds (68 years): finite, and an int32 like Kubernetes' activeDeadlineSeconds
RESOURCE_KINDS = ("requests", "limits")
RESOURCE_NAMES = ("cpu", "memory", "ephemeral-storage")
# Keys podherd itself puts on pods: a user copy would break "exactly one owner label".
RESERVED_PREFIX = "podherd.io/"
SIMULATE_PREFIX = "podherd.io/simulate-"  # the embedded simulate kubelet's per-pod knobs
RESERVED_KEYS = frozenset({"airflow-worker", "airflow_executor_done", "kubernetes_executor"})

_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[EPTGMK]i|[numkMGTPE])?$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

Err = Callable[[str, str], None]


def _name(value: Any, fld: str, err: Err) -> str | None:
    if not isinstance(value, str) or not value.strip():
        err(fld, f"must be a non-empty string, got {kind_of(value)}")
    elif len(value) > MAX_NAME_LENGTH:
        err(fld, f"too long: {len(value)} characters, at most {MAX_NAME_LENGTH}")
    elif any(ch in value for ch in "\r\n\t\0"):
        err(fld, "must not contain control characters")
    else:
        return value
    return None


def _nonempty_str(value: Any, fld: str, err: Err) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    err(fld, f"must be a non-empty string, got {kind_of(value)}")
    return None


def _image(value: Any, fld: str, err: Err) -> str | None:
    image = _nonempty_str(value, fld, err)
    if image is not None and len(image) > MAX_IMAGE_LENGTH:
        err(fld, f"too long: {len(image)} characters, at most {MAX_IMAGE_LENGTH}")
        return None
    if image is not None and any(unicodedata.category(ch) == "Cc" for ch in image):
        # PostgreSQL refuses a NUL in a text column. Other odd names (spaces) are the kubelet's to
        # report, as in Kubernetes: the attempt fails with InvalidImageName.
        err(fld, f"must not contain control characters, got {kind_of(image)}")
        return None
    return image


def _command(value: Any, fld: str, err: Err) -> tuple[str, ...] | None:
    if isinstance(value, str) and len(value) > HINT_CHARS:
        err(fld, f"must be a list of strings (argv), not a shell string (got {kind_of(value)})")
        return None
    if isinstance(value, str):
        err(
            fld,
            f"must be a list of strings (argv), not a shell string; did you mean {json.dumps(_split(value))}? "
            f'For shell features write ["sh", "-c", {json.dumps(value)}]',
        )
        return None
    argv = _str_list(value, fld, err)
    if argv is not None and not argv:
        err(fld, "must not be empty")
        return None
    return argv


def _str_list(value: Any, fld: str, err: Err) -> tuple[str, ...] | None:
    if isinstance(value, str):
        hint = f"did you mean {json.dumps(_split(value))}?" if len(value) <= HINT_CHARS else f"got {kind_of(value)}"
        err(fld, f"must be a list of strings, not a single string; {hint}")
        return None
    if not isinstance(value, list):
        err(fld, f"must be a list of strings, got {kind_of(value)}")
        return None
    bad = [i for i, v in enumerate(value) if not isinstance(v, str)]
    for i in bad:
        err(f"{fld}[{i}]", f"must be a string, got {kind_of(value[i])}; quote it")
    return None if bad else tuple(value)


def _str_map(
    value: Any,
    fld: str,
    err: Err,
    key_check: Callable[[str], str | None] | None = None,
    value_check: Callable[[str], str | None] | None = None,
) -> dict[str, str] | None:
    if not isinstance(value, dict):
        err(fld, f"must be a mapping of strings to strings, got {kind_of(value)}")
        return None
    ok = True
    for key, val in value.items():
        if not isinstance(key, str) or not key:
            err(fld, f"key {clip(repr(key))} must be a non-empty string")
            ok = False
            continue
        where = f"{fld}.{clip(key)}"
        problem = key_check(key) if key_check else None
        if problem:
            err(where, problem)
            ok = False
        if not isinstance(val, str):
            err(where, f"value must be a string, got {kind_of(val)}{_quote_hint(val)}")
            ok = False
        elif value_check and (problem := value_check(val)):
            err(where, problem)
            ok = False
    return dict(value) if ok else None


def _env(value: Any, fld: str, err: Err) -> dict[str, str] | None:
    return _str_map(value, fld, err, key_check=lambda k: "name must not contain '='" if "=" in k else None)


def _labels(value: Any, fld: str, err: Err) -> dict[str, str] | None:
    return _str_map(value, fld, err, key_check=_check_meta_key, value_check=_check_label_value)


def _annotations(value: Any, fld: str, err: Err) -> dict[str, str] | None:
    return _str_map(value, fld, err, key_check=_check_annotation_key)


def _check_annotation_key(key: str) -> str | None:
    """Like labels, but the simulate kubelet's knobs (`podherd.io/simulate-*`) are the task's to set."""
    if key.startswith(SIMULATE_PREFIX):
        return _check_meta_key(key, reserved=False)
    return _check_meta_key(key)


def _check_meta_key(key: str, reserved: bool = True) -> str | None:
    """Kubernetes qualified name ([prefix/]name), and not one podherd reserves."""
    if reserved and (key.startswith(RESERVED_PREFIX) or key in RESERVED_KEYS):
        return "key is reserved for podherd's own pod bookkeeping"
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return "key prefix must be a DNS subdomain (lowercase, dots and dashes)"
    if len(name) > 63 or not _NAME_PART.match(name):
        return "key must be at most 63 characters: alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    return None


def _check_label_value(value: str) -> str | None:
    if value == "" or (len(value) <= 63 and _NAME_PART.match(value)):
        return None
    return "label value must be at most 63 characters: alphanumerics, '-', '_' or '.', starting and ending alphanumeric"


def _namespace(value: Any, fld: str, err: Err) -> str | None:
    if isinstance(value, str) and len(value) <= 63 and _DNS_LABEL.match(value):
        return value
    err(fld, f"must be a Kubernetes namespace name (lowercase DNS label), got {kind_of(value)}")
    return None


def _resources(value: Any, fld: str, err: Err) -> dict[str, dict[str, str]] | None:
    if not isinstance(value, dict):
        err(fld, f"must be a mapping with 'requests' and/or 'limits', got {kind_of(value)}")
        return None
    out: dict[str, dict[str, str]] = {}
    ok = True
    for kind, amounts in value.items():
        where = f"{fld}.{clip(str(kind))}"
        if kind not in RESOURCE_KINDS:
            err(where, f"unknown resource section{did_you_mean(str(kind), RESOURCE_KINDS)}")
            ok = False
            continue
        if not isinstance(amounts, dict):
            err(where, f"must be a mapping like {{cpu: '500m', memory: 256Mi}}, got {kind_of(amounts)}")
            ok = False
            continue
        out[kind] = {}
        for res, amount in amounts.items():
            if not isinstance(res, str) or (res not in RESOURCE_NAMES and "/" not in res):
                err(f"{where}.{clip(str(res))}", f"unknown resource{did_you_mean(str(res), RESOURCE_NAMES)}")
                ok = False
            elif (
                isinstance(amount, bool)
                or not isinstance(amount, str | int | float)
                or not _QUANTITY.match(str(amount))
            ):
                err(f"{where}.{res}", f"must be a Kubernetes quantity like '500m' or '1Gi', got {kind_of(amount)}")
                ok = False
            else:
                out[kind][res] = str(amount)
    return out if ok else None


def _int(minimum: int = INT32_MIN, maximum: int = INT32_MAX) -> Callable[[Any, str, Err], int | None]:
    """An integer in ``[minimum, maximum]``; the default bounds are what a 32-bit database column holds."""

    def check(value: Any, fld: str, err: Err) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            err(fld, f"must be an integer, got {kind_of(value)}")
        elif value < minimum:
            err(fld, f"must be at least {minimum}, got {clip(str(value))}")
        elif value > maximum:
            err(fld, f"must be at most {maximum} (the database stores a 32-bit integer), got {clip(str(value))}")
        else:
            return value
        return None

    return check


def _timeout(value: Any, fld: str, err: Err) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        err(fld, f"must be a number of seconds, got {kind_of(value)}")
    elif value <= 0:
        err(fld, f"must be greater than 0, got {clip(str(value))}")
    elif not math.isfinite(float(value)) or value > MAX_TIMEOUT:
        err(fld, f"must be at most {MAX_TIMEOUT:.0f} seconds (omit it for no limit), got {clip(str(value))}")
    else:
        return float(value)
    return None


def _overrides(value: Any, fld: str, err: Err) -> dict[str, Any] | None:
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return dict(value)
    err(fld, f"must be a mapping (merged into the pod manifest), got {kind_of(value)}")
    return None


CHECKS: dict[str, Callable[[Any, str, Err], Any]] = {
    "name": _name,
    "image": _image,
    "command": _command,
    "args": _str_list,
    "env": _env,
    "resources": _resources,
    "namespace": _namespace,
    "max_tries": _int(1),
    "timeout": _timeout,
    "priority": _int(),
    "annotations": _annotations,
    "labels": _labels,
    "pod_overrides": _overrides,
}
REQUIRED = frozenset({"name", "image", "command"})


# --------------------------------------------------------------------------- helpers


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """`` (did you mean 'x'?)`` for a close choice, else ""; appended to "unknown ..." messages."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _split(text: str) -> list[str]:
    """Best-effort argv for a hint; unbalanced quotes fall back to whitespace."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` as it may appear in an error: past ``limit`` characters, cut with "…" and the full length.

    Error messages repeat what the user wrote; a 10,000-character value must not come back whole.
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """A string value JSON-quoted for an error message, clipped like :func:`clip`."""
    if len(text) <= limit:
        return json.dumps(text)
    return f'{json.dumps(text[:limit])[:-1]}…" ({len(text)} characters)'


def kind_of(value: Any) -> str:
    """What a value is, in the words of someone writing YAML or JSON rather than Python."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {clip(str(value))}"
    if isinstance(value, str):
        return f"string {shown(value)}"
    return {"list": "a list", "dict": "a mapping"}.get(type(value).__name__, type(value).__name__)


def _quote_hint(value: Any) -> str:
    """YAML turns 8080, true and ~ into non-strings; say how to keep them as text."""
    if isinstance(value, bool):
        return f'; quote it: "{str(value).lower()}"'
    if isinstance(value, int | float) or value is None:
        return f'; quote it: "{"" if value is None else clip(str(value))}"'
    return ""
