"""Token-protected controls for tests and benchmarks: faults, compaction, watch drops and request statistics."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.kinds import RESOURCES
from podherd.localcluster.apiserver.faults import Faults
from podherd.localcluster.apiserver.handlers.common import json_response, read_body
from podherd.localcluster.apiserver.handlers.dispatch import ResourceHandlers
from podherd.localcluster.storage.store import Store

RequestCounts = dict[tuple[str, str, int], int]  # (verb, resource, code) -> requests


class AdminEndpoints:
    """`/admin/faults` (GET, PUT), `/admin/compact`, `/admin/drop-watches` (POST) and `/admin/stats` (GET)."""

    def __init__(
        self,
        store: Store,
        faults: Faults,
        handlers: ResourceHandlers,
        request_counts: RequestCounts,
        on_faults_changed: Callable[[], None],
    ) -> None:
        self.store = store
        self.faults = faults
        self.handlers = handlers
        self.request_counts = request_counts
        self.on_faults_changed = on_faults_changed

    async def serve(self, request: web.Request, path: str) -> web.StreamResponse:
        method = request.method
        if path == "/admin/faults":
            if method == "GET":
                return json_response(self.faults.to_dict())
            if method in ("PUT", "PATCH", "POST"):
                self.faults.update(await read_body(request) or {})
                self.on_faults_changed()
                return json_response(self.faults.to_dict())
            raise errors.method_not_allowed()
        if path == "/admin/compact" and method == "POST":
            self.store.compact()
            return json_response({"resourceVersion": str(self.store.rv), "compactions": self.store.compactions})
        if path == "/admin/drop-watches" and method == "POST":
            return json_response({"dropped": self.handlers.drop_watches()})
        if path == "/admin/stats" and method == "GET":
            return json_response(self.stats())
        raise errors.unknown_path()

    def stats(self) -> dict[str, object]:
        counts = [
            {"verb": v, "resource": r, "code": c, "count": n} for (v, r, c), n in sorted(self.request_counts.items())
        ]
        return {
            "resourceVersion": str(self.store.rv),
            "objects": {r.plural: self.store.count(r.plural) for r in RESOURCES.values()},
            "watchers": len(self.store.watchers()),
            "requests": counts,
        }
