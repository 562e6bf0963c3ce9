"""The API errors core code reacts to by kind: `except NotFound:` instead of `e.status == 404`.

    ApiException (the `kubernetes` package)
     └── KubeError
          ├── NotFound   404: the object is gone (or never was)
          ├── Conflict   409: AlreadyExists on create, or the object changed under a write
          ├── Expired    410: a resourceVersion older than the server's history
          └── Invalid    422: the body was refused, including a JSON patch whose `test` op failed

They subclass `ApiException`, so `classify` and `unusable` read their status, body and headers as
before, and code that catches `ApiException` still catches them. `KubeClient` raises them; the
in-memory fakes of the unit tests raise them too. Every other status stays a plain `ApiException`.
"""

from __future__ import annotations

from kubernetes.client.exceptions import ApiException

__all__ = ["Conflict", "Expired", "Invalid", "KubeError", "NotFound", "typed"]


class KubeError(ApiException):
    """An HTTP answer from the API server that core code handles by its kind."""

    status_code = 0

    def __init__(self, reason: str = "", body: str | bytes | None = None) -> None:
        super().__init__(status=self.status_code, reason=reason or type(self).__name__)
        self.body = body


class NotFound(KubeError):
    status_code = 404


class Conflict(KubeError):
    status_code = 409


class Expired(KubeError):
    status_code = 410


class Invalid(KubeError):
    status_code = 422


_BY_STATUS: dict[int, type[KubeError]] = {cls.status_code: cls for cls in (NotFound, Conflict, Expired, Invalid)}


def typed(e: ApiException) -> ApiException:
    """`e` as its `KubeError` kind (same status, reason, body and headers), or `e` itself."""
    cls = _BY_STATUS.get(e.status) if isinstance(e.status, int) else None
    if cls is None or isinstance(e, cls):
        return e
    out = cls(str(e.reason or ""), e.body)
    out.reason = e.reason
    out.headers = e.headers
    return out
