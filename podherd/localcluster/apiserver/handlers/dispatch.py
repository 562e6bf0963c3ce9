"""Routing of a resource request to its verb group: `read`, `watch`, `write` or `logs`.

The apiserver registers one handler per (resource, verb); here `ResourceHandlers.handle` does the
same from the resolved `RequestInfo`, so each verb group stays small and knows only its own verbs.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.kinds import SELF_SUBJECT_ACCESS_REVIEWS
from podherd.localcluster.apiserver.faults import Faults
from podherd.localcluster.apiserver.handlers.exec import ExecHandler
from podherd.localcluster.apiserver.handlers.logs import LogHandler
from podherd.localcluster.apiserver.handlers.read import ReadHandlers
from podherd.localcluster.apiserver.handlers.reviews import AccessReviews
from podherd.localcluster.apiserver.handlers.watch import WatchHandler
from podherd.localcluster.apiserver.handlers.write import WriteHandlers
from podherd.localcluster.apiserver.routing import RequestInfo
from podherd.localcluster.kubelet.logs import LogStore
from podherd.localcluster.kubelet.streams import ContainerStreams
from podherd.localcluster.registry.deletion import Deleter
from podherd.localcluster.registry.store import Api
from podherd.localcluster.storage.store import Store

_RESOURCE_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"})


class ResourceHandlers:
    """Serves resource requests against one store; created once per cluster."""

    def __init__(
        self,
        store: Store,
        api: Api,
        deleter: Deleter,
        logs: LogStore,
        bookmark_interval: float = 60.0,
        faults: Faults | None = None,
        streams: Callable[[], ContainerStreams | None] = lambda: None,
    ) -> None:
        self.store = store
        self.reviews = AccessReviews(faults or Faults())
        self.read = ReadHandlers(store, api)
        self.watch = WatchHandler(store, bookmark_interval)
        self.write = WriteHandlers(api, deleter)
        self.logs = LogHandler(api, logs)
        self.exec = ExecHandler(api, streams)

    async def handle(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        rtype = info.rtype
        assert rtype is not None
        ns, name, verb = info.namespace, info.name, info.verb
        if rtype.namespaced and name and not ns:
            raise errors.unknown_path()
        if info.subresource:
            return await self._subresource(request, info)
        if verb in _RESOURCE_VERBS and verb not in rtype.verbs:
            raise errors.method_not_allowed()  # e.g. deletecollection of namespaces: no such route
        if rtype is SELF_SUBJECT_ACCESS_REVIEWS:  # created and answered, never stored
            return await self.reviews.create(request)
        scope = ns if rtype.namespaced and ns else None
        if verb == "list":
            return await self.read.list(request, rtype, scope)
        if verb == "watch":
            return await self.watch.serve(request, rtype, ns or None)
        if verb == "get":
            return self.read.get(request, rtype, ns, name)
        if verb == "create" and not name:
            return await self.write.create(request, rtype, ns)
        if verb == "update":
            return await self.write.update(request, rtype, ns, name)
        if verb == "patch":
            return await self.write.patch(request, rtype, ns, name)
        if verb == "delete":
            return await self.write.delete(request, rtype, ns, name)
        if verb == "deletecollection":
            return await self.write.delete_collection(request, rtype, ns)
        raise errors.method_not_allowed()

    async def _subresource(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        rtype = info.rtype
        assert rtype is not None
        ns, name, sub, verb = info.namespace, info.name, info.subresource, info.verb
        if sub == "log" and rtype.has_subresource("log"):
            if verb != "get":
                raise errors.method_not_allowed()
            return await self.logs.serve(request, ns, name)
        if sub in ("exec", "attach") and rtype.has_subresource(sub):
            if verb not in ("get", "create"):
                raise errors.method_not_allowed()
            return await self.exec.serve(request, ns, name, sub)
        if sub != "status":
            raise errors.unknown_path()
        if verb == "get":
            return self.read.get(request, rtype, ns, name)
        return await self.write.status(request, rtype, ns, name, verb)

    def drop_watches(self) -> int:
        """Fault: cut every open watch connection abruptly."""
        return self.watch.drop_watches()
