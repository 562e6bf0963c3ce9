"""GET pods/NAME/log: one container instance's output from the kubelet's log store, with the kubelet's options.

The API server's part (LogLocation): the container must be the pod's only one or a named one (400),
a pod not yet bound to a node has an empty log. The kubelet's part: which instance
(`kubelet.logselect`: current, or ``previous``), and how it is written out (`kubelet.logformat`:
``tailLines``, ``sinceSeconds``/``sinceTime``, ``timestamps``, ``limitBytes``), whole or followed.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.apiserver.handlers.common import streaming_response
from podherd.localcluster.apiserver.handlers.logoptions import parse_log_request
from podherd.localcluster.kubelet.logs import LogStore
from podherd.localcluster.kubelet.logselect import NoLogs, log_instance
from podherd.localcluster.registry.store import Api


def container_of(pod: dict[str, Any], name: str, requested: str | None) -> str:
    """The container the request means: the one asked for, or the pod's only one (400 otherwise)."""
    spec = pod.get("spec") or {}
    names = [c.get("name") for c in spec.get("containers") or []]
    init_names = [c.get("name") for c in spec.get("initContainers") or []]
    container = requested
    if not container:
        if len(names) != 1:
            raise errors.bad_request(
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(map(str, names))}]"
                + (f" or one of the init containers: [{' '.join(map(str, init_names))}]" if init_names else "")
            )
        container = str(names[0])
    if container not in names and container not in init_names:
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    return container


class LogHandler:
    """Serves container logs of the registry's pods from the kubelet's `LogStore`."""

    def __init__(self, api: Api, logs: LogStore) -> None:
        self.api = api
        self.logs = logs

    async def serve(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
        pod = self.api.get(PODS, ns, name)
        req = parse_log_request(request.query, name)
        container = container_of(pod, name, req.container)
        if not (pod.get("spec") or {}).get("nodeName"):
            return web.Response(body=b"", content_type="text/plain")  # no node: no location, an empty stream
        try:
            instance = log_instance(pod, container, req.previous)
        except NoLogs as e:
            raise errors.bad_request(str(e)) from None
        if not req.options.follow:
            body = self.logs.read(ns, name, container, instance, req.options)
            return web.Response(body=body, content_type="text/plain")
        resp = streaming_response("text/plain")
        await resp.prepare(request)
        try:
            async for chunk in self.logs.follow(ns, name, container, instance, req.options):
                await resp.write(chunk)
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass
        return resp
