"""API error taxonomy for pod creation, Retry-After parsing and backoff."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException, ForbiddenException

from podherd.core.kube.classify import (
    ErrorClass,
    backoff_delay,
    classify_api_error,
    classify_exception,
    parse_retry_after,
)


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
    }
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


QUOTA = 'pods "t-1-t1" is forbidden: exceeded quota: compute-resources, requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=8'
RBAC = 'pods is forbidden: User "system:serviceaccount:default:podherd" cannot create resource "pods" in API group "" in the namespace "x"'
INVALID = 'Pod "p" is invalid: spec.containers[0].name: Required value'

STATUS_CASES: list[tuple[str, int | None, dict[str, Any] | str | None, str, str]] = [
    ("connection error", None, None, "transient", "ConnectionError"),
    ("400 bad request", 400, status_body(400, "BadRequest", "the namespace of the provided object does not match"), "permanent", "BadRequest"),
    ("401 unauthorized", 401, status_body(401, "Unauthorized", "Unauthorized"), "permanent", "Unauthorized"),
    ("403 quota", 403, status_body(403, "Forbidden", QUOTA, {"name": "t-1-t1", "kind": "pods"}), "transient", "Forbidden"),
    ("403 rbac", 403, status_body(403, "Forbidden", RBAC), "permanent", "Forbidden"),
    ("403 namespace terminating", 403, status_body(403, "Forbidden", "unable to create new content in namespace x because it is being terminated"), "permanent", "Forbidden"),
    ("404 namespace", 404, status_body(404, "NotFound", 'namespaces "nope" not found', {"name": "nope", "kind": "namespaces"}), "permanent", "NotFound"),
    ("409 already exists", 409, status_body(409, "AlreadyExists", 'pods "t-1-t1" already exists', {"name": "t-1-t1", "kind": "pods"}), "already_exists", "AlreadyExists"),
    ("409 already exists, terminating", 409, status_body(409, "AlreadyExists", 'object is being deleted: pods "t-1-t1" already exists'), "already_exists", "AlreadyExists"),
    ("409 conflict", 409, status_body(409, "Conflict", 'Operation cannot be fulfilled on pods "x": the object has been modified; please apply your changes to the latest version and try again'), "transient", "Conflict"),
    ("410 expired", 410, status_body(410, "Expired", "too old resource version: 5 (100)"), "transient", "Expired"),
    ("422 invalid", 422, status_body(422, "Invalid", INVALID), "permanent", "Invalid"),
    ("429 json", 429, status_body(429, "TooManyRequests", "Too many requests, please try again later."), "transient", "TooManyRequests"),
    ("429 non-json body", 429, "Too many requests, please try again later.", "transient", "TooManyRequests"),
    ("429 empty body", 429, "", "transient", "TooManyRequests"),
    ("500 webhook", 500, status_body(500, "InternalError", 'Internal error occurred: failed calling webhook "x"'), "transient", "InternalError"),
    ("500 no reason", 500, status_body(500, "", "resourceVersion should not be set on objects to be created"), "transient", "InternalServerError"),
    ("502 html", 502, "<html><body>Bad Gateway</body></html>", "transient", "BadGateway"),
    ("503", 503, None, "transient", "ServiceUnavailable"),
    ("504 timeout", 504, status_body(504, "Timeout", "Timeout: request did not complete within 60s"), "transient", "Timeout"),
    ("520 proxy", 520, None, "transient", "HTTP520"),
    ("501 not implemented", 501, None, "permanent", "NotImplemented"),
    ("405", 405, status_body(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"), "permanent", "MethodNotAllowed"),
    ("fake 12345", 12345, None, "permanent", "HTTP12345"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body", "kind", "reason"), [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES]
)
@pytest.mark.parametrize("shape", ["dict", "str", "bytes"])
def test_classify_api_error(status: int | None, body: Any, kind: str, reason: str, shape: str) -> None:
    if isinstance(body, dict) and shape != "dict":
        body = json.dumps(body)
        if shape == "bytes":
            body = body.encode()
    elif isinstance(body, str) and shape == "bytes":
        body = body.encode()
    err = classify_api_error(status, body)
    assert (err.kind, err.reason) == (kind, reason)
    assert err.message  # always something human-readable for the failure details
    assert err.status == (status if status is not None else None)
    if isinstance(body, dict) and body.get("message"):
        assert err.message == body["message"]


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (409, 'pods "x" already exists', "already_exists"),  # text body, no Status
        (409, "conflict", "transient"),
        (403, "exceeded quota: q", "transient"),
        (403, "EXCEEDED QUOTA: q", "transient"),
        (403, "{not json", "permanent"),
        (400, "[1, 2]", "permanent"),  # JSON, but not a Status
        (500, b"\xff\xfe garbage", "transient"),
        (422, {"reason": 7, "message": {"odd": True}, "details": "junk"}, "permanent"),
        ("429", None, "transient"),  # numeric text status
        ("junk", None, "transient"),  # unusable status: treated like no answer
    ],
)
def test_odd_bodies_never_raise(status: Any, body: Any, kind: str) -> None:
    assert classify_api_error(status, body).kind == kind


def test_long_text_bodies_are_truncated() -> None:
    err = classify_api_error(502, "x" * 100_000)
    assert len(err.message) <= 2000


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "5"}, None, 5.0),
        ({"retry-after": "2.5"}, None, 2.5),
        ({"RETRY-AFTER": " 7 "}, None, 7.0),
        ({"Retry-After": "-3"}, None, 0.0),
        ({"Retry-After": "soon"}, None, None),
        ({}, status_body(429, "TooManyRequests", "slow down", {"retryAfterSeconds": 3}), 3.0),
        ({"Retry-After": "1"}, status_body(429, "TooManyRequests", "slow down", {"retryAfterSeconds": 9}), 1.0),
        (None, None, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None, 0.0),  # a date in the past
    ],
)
def test_retry_after_on_429(headers: dict[str, str] | None, body: Any, expected: float | None) -> None:
    err = classify_api_error(429, body, headers)
    assert err.kind == "transient"
    assert err.retry_after == expected


def test_retry_after_on_503_and_not_on_permanent() -> None:
    assert classify_api_error(503, None, {"Retry-After": "4"}).retry_after == 4.0
    assert classify_api_error(422, None, {"Retry-After": "4"}).retry_after is None


def test_retry_after_with_urllib3_header_dict() -> None:
    headers = urllib3.HTTPHeaderDict({"retry-after": "6"})
    assert classify_api_error(429, None, headers).retry_after == 6.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("nan", None),
        ("inf", None),
        ("", None),
        (None, None),
        ("Thu, 01 Jan 2025 00:00:30 GMT", 30.0),
        ("Thu, 01 Jan 2025 00:00:00 GMT", 0.0),
        ("not a date", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=datetime(2025, 1, 1, tzinfo=UTC)) == expected


# -- exceptions -------------------------------------------------------------------------------


def api_exception(status: int, body: Any, headers: dict[str, str] | None = None) -> ApiException:
    data = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
    resp = urllib3.HTTPResponse(body=data, status=status, headers=headers or {}, preload_content=True)
    return ApiException(http_resp=resp)


@pytest.mark.parametrize(
    ("exc", "kind", "reason"),
    [
        (api_exception(409, status_body(409, "AlreadyExists", 'pods "x" already exists')), "already_exists", "AlreadyExists"),
        (api_exception(403, status_body(403, "Forbidden", QUOTA)), "transient", "Forbidden"),
        (api_exception(403, status_body(403, "Forbidden", RBAC)), "permanent", "Forbidden"),
        (api_exception(422, status_body(422, "Invalid", INVALID)), "permanent", "Invalid"),
        (api_exception(429, b"Too many requests"), "transient", "TooManyRequests"),
        (api_exception(503, b""), "transient", "ServiceUnavailable"),
        (ForbiddenException(status=403, reason="Forbidden", body=json.dumps(status_body(403, "Forbidden", QUOTA))), "transient", "Forbidden"),
        (ApiException(status=410, reason="Expired: too old resource version: 1 (5)"), "transient", "Gone"),
        (ApiException(status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "transient", "SSLError"),
        (ApiException(status=0, reason="Cannot prepare a request message for provided\n arguments."), "permanent", "ApiException"),
        (ApiException(reason="no status at all"), "transient", "no status at all"),
        (urllib3.exceptions.MaxRetryError(None, "/api/v1/pods", "connection refused"), "transient", "MaxRetryError"),
        (urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection"), "transient", "NewConnectionError"),
        (urllib3.exceptions.ReadTimeoutError(None, "/api", "Read timed out."), "transient", "ReadTimeoutError"),
        (urllib3.exceptions.ProtocolError("Connection aborted."), "transient", "ProtocolError"),
        (ConnectionRefusedError(111, "Connection refused"), "transient", "ConnectionRefusedError"),
        (ConnectionResetError(), "transient", "ConnectionResetError"),
        (TimeoutError("timed out"), "transient", "TimeoutError"),
        (OSError("network unreachable"), "transient", "OSError"),
        (ValueError("Invalid value for `containers`, must not be `None`"), "permanent", "ValueError"),
        (KeyError("spec"), "permanent", "KeyError"),
    ],
)  # fmt: skip
def test_classify_exception(exc: BaseException, kind: str, reason: str) -> None:
    err = classify_exception(exc)
    assert (err.kind, err.reason) == (kind, reason)
    assert err.message


def test_classify_exception_uses_headers_and_body() -> None:
    exc = api_exception(429, status_body(429, "TooManyRequests", "slow down"), {"Retry-After": "11"})
    err = classify_exception(exc)
    assert err == ErrorClass("transient", "TooManyRequests", "slow down", 11.0, 429)
    assert err.transient


def test_classify_exception_with_text_reason_when_body_missing() -> None:
    err = classify_exception(ApiException(status=410, reason="Expired: too old resource version: 1 (5)"))
    assert err.message == "Expired: too old resource version: 1 (5)"


def test_aiohttp_errors_when_aiohttp_is_loaded() -> None:
    import aiohttp

    assert classify_exception(aiohttp.ClientConnectionError("refused")).kind == "transient"
    assert classify_exception(aiohttp.ServerDisconnectedError()).kind == "transient"


# -- backoff ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(0, 0.5), (1, 1.0), (2, 2.0), (5, 16.0), (6, 30.0), (100, 30.0), (10**9, 30.0), (-3, 0.5)]
)
def test_backoff_delay_bounds(attempt: int, ceiling: float) -> None:
    rng = random.Random(1)
    delays = [backoff_delay(attempt, rng=rng) for _ in range(500)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > 0.8 * ceiling  # full jitter spans the whole range...
    assert min(delays) < 0.2 * ceiling  # ...down to zero


def test_backoff_delay_is_reproducible_with_a_seeded_rng() -> None:
    a = [backoff_delay(i, rng=random.Random(7)) for i in range(10)]
    b = [backoff_delay(i, rng=random.Random(7)) for i in range(10)]
    assert a == b


def test_backoff_delay_custom_base_and_cap() -> None:
    rng = random.Random(3)
    assert all(backoff_delay(10, base=1.0, cap=5.0, rng=rng) <= 5.0 for _ in range(100))
    assert backoff_delay(3, base=0.0) == 0.0
    assert 0.0 <= backoff_delay(2) <= 2.0  # module RNG
