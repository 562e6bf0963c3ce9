"""GET pods/NAME/log: a container's output from the kubelet's log store, whole, tailed or followed."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.apiserver.handlers.common import streaming_response
from podherd.localcluster.kubelet.logs import LogStore
from podherd.localcluster.registry.store import Api


def _container_of(pod: dict[str, Any], name: str, requested: str | None) -> str:
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


def _waiting_reason(pod: dict[str, Any], container: str) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    statuses += (pod.get("status") or {}).get("initContainerStatuses") or []
    reason = "ContainerCreating"
    for s in statuses:
        if s.get("name") == container and "waiting" in (s.get("state") or {}):
            reason = s["state"]["waiting"].get("reason", reason)
    return reason


def _tail_lines(q: dict[str, str]) -> int | None:
    if not q.get("tailLines"):
        return None
    try:
        return int(q["tailLines"])
    except ValueError:
        raise errors.bad_request(f"invalid tailLines: {q['tailLines']!r}") from None


class LogHandler:
    """Serves container logs of the registry's pods from the kubelet's `LogStore`."""

    def __init__(self, api: Api, logs: LogStore) -> None:
        self.api = api
        self.logs = logs

    async def serve(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
        q = dict(request.query)
        pod = self.api.get(PODS, ns, name)
        container = _container_of(pod, name, q.get("container"))
        if not self.logs.has(ns, name, container):
            reason = _waiting_reason(pod, container)
            raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        tail_lines = _tail_lines(q)
        if q.get("follow", "").lower() not in ("1", "true"):
            return web.Response(body=self.logs.read(ns, name, container, tail_lines), content_type="text/plain")
        resp = streaming_response("text/plain")
        await resp.prepare(request)
        try:
            async for chunk in self.logs.follow(ns, name, container, tail_lines):
                await resp.write(chunk)
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass
        return resp
