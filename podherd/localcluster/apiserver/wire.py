"""The HTTP connection layer: requests that aiohttp's parser rejects, answered as a Kubernetes Status.

Why: a malformed request (an invalid Content-Length such as -1, a request line or header over
`MAX_LINE_BYTES`, more than `MAX_HEADERS` headers) never reaches the application or its middleware;
aiohttp answers it itself with a plain-text 400 and logs a traceback. `StatusRequestHandler` is
aiohttp's per-connection protocol with that one answer replaced: a Status body, one log line, no
traceback, and never the request's bytes (they can hold a bearer token).

Codes follow Go's net/http, which serves kube-apiserver: an oversized request line or header block
is 431 Request Header Fields Too Large (Go counts the URL against the header limit, so there is no
414), anything else unparseable is 400. Go answers these in plain text; this server uses Status,
the shape every other error here has.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.apiserver.handlers.common import json_response

log = logging.getLogger("podherd.localcluster")

MAX_LINE_BYTES = 8190  # a request line or one header (aiohttp's default)
MAX_HEADERS = 128
HEADERS_TOO_LARGE = 431


def wire_error(exc: BaseException | None, status: int) -> ApiError:
    """The Status for a request the HTTP parser rejected (`status` is what aiohttp would have sent)."""
    if isinstance(exc, LineTooLong) or (isinstance(exc, HttpProcessingError) and "Too many headers" in exc.message):
        return ApiError(
            HEADERS_TOO_LARGE,
            "",
            f"Request Header Fields Too Large: the request line and each header are limited to {MAX_LINE_BYTES} "
            f"bytes, and a request to {MAX_HEADERS} headers",
        )
    if isinstance(exc, HttpProcessingError) and "Content-Length" in exc.message:
        return errors.bad_request("bad Content-Length: it must be a single non-negative decimal integer")
    if isinstance(exc, HttpProcessingError) or status == 400:
        return errors.bad_request("the request is not valid HTTP/1.1: malformed request line or headers")
    return errors.internal("an internal error occurred; see the server log")


class StatusRequestHandler(web.RequestHandler):
    """aiohttp's protocol for one connection, answering requests it cannot parse with a Status."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        error = wire_error(exc, status)
        if error.code >= 500:
            log.error("internal error handling a request from %s", request.remote, exc_info=exc)
        elif isinstance(exc, BadHttpMethod):  # not HTTP at all (TLS to a plain port, scanners)
            log.debug("rejected a request from %s that is not HTTP: %d", request.remote, error.code)
        else:  # the exception's text quotes the request's bytes, which may hold a token: name the class only
            log.warning(
                "rejected an unparseable request from %s: %s, answered %d",
                request.remote,
                type(exc).__name__,
                error.code,
            )
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        resp = json_response(error.to_status(), error.code)
        resp.force_close()
        return resp


async def listen(server: web.Server, sock: socket.socket, ssl_context: ssl.SSLContext | None) -> asyncio.Server:
    """Serve `server` (an AppRunner's) on the bound `sock` with `StatusRequestHandler` connections."""
    loop = asyncio.get_running_loop()

    def protocol() -> StatusRequestHandler:
        return StatusRequestHandler(
            server, loop=loop, access_log=None, max_line_size=MAX_LINE_BYTES, max_headers=MAX_HEADERS
        )

    return await loop.create_server(protocol, sock=sock, ssl=ssl_context, backlog=1024)
