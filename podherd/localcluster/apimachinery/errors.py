"""Kubernetes API errors as the local cluster returns them.

Every error the server sends is a `Status` object shaped exactly like
apimachinery's `pkg/api/errors` constructors (API.md §8): key order kind,
apiVersion, metadata, status, message, reason, details, code; empty fields
omitted; `details.kind` holds the *resource* (``pods``) except for Invalid and
delete-precondition conflicts, which name the Kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cause:
    """One field-level cause inside `details.causes`."""

    reason: str  # FieldValueRequired | FieldValueInvalid | FieldValueNotSupported | ...
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class ApiError(Exception):
    """An API failure carrying everything needed to render a Status body."""

    code: int
    reason: str  # "" for non-API (500) errors: the key is then omitted
    message: str
    details: dict[str, Any] | None = None
    causes: list[Cause] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)  # ListMeta, e.g. a fresh continue token on 410

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def to_status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.metadata),
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        details = dict(self.details or {})
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if details or self.details is not None:
            body["details"] = details
        body["code"] = self.code
        return body


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    res = f"{resource}.{group}" if group else resource
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = resource
    return ApiError(404, "NotFound", f'{res} "{name}" not found', details)


def already_exists(resource: str, name: str, group: str = "", terminating: bool = False) -> ApiError:
    res = f"{resource}.{group}" if group else resource
    prefix = "object is being deleted: " if terminating else ""
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = resource
    return ApiError(409, "AlreadyExists", f'{prefix}{res} "{name}" already exists', details)


def conflict(resource: str, name: str, err: str, group: str = "") -> ApiError:
    res = f"{resource}.{group}" if group else resource
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = resource
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res} "{name}": {err}', details)


OPTIMISTIC_LOCK_MSG = "the object has been modified; please apply your changes to the latest version and try again"


def optimistic_lock(resource: str, name: str, group: str = "") -> ApiError:
    return conflict(resource, name, OPTIMISTIC_LOCK_MSG, group)


def invalid(kind: str, name: str, causes: list[Cause], group: str = "") -> ApiError:
    """422 Invalid: `Kind "name" is invalid: <f>: <msg>` (2+ causes: `[e1, e2]`)."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    qualified = f"{kind}.{group}" if group else kind
    details: dict[str, Any] = {"name": name} if name else {}  # StatusDetails.name is omitempty
    if group:
        details["group"] = group
    details["kind"] = kind
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {joined}', details, causes)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def expired(message: str, details: dict[str, Any] | None = None) -> ApiError:
    return ApiError(410, "Expired", message, details)


def gone(message: str) -> ApiError:
    return ApiError(410, "Gone", message)


def forbidden(resource: str, name: str, err: str) -> ApiError:
    return ApiError(403, "Forbidden", f'{resource} "{name}" is forbidden: {err}', {"name": name, "kind": resource})


def rbac_forbidden(
    verb: str, resource: str, namespace: str, user: str = "system:serviceaccount:default:podherd"
) -> ApiError:
    """What the RBAC authorizer answers when no role grants the request (kube-apiserver's wording)."""
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    message = f'{resource} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group ""{where}'
    return ApiError(403, "Forbidden", message, {"kind": resource})


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def unknown_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}",
    )


def request_entity_too_large(message: str) -> ApiError:
    """413 as NewRequestEntityTooLargeError: `Request entity too large: <message>`, no details."""
    return ApiError(413, "RequestEntityTooLarge", f"Request entity too large: {message}")


def internal(message: str) -> ApiError:
    """A non-API error: 500 with no reason, like err.Error() from storage."""
    return ApiError(500, "", message)


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
        {"retryAfterSeconds": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def service_unavailable(message: str = "the server is currently unable to handle the request") -> ApiError:
    return ApiError(503, "ServiceUnavailable", message, {})


def timeout(message: str) -> ApiError:
    return ApiError(504, "Timeout", message, {})
