"""The query of GET pods/NAME/log decoded into PodLogOptions, then validated (ValidatePodLogOptions).

Decoding errors (a number that is not one, an unparseable sinceTime) are 400 BadRequest, as a failed
query-parameter conversion is; rule violations are 422 Invalid with kind PodLogOptions:
``tailLines`` must be >= 0, ``limitBytes`` and ``sinceSeconds`` > 0, and at most one of
``sinceTime``/``sinceSeconds``. ``sinceTime`` keeps whole seconds only: the API server passes it on to
the kubelet formatted as RFC 3339 without a fraction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.kubelet.logformat import LogOptions, since_ns
from podherd.localcluster.validation.fieldcheck import forbidden, invalid_value, parse_time


@dataclass(frozen=True)
class LogRequest:
    container: str | None
    previous: bool
    options: LogOptions


def query_bool(value: str | None) -> bool:
    """Convert_Slice_string_To_bool: absent, "", "0" and "false" are false; anything else is true."""
    return value is not None and value not in ("", "0") and value.lower() != "false"


def _int(q: Mapping[str, str], key: str) -> int | None:
    raw = q.get(key)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(f"invalid {key}: {raw!r}: strconv.ParseInt: parsing {raw!r}: invalid syntax") from None


def _since_time(q: Mapping[str, str]) -> int | None:
    raw = q.get("sinceTime")
    if not raw:
        return None
    t = parse_time(raw)
    if t is None:
        raise errors.bad_request(f'parsing time "{raw}" as "2006-01-02T15:04:05Z07:00": cannot parse')
    return int(t.timestamp()) * 1_000_000_000  # whole seconds, as forwarded to the kubelet


def _causes(tail: int | None, limit: int | None, since_s: int | None, since_t: int | None) -> list[Cause]:
    causes = []
    if tail is not None and tail < 0:
        causes.append(invalid_value("tailLines", tail, "must be greater than or equal to 0"))
    if limit is not None and limit < 1:
        causes.append(invalid_value("limitBytes", limit, "must be greater than 0"))
    if since_s is not None and since_t is not None:
        causes.append(forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    elif since_s is not None and since_s < 1:
        causes.append(invalid_value("sinceSeconds", since_s, "must be greater than 0"))
    return causes


def parse_log_request(q: Mapping[str, str], pod_name: str, now_ns: int | None = None) -> LogRequest:
    """PodLogOptions from the query; ApiError 400/422 as kube-apiserver answers."""
    tail, limit, since_s, since_t = _int(q, "tailLines"), _int(q, "limitBytes"), _int(q, "sinceSeconds"), _since_time(q)
    causes = _causes(tail, limit, since_s, since_t)
    if causes:
        raise errors.invalid("PodLogOptions", pod_name, causes)
    opts = LogOptions(
        tail=tail,
        since_ns=since_ns(now_ns if now_ns is not None else time.time_ns(), since_s, since_t),
        limit_bytes=limit,
        timestamps=query_bool(q.get("timestamps")),
        follow=query_bool(q.get("follow")),
    )
    return LogRequest(q.get("container") or None, query_bool(q.get("previous")), opts)
