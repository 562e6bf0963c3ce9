"""Timestamps as kube-apiserver stores them: what a JSON round trip through metav1.Time / MicroTime leaves.

The real server decodes a body into Go structs and encodes them again, so whatever RFC 3339 form a
client sent comes back in one canonical form: `metav1.Time` as whole seconds in UTC
(`2006-01-02T15:04:05Z`, the fraction truncated) and `metav1.MicroTime` in UTC with exactly six
fractional digits (`2006-01-02T15:04:05.000000Z`, `MarshalJSON` formats `t.UTC()` with RFC3339Micro).
Strategies call these before storing, so a client comparing what it wrote with what it reads back
(leader election compares renewTime) sees what it would see on a real cluster.
"""

from __future__ import annotations

from typing import Any

from podherd.localcluster.validation.fieldcheck import parse_time


def micro_time(value: Any) -> Any:
    """A MicroTime field as stored: UTC, six fractional digits. Anything that does not parse is left as is
    (validation reports it); `null` and "" stay unset."""
    t = parse_time(value)
    return value if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def whole_time(value: Any) -> Any:
    """A metav1.Time field as stored: UTC, whole seconds (a fraction is dropped, not rounded)."""
    t = parse_time(value)
    return value if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalized(obj: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """`obj` with each present key of `fields` passed through its normaliser; `obj` itself is not changed."""
    out = dict(obj)
    for key, norm in fields.items():
        if out.get(key) is not None:
            out[key] = norm(out[key])
    return out
