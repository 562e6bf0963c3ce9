"""The /openapi/v3 endpoints: an index of group-versions, and one document per served group-version.

As kube-apiserver (kube-openapi ``handler3``) serves them: ``GET /openapi/v3`` answers
``{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=<H>"}, ...}}`` where H is the
upper-case hex SHA-512 of the document; ``GET /openapi/v3/api/v1?hash=H`` answers the document with
``ETag: "H"`` and, because a hash was given, ``Cache-Control: public, immutable`` (kubectl caches it by
URL); a stale hash is a 301 to the current URL; ``If-None-Match`` with the current ETag is a 304.
Only JSON is offered: a client that accepts nothing but the protobuf form gets 406.

A document holds the paths of the group-version's resources (`paths`) and the component schemas of
their kinds, their lists and everything these reference, plus the meta/v1 types the operations name
(`schemas`). Every served kind whose message is in the .proto schema gets one: documents are built
from `apimachinery.kinds`, once, on first request.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import orjson

from podherd.localcluster.apimachinery.kinds import RESOURCES, ResourceType
from podherd.localcluster.apimachinery.proto import schema
from podherd.localcluster.apimachinery.proto.schema import META
from podherd.localcluster.apiserver.openapi.paths import PathBuilder
from podherd.localcluster.apiserver.openapi.schemas import SchemaBuilder

ROOT = "/openapi/v3"
TITLE = "Kubernetes"
VERSION = "v1.32.4"
_META_TYPES = ("DeleteOptions", "Status", "Patch", "WatchEvent")
_SECURITY = {
    "BearerToken": {
        "type": "apiKey",
        "description": "Bearer Token authentication",
        "name": "authorization",
        "in": "header",
    }
}


@dataclass(frozen=True)
class Document:
    body: bytes
    etag: str


def group_version_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _served() -> dict[str, list[ResourceType]]:
    out: dict[str, list[ResourceType]] = {}
    for r in RESOURCES.values():
        out.setdefault(group_version_path(r.group, r.version), []).append(r)
    return out


def build_document(group: str, version: str, kinds: list[ResourceType]) -> dict[str, Any]:
    """The OpenAPI v3 document of one group-version."""
    proto = schema.load()
    messages: dict[str, str] = {}
    gvks: dict[str, list[dict[str, str]]] = {}
    for r in kinds:
        for kind in (r.kind, r.list_kind):
            message = proto.message_for(r.api_version, kind)
            if message is not None:
                messages[kind] = message.full_name
                gvks[message.full_name] = [{"group": group, "kind": kind, "version": version}]
    for name in ("DeleteOptions", "WatchEvent"):
        gvks[f"{META}.{name}"] = [{"group": group, "kind": name, "version": version}]
    roots = [*messages.values(), *(f"{META}.{t}" for t in _META_TYPES)]
    served = [r for r in kinds if r.kind in messages and r.list_kind in messages]
    return {
        "openapi": "3.0.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": PathBuilder(proto, group, version).paths(served, messages),
        "components": {"schemas": SchemaBuilder(proto).closure(roots, gvks), "securitySchemes": _SECURITY},
    }


def _document(body: dict[str, Any]) -> Document:
    data = orjson.dumps(body)
    return Document(data, hashlib.sha512(data).hexdigest().upper())


@functools.cache
def documents() -> dict[str, Document]:
    """Every served group-version's document, by its path under /openapi/v3 (built once)."""
    out = {}
    for path, kinds in sorted(_served().items()):
        r = kinds[0]
        out[path] = _document(build_document(r.group, r.version, kinds))
    return out


def index() -> Document:
    paths = {path: {"serverRelativeURL": f"{ROOT}/{path}?hash={doc.etag}"} for path, doc in documents().items()}
    return _document({"paths": paths})


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


def serve(path: str, query_hash: str | None, accept: str | None, if_none_match: str | None) -> Answer | None:
    """The answer to a GET under /openapi/v3, or None for a path that is not a document (404)."""
    if path == ROOT:
        doc = index()
        return Answer(200, doc.body, (("Content-Type", "application/json"), ("Etag", f'"{doc.etag}"')))
    doc = documents().get(path.removeprefix(ROOT + "/"))
    if doc is None:
        return None
    if not _accepts_json(accept):
        return Answer(406)
    headers = [("Content-Type", "application/json"), ("Etag", f'"{doc.etag}"'), ("Vary", "Accept")]
    if query_hash:
        if query_hash != doc.etag:
            location = f"{path}?hash={doc.etag}"
            return Answer(301, b"", (("Location", location),))
        headers += [("Cache-Control", "public, immutable"), ("Expires", _a_year_from_now())]
    if if_none_match is not None and if_none_match.strip() == f'"{doc.etag}"':
        return Answer(304, b"", tuple(headers))
    return Answer(200, doc.body, tuple(headers))


def _accepts_json(accept: str | None) -> bool:
    for clause in (accept or "*/*").split(","):
        media = clause.split(";", 1)[0].strip().lower()
        if media in ("application/json", "application/*", "*/*"):
            return True
    return False


def _a_year_from_now() -> str:
    return email.utils.formatdate(time.time() + 365 * 86400, usegmt=True)


def exists(path: str) -> bool:
    """Whether `path` is the index or a group-version document (another verb on it is then 405)."""
    return path == ROOT or path.removeprefix(ROOT + "/") in documents()
