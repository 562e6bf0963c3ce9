"""Writes: create, update (PUT), patch, delete and deletecollection, on the main resource and on /status.

Bodies may be JSON, YAML or protobuf (PATCH bodies are patches, never protobuf); answers take the
representation the request's Accept prefers.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.kinds import ResourceType
from podherd.localcluster.apiserver.handlers.common import (
    CREATED_NAME,
    as_served,
    dry_run,
    field_manager,
    output_format,
    read_body,
    read_raw,
)
from podherd.localcluster.apiserver.negotiation import response
from podherd.localcluster.patch.apply import APPLY_PATCH_YAML, normalize_patch_type
from podherd.localcluster.registry.apply import Applier, parse_force, validate_patch_options
from podherd.localcluster.registry.deletion import Deleter, parse_delete_options
from podherd.localcluster.registry.listing import matcher, parse_list_options
from podherd.localcluster.registry.store import Api


def respond(request: web.Request, obj: dict[str, Any], status: int = 200) -> web.Response:
    """`obj` (which carries its kind) in JSON or protobuf, as the request's Accept prefers."""
    fmt = output_format(request.headers.get("Accept", ""))
    return response("protobuf" if fmt in ("protobuf", "partial-protobuf") else "json", obj, status)


class WriteHandlers:
    """Decodes write requests and hands them to the registry; `subresource` is "" or "status"."""

    def __init__(self, api: Api, deleter: Deleter) -> None:
        self.api = api
        self.deleter = deleter
        self.applier = Applier(api)

    async def create(self, request: web.Request, rtype: ResourceType, namespace: str) -> web.Response:
        body = await read_body(request)
        created = self.api.create(rtype, namespace, body, field_manager(request), dry_run(request))
        request[CREATED_NAME] = created["metadata"]["name"]
        return respond(request, as_served(rtype, created), 201)

    async def update(
        self, request: web.Request, rtype: ResourceType, namespace: str, name: str, subresource: str = ""
    ) -> web.Response:
        body = await read_body(request)
        out = self.api.update(rtype, namespace, name, body, subresource, field_manager(request), dry_run(request))
        return respond(request, as_served(rtype, out))

    async def patch(
        self, request: web.Request, rtype: ResourceType, namespace: str, name: str, subresource: str = ""
    ) -> web.Response:
        """A patch, or a server-side apply (201 when it created the object)."""
        ptype = normalize_patch_type(request.headers.get("Content-Type"))
        requested_manager, force = request.query.get("fieldManager", ""), request.query.get("force")
        validate_patch_options(ptype, requested_manager, force)
        raw = await read_raw(request)
        if ptype == APPLY_PATCH_YAML:
            out, created = self.applier.apply(
                rtype, namespace, name, raw, requested_manager, parse_force(force), subresource, dry_run(request)
            )
            if created:
                request[CREATED_NAME] = out["metadata"]["name"]
            return respond(request, as_served(rtype, out), 201 if created else 200)
        out = self.api.patch(rtype, namespace, name, ptype, raw, subresource, dry_run(request), field_manager(request))
        return respond(request, as_served(rtype, out))

    async def delete(self, request: web.Request, rtype: ResourceType, namespace: str, name: str) -> web.Response:
        opts = parse_delete_options(await read_body(request), dict(request.query))
        return respond(request, self.deleter.delete(rtype, namespace, name, opts))

    async def delete_collection(self, request: web.Request, rtype: ResourceType, namespace: str) -> web.Response:
        q = dict(request.query)
        opts = parse_delete_options(await read_body(request), q)
        lopts = parse_list_options(q, rtype, watch=False)
        match = matcher(rtype, lopts.label, lopts.field)
        scope = namespace if rtype.namespaced and namespace else None
        return respond(request, self.deleter.delete_collection(rtype, scope, match, opts))

    async def status(
        self, request: web.Request, rtype: ResourceType, namespace: str, name: str, verb: str
    ) -> web.Response:
        """PUT or PATCH of the /status subresource."""
        if verb == "update":
            return await self.update(request, rtype, namespace, name, "status")
        if verb == "patch":
            return await self.patch(request, rtype, namespace, name, "status")
        raise errors.method_not_allowed()
