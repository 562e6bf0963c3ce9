"""API error taxonomy for pod creation: transient, permanent, or already exists.

The anchor's default (``task_publish_max_retries=0``) fails a task on the first
429 or 5xx; podherd retries transient errors with backoff and ``Retry-After``,
fails permanent ones at once, and treats 409 AlreadyExists as "already
launched" (pod names are deterministic per attempt). Pure: no I/O; every
function is total over odd bodies and headers.
"""

from __future__ import annotations

import http
import http.client
import json
import math
import random
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

__all__ = [
    "ALREADY_EXISTS",
    "PERMANENT",
    "TRANSIENT",
    "UNUSABLE_KINDS",
    "ErrorClass",
    "backoff_delay",
    "classify_api_error",
    "classify_exception",
    "parse_retry_after",
    "unusable",
]

TRANSIENT = "transient"
PERMANENT = "permanent"
ALREADY_EXISTS = "already_exists"

_TRANSIENT_CODES = frozenset({408, 410, 429, 500, 502, 503, 504})
_PERMANENT_5XX = frozenset({501, 505})  # Not Implemented / HTTP Version Not Supported: retrying cannot help
_MAX_MESSAGE = 2000  # a proxy's HTML error page must not bloat the task's failure details


@dataclass(frozen=True)
class ErrorClass:
    """How to react to one failed API call."""

    kind: str  # "transient" | "permanent" | "already_exists"
    reason: str  # Status reason (e.g. "Forbidden") or exception class name
    message: str  # human text for the task's failure details
    retry_after: float | None = None  # seconds the server asked us to wait, if it did
    status: int | None = None  # HTTP status, None for connection-level errors

    @property
    def transient(self) -> bool:
        """Worth retrying later (after ``retry_after`` or a backoff delay)."""
        return self.kind == TRANSIENT


def _status_body(body: str | bytes | Mapping[str, Any] | None) -> tuple[Mapping[str, Any], str]:
    """Split a response body into (Status dict or {}, raw text)."""
    if body is None:
        return {}, ""
    if isinstance(body, Mapping):
        return body, ""
    if isinstance(body, (bytes, bytearray, memoryview)):
        text = bytes(body).decode("utf-8", errors="replace")
    elif isinstance(body, str):
        text = body
    else:
        text = str(body)
    text = text.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, Mapping):
            return parsed, text
    return {}, text


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """Case-insensitive header lookup that works on dicts and urllib3's HTTPHeaderDict."""
    if not headers:
        return None
    try:
        items = list(headers.items())
    except Exception:
        return None
    wanted = name.lower()
    for key, value in items:
        if isinstance(key, str) and key.lower() == wanted and value is not None:
            return str(value)
    return None


def _seconds(value: Any) -> float | None:
    """A non-negative finite number of seconds, or None."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After``: delta-seconds (``"5"``, also ``"1.5"``) or an HTTP-date; None if unusable."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    seconds = _seconds(text)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _status_code(status: Any) -> int | None:
    """The HTTP status as an int; anything unparsable counts as "no answer" (None)."""
    if status is None or isinstance(status, bool):
        return None
    if isinstance(status, int):
        return status
    try:
        return int(str(status).strip())
    except ValueError:
        return None


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase.replace(" ", "")
    except ValueError:
        return f"HTTP{status}"


def classify_api_error(
    status: int | None,
    body: str | bytes | Mapping[str, Any] | None = None,
    headers: Mapping[str, Any] | None = None,
) -> ErrorClass:
    """Classify an HTTP answer (or ``status=None``: no answer at all) from the API server.

    The body may be a Status (JSON text, bytes or dict), any other text (an
    ingress error page), or empty; the Status ``reason`` wins over the HTTP
    phrase when present. Never raises.
    """
    status = _status_code(status)
    doc, text = _status_body(body)
    details = _map(doc.get("details"))
    status_reason = str(doc.get("reason") or "")
    reason = status_reason
    message = str(doc.get("message") or text or "")
    message = message[:_MAX_MESSAGE]

    if status is None or status == 0:
        return ErrorClass(TRANSIENT, reason or "ConnectionError", message or "no response from the API server")

    reason = reason or _phrase(status)
    message = message or f"HTTP {status} {reason}"
    retry_after = parse_retry_after(_header(headers, "Retry-After"))
    if retry_after is None:
        retry_after = _seconds(details.get("retryAfterSeconds")) if "retryAfterSeconds" in details else None
    lowered = message.lower()

    def transient() -> ErrorClass:
        return ErrorClass(TRANSIENT, reason, message, retry_after, status)

    def permanent() -> ErrorClass:
        return ErrorClass(PERMANENT, reason, message, None, status)

    if status == 409:
        if status_reason == "AlreadyExists" or (not status_reason and "already exists" in lowered):
            return ErrorClass(ALREADY_EXISTS, "AlreadyExists", message, None, status)
        return transient()  # Conflict: "the object has been modified", retry against the latest state
    if status == 403:
        return transient() if "exceeded quota" in lowered else permanent()
    if status in _TRANSIENT_CODES or (500 <= status <= 599 and status not in _PERMANENT_5XX):
        return transient()  # overload, webhook/etcd hiccups, proxies in between (502/503/504/52x)
    return permanent()  # 400, 401, 404, 405, 413, 415, 422, 501, unknown codes...


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# Network-level failures: the request may not have reached the server, so retry.
_TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionError, TimeoutError, socket errors
    http.client.HTTPException,  # IncompleteRead, BadStatusLine, ...
    urllib3.exceptions.HTTPError,  # MaxRetryError, ProtocolError, ReadTimeoutError, SSLError, ...
)


def _aiohttp_class(exc: BaseException) -> ErrorClass | None:
    """aiohttp errors, if aiohttp is in use (checked via sys.modules: no import cost otherwise)."""
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None:
        return None
    if isinstance(exc, aiohttp.ClientResponseError):  # an HTTP answer: classify by its status
        headers = exc.headers if isinstance(exc.headers, Mapping) else None
        return classify_api_error(exc.status, exc.message or None, headers)
    if isinstance(exc, aiohttp.ClientError):
        return ErrorClass(TRANSIENT, type(exc).__name__, (str(exc) or type(exc).__name__)[:_MAX_MESSAGE])
    return None


def classify_exception(exc: BaseException) -> ErrorClass:
    """Classify anything ``create_namespaced_pod`` (or a raw request) may raise. Never raises.

    ``ApiException`` with an HTTP status goes through :func:`classify_api_error`;
    the client's own ``status=0`` (SSL failure) is a connection error, except
    its "Cannot prepare a request" programming error. urllib3/aiohttp errors,
    ``OSError`` and timeouts are transient; anything else (a bug, a manifest
    rejected client-side) is permanent: retrying cannot fix it.
    """
    name = type(exc).__name__
    if isinstance(exc, ApiException):
        status = exc.status
        reason_text = str(exc.reason or "")
        if not isinstance(status, int) or isinstance(status, bool) or status == 0:
            flat = " ".join(reason_text.split())
            if "cannot prepare a request" in flat.lower():
                return ErrorClass(PERMANENT, name, flat)
            first = reason_text.strip().splitlines()[0] if reason_text.strip() else name
            return ErrorClass(TRANSIENT, first, flat or name)
        body = exc.body
        if body is None or body == "":
            body = reason_text or None  # e.g. the watch's ApiException(410, "Expired: too old resource version")
        headers = exc.headers if isinstance(exc.headers, Mapping) else None
        return classify_api_error(status, body, headers)

    message = (str(exc) or name)[:_MAX_MESSAGE]
    if isinstance(exc, _TRANSIENT_EXCEPTIONS):
        return ErrorClass(TRANSIENT, name, message)
    aio = _aiohttp_class(exc)
    if aio is not None:
        return aio
    return ErrorClass(PERMANENT, name, message)


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in ``[0, min(cap, base * 2**attempt)]``.

    Full jitter (AWS architecture blog) spreads the retries of many replicas
    that failed together, so a recovering API server is not hit in lock-step.
    ``attempt`` counts from 0; negative values are treated as 0.
    """
    exponent = min(max(int(attempt), 0), 62)
    ceiling = min(max(cap, 0.0), max(base, 0.0) * float(2**exponent))
    draw = rng.random() if rng is not None else random.random()
    return draw * ceiling


# Why the API cannot be used at all, as opposed to one request failing (DESIGN §4.10).
CONNECT = "connect"  # nothing listens, or the connection could not be set up in time
TLS = "tls"  # the server's certificate is not trusted (a new CA?), or the handshake failed
UNAUTHORIZED = "unauthorized"  # 401: our credentials are wrong or expired
FORBIDDEN = "forbidden"  # 403 from RBAC (not a quota): we may not do this
UNUSABLE_KINDS = (CONNECT, TLS, UNAUTHORIZED, FORBIDDEN)


@dataclass(frozen=True)
class Unusable:
    """The API refused us before doing anything: no request of this kind can have had an effect."""

    kind: str  # one of UNUSABLE_KINDS
    message: str  # one line, no secrets (never the token, never a traceback)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def unusable(exc: BaseException) -> Unusable | None:
    """Is this error a sign that the API is unusable for us, and did the request surely do nothing?

    Connection refused, connect timeouts and TLS failures happen before a request is sent;
    401 and RBAC 403 are answered before the request is admitted. Everything else (5xx, 429,
    read timeouts, resets mid-request) may have reached the server: those are transient, not
    this. A quota 403 is transient too. Pure and total.
    """
    if isinstance(exc, ApiException):
        status = exc.status if isinstance(exc.status, int) and not isinstance(exc.status, bool) else None
        if status == 401:
            return Unusable(UNAUTHORIZED, "401 Unauthorized: the API server rejected our credentials")
        if status == 403:
            cls = classify_exception(exc)
            if cls.transient:  # exceeded quota: the request was understood and may succeed later
                return None
            return Unusable(FORBIDDEN, f"403 Forbidden: {_one_line(cls.message)}")
        if status in (None, 0) and _is_tls(str(exc.reason or "")):
            return Unusable(TLS, _one_line(str(exc.reason)))
        return None
    reason = getattr(exc, "reason", None)  # urllib3's MaxRetryError wraps the real cause
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(reason, BaseException):
        exc = reason
    if isinstance(exc, (urllib3.exceptions.SSLError, ssl.SSLError)) or _is_tls(str(exc)):
        return Unusable(TLS, _one_line(str(exc)))
    if isinstance(exc, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
        return Unusable(CONNECT, _one_line(str(exc)))
    if isinstance(exc, (ConnectionRefusedError, urllib3.exceptions.NameResolutionError)):
        return Unusable(CONNECT, _one_line(str(exc)))
    return None


def _is_tls(text: str) -> bool:
    lowered = text.lower()
    return "certificate_verify_failed" in lowered or "sslerror" in lowered or "ssl:" in lowered


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
