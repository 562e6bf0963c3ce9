"""The aiohttp application: one middleware every request passes, then dispatch by kind of path.

The middleware resolves the request (`routing`), checks the bearer token (401 in Status shape),
injects faults into resource requests, turns every `ApiError` — and any unexpected exception — into a
Kubernetes Status, counts the request and writes its audit line. Resource paths go to the handlers;
health probes, discovery and the admin endpoints are served here.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.apiserver import negotiation
from podherd.localcluster.apiserver.admin import AdminEndpoints, RequestCounts
from podherd.localcluster.apiserver.audit import AuditLog
from podherd.localcluster.apiserver.discovery import discovery_document, is_discovery_path
from podherd.localcluster.apiserver.faults import Faults
from podherd.localcluster.apiserver.handlers.common import WATCH_STARTED, json_response
from podherd.localcluster.apiserver.handlers.dispatch import ResourceHandlers
from podherd.localcluster.apiserver.openapi import documents as openapi
from podherd.localcluster.apiserver.routing import RequestInfo, resolve

log = logging.getLogger("podherd.localcluster")

PUBLIC_PATHS = ("/healthz", "/livez", "/readyz")
INFO_KEY = web.RequestKey("podherd_info", RequestInfo)
MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's MaxRequestBodyBytes

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def body_bytes(resp: web.StreamResponse | None) -> int | None:
    """The size of a response's whole body (None for a streamed one: watch, log follow)."""
    if isinstance(resp, web.Response) and isinstance(resp.body, bytes | bytearray):
        return len(resp.body)
    return None


def status_response(error: ApiError, request: web.Request | None = None) -> web.Response:
    """The Status of `error`, in protobuf when the request prefers it; after a 413 the connection closes,
    since the rest of the body is never read."""
    resp = negotiation.status_response(request, error)
    if error.code == 413:
        resp.force_close()
    return resp


_REASONS = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 415: "UnsupportedMediaType"}


def from_http_exception(e: web.HTTPException) -> ApiError:
    """An aiohttp HTTP error raised below the handlers, as the Status apimachinery would send."""
    if e.status == 413:
        return errors.request_entity_too_large(f"limit is {MAX_BODY_BYTES}")
    return ApiError(e.status, _REASONS.get(e.status, ""), e.reason, {} if e.status in _REASONS else None)


class ApiApp:
    """Builds the application of one cluster and holds what its middleware needs."""

    def __init__(
        self,
        token: str,
        faults: Faults,
        handlers: ResourceHandlers,
        admin: AdminEndpoints,
        request_counts: RequestCounts,
        audit: AuditLog | None,
        server_address: Callable[[], str],
    ) -> None:
        self.token = token
        self.faults = faults
        self.handlers = handlers
        self.admin = admin
        self.request_counts = request_counts
        self.audit = audit
        self.server_address = server_address

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self.middleware])
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.time()
        info = resolve(request.method, request.path, dict(request.query))
        request[INFO_KEY] = info
        code = 500
        resp: web.StreamResponse | None = None
        try:
            await self._admit(request, info)
            resp = await handler(request)
            code = resp.status
            return resp
        except ApiError as e:
            code = e.code
            resp = status_response(e, request)
            return resp
        except web.HTTPException as e:
            if e.status < 400:
                raise
            code = e.status
            resp = status_response(from_http_exception(e), request)
            return resp
        except (ConnectionResetError, asyncio.CancelledError):
            code = 200 if request.get(WATCH_STARTED) else 499
            raise
        except Exception:  # a bug must never take the server down or leak a traceback to clients
            log.exception("internal error serving %s %s", request.method, request.path_qs)
            code = 500
            resp = json_response(errors.internal("an internal error occurred; see the server log").to_status(), 500)
            return resp
        finally:
            key = (info.verb, info.resource, code)
            self.request_counts[key] = self.request_counts.get(key, 0) + 1
            if self.audit is not None:
                self.audit.write(request, info, code, started, body_bytes(resp))

    async def _admit(self, request: web.Request, info: RequestInfo) -> None:
        """Authentication, then (resource requests only) the injected latency and errors."""
        if request.path not in PUBLIC_PATHS and not self._authorized(request):
            raise errors.unauthorized()
        if info.is_resource:
            if self.faults.latency_ms:
                await asyncio.sleep(self.faults.latency_ms / 1000)
            injected = self.faults.injected_error(info.verb, info.resource, info.namespace)
            if injected is not None:
                raise injected

    def _authorized(self, request: web.Request) -> bool:
        """A bearer token; the scheme is case-insensitive as in kube-apiserver (the in-cluster loader sends
        `bearer`)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return secrets.compare_digest(token.strip().encode(), self.token.encode())

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        info = request[INFO_KEY]
        if info.is_resource:
            return await self.handlers.handle(request, info)
        path = request.path.rstrip("/") or "/"
        if path in PUBLIC_PATHS:
            return web.Response(text="ok")
        if path.startswith("/admin/"):
            return await self.admin.serve(request, path)
        if request.method not in ("GET", "HEAD"):
            exists = is_discovery_path(path) or openapi.exists(path)
            raise errors.method_not_allowed() if exists else errors.unknown_path()
        if path == openapi.ROOT or path.startswith(openapi.ROOT + "/"):
            return self._openapi(request, path)
        doc = discovery_document(path, self.server_address())
        if doc is None:
            raise errors.unknown_path()
        return json_response(doc)

    def _openapi(self, request: web.Request, path: str) -> web.Response:
        answer = openapi.serve(
            path, request.query.get("hash"), request.headers.get("Accept"), request.headers.get("If-None-Match")
        )
        if answer is None:
            raise errors.unknown_path()
        return web.Response(status=answer.status, body=answer.body or None, headers=dict(answer.headers))
