"""Content negotiation: which representation a response takes (Accept), and protobuf bodies both ways.

A representation is one of five names: ``json``, ``table`` and ``partial`` (PartialObjectMetadata in
JSON), and their protobuf forms ``protobuf`` and ``partial-protobuf``. `negotiate` walks the Accept
header as kube-apiserver's negotiation does: clauses by quality, the first one this server can
produce wins, and with none it falls back to JSON (a real server would answer 406; every client that
asks for protobuf also lists JSON, so nothing relies on the 406). Tables are served in JSON only,
which is what kubectl asks for.

`encode` renders a response object (which carries its `kind` and `apiVersion`) in a representation;
`decode_protobuf` reads a protobuf request body. Both go through the schema-driven codec in
`apimachinery.proto`, so every kind with a message in the committed .proto files is covered.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import orjson
from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.proto import envelope, schema
from podherd.localcluster.apimachinery.proto.wellknown import CodecError

log = logging.getLogger("podherd.localcluster")

JSON: Final = "application/json"
PROTOBUF: Final = envelope.MEDIA_TYPE
PROTOBUF_FORMATS: Final = frozenset({"protobuf", "partial-protobuf"})

_META_AS = {"Table": "table", "PartialObjectMetadata": "partial", "PartialObjectMetadataList": "partial"}


def _clauses(accept: str) -> list[tuple[str, dict[str, str]]]:
    """(media type, parameters) of each Accept clause, highest quality first (stable otherwise)."""
    parsed = []
    for index, part in enumerate(accept.split(",")):
        pieces = part.split(";")
        media = pieces[0].strip().lower()
        params = {}
        for p in pieces[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip()] = v.strip()
        try:
            quality = float(params.pop("q", "1"))
        except ValueError:
            quality = 1.0
        if media and quality > 0:
            parsed.append((-quality, index, media, params))
    return [(media, params) for _q, _i, media, params in sorted(parsed)]


def _format_of(media: str, params: dict[str, str]) -> str | None:
    """The representation one clause asks for, or None when this server cannot produce it."""
    protobuf = media == PROTOBUF
    if not protobuf and media not in (JSON, "*/*", "application/*"):
        return None
    kind = params.get("as")
    if kind is None:
        return "protobuf" if protobuf else "json"
    if params.get("g") != "meta.k8s.io" or params.get("v") != "v1" or kind not in _META_AS:
        return None
    fmt = _META_AS[kind]
    if protobuf:
        return "partial-protobuf" if fmt == "partial" else None
    return fmt


def negotiate(accept: str | None) -> str:
    """The representation of a response to a request with this Accept header."""
    for media, params in _clauses(accept or JSON):
        fmt = _format_of(media, params)
        if fmt is not None:
            return fmt
    return "json"


def content_type(fmt: str, watch: bool = False) -> str:
    if fmt in PROTOBUF_FORMATS:
        return envelope.WATCH_MEDIA_TYPE if watch else PROTOBUF
    return JSON


def encode(fmt: str, obj: dict[str, Any]) -> tuple[bytes, str]:
    """Body and Content-Type of `obj` in `fmt`. An object the schema cannot encode goes out as JSON
    (logged: it means a kind without a message, or a stored value of the wrong type)."""
    if fmt in PROTOBUF_FORMATS:
        try:
            return envelope.encode_object(schema.load(), obj), PROTOBUF
        except CodecError as e:
            log.warning(
                "answering in JSON: %s %s cannot be encoded as protobuf: %s", obj.get("kind"), obj.get("apiVersion"), e
            )
    return orjson.dumps(obj), JSON


def response(fmt: str, obj: dict[str, Any], status: int = 200) -> web.Response:
    body, ctype = encode(fmt, obj)
    return web.Response(body=body, status=status, content_type=ctype)


def status_response(request: web.Request | None, error: errors.ApiError) -> web.Response:
    """An error's Status in the representation the request prefers (protobuf Status when asked)."""
    accept = request.headers.get("Accept") if request is not None else None
    fmt = "protobuf" if negotiate(accept) in PROTOBUF_FORMATS else "json"
    resp = response(fmt, error.to_status(), error.code)
    resp.headers.update(error.headers)
    return resp


def decode_protobuf(raw: bytes) -> dict[str, Any]:
    """A protobuf request body as a JSON object with its envelope's kind and apiVersion; 400 if unreadable."""
    try:
        return envelope.decode_object(schema.load(), raw)
    except CodecError as e:
        raise errors.bad_request(f"error decoding protobuf body: {e}") from None
