"""What every handler shares: JSON encoding, content negotiation (Accept, Content-Type) and request bodies.

Request bodies may be JSON, YAML or protobuf (`negotiation.decode_protobuf`); the representation of a
response comes from `negotiation.negotiate`.

Kept apart from the verb groups so that each of them (`read`, `watch`, `write`, `logs`) and the
server's middleware render and decode exactly the same way.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import yaml
from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.kinds import ResourceType
from podherd.localcluster.apiserver.negotiation import PROTOBUF, decode_protobuf, negotiate

JSON = "application/json"
WATCH_STARTED = web.RequestKey("podherd_watch_started", bool)
CREATED_NAME = web.RequestKey("podherd_created_name", str)  # for the audit log, like objectRef.name


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(obj), status=status, content_type=JSON)


def streaming_response(content_type: str) -> web.StreamResponse:
    """A 200 whose body is written as it comes (watch, log follow), with no Content-Length.

    Chunking is not forced: aiohttp chunks it over HTTP/1.1, and over HTTP/1.0 (which has no
    chunked encoding) writes the body as is and closes the connection at the end, as Go's
    net/http does for kube-apiserver. Forcing it made HTTP/1.0 watches fail with a 500.
    """
    return web.StreamResponse(status=200, headers={"Content-Type": content_type, "Cache-Control": "no-cache"})


def as_served(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """A single object as served: with its kind and apiVersion first."""
    return {"kind": rtype.kind, "apiVersion": rtype.api_version, **obj}


def output_format(accept: str) -> str:
    """The representation the Accept header asks for: json, table, partial, protobuf or partial-protobuf."""
    return negotiate(accept)


async def read_raw(request: web.Request) -> bytes:
    """The request body as bytes; 413 in Status shape beyond the app's `client_max_size` (3 MiB, as
    kube-apiserver's MaxRequestBodyBytes)."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise errors.request_entity_too_large(f"limit is {request.client_max_size}") from None


async def read_body(request: web.Request) -> Any:
    """The request body decoded from JSON or YAML (None when empty); 400/415 when it cannot be."""
    raw = await read_raw(request)
    if not raw:
        return None
    ctype = (request.headers.get("Content-Type") or JSON).split(";")[0].strip()
    if ctype in ("application/yaml", "application/x-yaml", "text/yaml"):
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise errors.bad_request(f"error converting YAML to JSON: {e}") from None
    if ctype == PROTOBUF:
        return decode_protobuf(raw)
    if ctype not in (JSON, "*/*", ""):
        raise errors.unsupported_media_type(ctype, [JSON, "application/yaml", PROTOBUF])
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {e}") from None


def field_manager(request: web.Request) -> str:
    """The fieldManager query parameter, else the User-Agent's product (managerOrUserAgent): what precedes
    the first "/", unprintable characters dropped, cut at 128 bytes; "unknown" when that leaves nothing."""
    manager = request.query.get("fieldManager")
    if manager:
        return manager
    out = ""
    for ch in request.headers.get("User-Agent", "").split("/")[0]:
        if not ch.isprintable():
            continue
        if len((out + ch).encode()) > 128:
            break
        out += ch
    return out or "unknown"


def dry_run(request: web.Request) -> bool:
    return request.query.get("dryRun") == "All"


def now() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)
