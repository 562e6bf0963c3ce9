"""GET and LIST: one object or a list, rendered as JSON, protobuf, a Table or PartialObjectMetadata (API.md §3, §9)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from podherd.localcluster.apimachinery.kinds import ResourceType
from podherd.localcluster.apiserver import negotiation
from podherd.localcluster.apiserver.handlers.common import JSON, as_served, dumps, now, output_format
from podherd.localcluster.apiserver.tables import partial_metadata_list, table, to_partial_metadata
from podherd.localcluster.registry.listing import parse_list_options, run_list
from podherd.localcluster.registry.store import Api
from podherd.localcluster.storage.store import Store


class ReadHandlers:
    """Serves get and list from the registry and the store."""

    def __init__(self, store: Store, api: Api) -> None:
        self.store = store
        self.api = api

    def get(self, request: web.Request, rtype: ResourceType, namespace: str, name: str) -> web.Response:
        return render_one(rtype, self.api.get(rtype, namespace, name), request)

    async def list(self, request: web.Request, rtype: ResourceType, namespace: str | None) -> web.Response:
        q = dict(request.query)
        accept = request.headers.get("Accept", JSON)
        body = await self.list_body(rtype, namespace, q, accept, q.get("includeObject", "Metadata"))
        return web.Response(body=body, content_type=negotiation.content_type(output_format(accept)))

    async def list_body(
        self, rtype: ResourceType, namespace: str | None, q: dict[str, str], accept: str, include: str
    ) -> bytes:
        """The encoded list (benchmarks time this without HTTP)."""
        opts = parse_list_options(q, rtype, watch=False)
        items, meta = await run_list(self.store, rtype, namespace, opts)
        fmt = output_format(accept)
        if fmt == "table":
            return dumps(table(rtype.plural, items, meta, now(), include))
        if fmt in ("partial", "partial-protobuf"):
            return negotiation.encode(fmt, partial_metadata_list(items, meta))[0]
        listed = {"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": meta, "items": items}
        return negotiation.encode(fmt, listed)[0] if fmt == "protobuf" else dumps(listed)


def render_one(rtype: ResourceType, obj: dict[str, Any], request: web.Request) -> web.Response:
    """One object in the representation the request's Accept asks for."""
    fmt = output_format(request.headers.get("Accept", JSON))
    if fmt == "table":
        meta = {"resourceVersion": obj["metadata"]["resourceVersion"]}
        body = table(rtype.plural, [obj], meta, now(), request.query.get("includeObject", "Metadata"))
        return negotiation.response("json", body)
    if fmt in ("partial", "partial-protobuf"):
        return negotiation.response(fmt, to_partial_metadata(obj, rtype.api_version, rtype.kind))
    return negotiation.response(fmt, as_served(rtype, obj))
