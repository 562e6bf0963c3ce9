"""HTTP handlers for resource requests: get/list/create/update/patch/delete, watch and logs."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import yaml
from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.kinds import PODS, ResourceType
from podherd.localcluster.apiserver.routing import RequestInfo
from podherd.localcluster.apiserver.tables import partial_metadata_list, table, to_partial_metadata
from podherd.localcluster.kubelet.logs import LogStore
from podherd.localcluster.patch.apply import normalize_patch_type
from podherd.localcluster.registry.deletion import Deleter, parse_delete_options
from podherd.localcluster.registry.listing import matcher, parse_list_options, run_list
from podherd.localcluster.registry.store import Api, strip_for_output
from podherd.localcluster.storage.store import Store, TooOld, WatchItem

JSON = "application/json"
WATCH_STARTED = web.RequestKey("podherd_watch_started", bool)
CREATED_NAME = web.RequestKey("podherd_created_name", str)  # for the audit log, like objectRef.name


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(obj), status=status, content_type=JSON)


def output_format(accept: str) -> str:
    """'table', 'partial' or 'json': the first representation in Accept that we serve."""
    for part in accept.split(","):
        params = {}
        for p in part.split(";")[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip()] = v.strip()
        media = part.split(";")[0].strip()
        if media not in (JSON, "*/*", "application/*"):
            continue
        kind = params.get("as")
        if kind is None:
            return "json"
        if params.get("g") == "meta.k8s.io" and params.get("v") == "v1":
            if kind == "Table":
                return "table"
            if kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                return "partial"
    return "json"


async def read_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    ctype = (request.headers.get("Content-Type") or JSON).split(";")[0].strip()
    if ctype in ("application/yaml", "application/x-yaml", "text/yaml"):
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise errors.bad_request(f"error converting YAML to JSON: {e}") from None
    if ctype not in (JSON, "*/*", ""):
        raise errors.unsupported_media_type(ctype, [JSON, "application/yaml"])
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {e}") from None


class ResourceHandlers:
    """Serves resource requests against one store; created once per cluster."""

    def __init__(
        self, store: Store, api: Api, deleter: Deleter, logs: LogStore, bookmark_interval: float = 60.0
    ) -> None:
        self.store = store
        self.api = api
        self.deleter = deleter
        self.logs = logs
        self.bookmark_interval = bookmark_interval
        self.active_watches: dict[int, web.Request] = {}

    # ---- dispatch -----------------------------------------------------------------------------
    async def handle(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        rtype = info.rtype
        assert rtype is not None
        q = dict(request.query)
        ns = info.namespace
        if rtype.namespaced and info.name and not ns:
            raise errors.unknown_path()
        if info.subresource:
            return await self._subresource(request, info, rtype, q)
        verb = info.verb
        if verb == "list":
            scope = ns if rtype.namespaced and ns else None
            accept = request.headers.get("Accept", JSON)
            body = await self.list_body(rtype, scope, q, accept, q.get("includeObject", "Metadata"))
            return web.Response(body=body, content_type=JSON)
        if verb == "watch":
            return await self._watch(request, rtype, ns or None, q)
        if verb == "get":
            return self._render_one(rtype, self.api.get(rtype, ns, info.name), request)
        manager = q.get("fieldManager") or _manager(request)
        dry_run = q.get("dryRun") == "All"
        if verb == "create":
            if info.name:
                raise errors.method_not_allowed()
            body = await read_body(request)
            created = self.api.create(rtype, ns, body, manager, dry_run)
            request[CREATED_NAME] = created["metadata"]["name"]
            return json_response(strip_for_output(rtype, created), 201)
        if verb == "update":
            body = await read_body(request)
            return json_response(
                strip_for_output(rtype, self.api.update(rtype, ns, info.name, body, "", manager, dry_run))
            )
        if verb == "patch":
            ptype = normalize_patch_type(request.headers.get("Content-Type"))
            raw = await request.read()
            return json_response(strip_for_output(rtype, self.api.patch(rtype, ns, info.name, ptype, raw, "", dry_run)))
        if verb == "delete":
            opts = parse_delete_options(await read_body(request), q)
            return json_response(self.deleter.delete(rtype, ns, info.name, opts))
        if verb == "deletecollection":
            opts = parse_delete_options(await read_body(request), q)
            lopts = parse_list_options(q, rtype, watch=False)
            match = matcher(rtype, lopts.label, lopts.field)
            scope = ns if rtype.namespaced and ns else None
            return json_response(self.deleter.delete_collection(rtype, scope, match, opts))
        raise errors.method_not_allowed()

    async def _subresource(
        self, request: web.Request, info: RequestInfo, rtype: ResourceType, q: dict[str, str]
    ) -> web.StreamResponse:
        ns, name, sub = info.namespace, info.name, info.subresource
        if rtype is PODS and sub == "log":
            if info.verb != "get":
                raise errors.method_not_allowed()
            return await self._log(request, ns, name, q)
        if sub != "status":
            raise errors.unknown_path()
        if info.verb == "get":
            return self._render_one(rtype, self.api.get(rtype, ns, name), request)
        dry_run = q.get("dryRun") == "All"
        if info.verb == "update":
            body = await read_body(request)
            out = self.api.update(rtype, ns, name, body, "status", q.get("fieldManager") or _manager(request), dry_run)
            return json_response(strip_for_output(rtype, out))
        if info.verb == "patch":
            ptype = normalize_patch_type(request.headers.get("Content-Type"))
            out = self.api.patch(rtype, ns, name, ptype, await request.read(), "status", dry_run)
            return json_response(strip_for_output(rtype, out))
        raise errors.method_not_allowed()

    # ---- reads --------------------------------------------------------------------------------
    def _render_one(self, rtype: ResourceType, obj: dict[str, Any], request: web.Request) -> web.Response:
        fmt = output_format(request.headers.get("Accept", JSON))
        if fmt == "table":
            t = table(
                rtype.plural,
                [obj],
                {"resourceVersion": obj["metadata"]["resourceVersion"]},
                _now(),
                request.query.get("includeObject", "Metadata"),
            )
            return json_response(t)
        if fmt == "partial":
            return json_response(to_partial_metadata(obj, rtype.api_version, rtype.kind))
        return json_response(strip_for_output(rtype, obj))

    async def list_body(
        self, rtype: ResourceType, namespace: str | None, q: dict[str, str], accept: str, include: str
    ) -> bytes:
        opts = parse_list_options(q, rtype, watch=False)
        items, meta = await run_list(self.store, rtype, namespace, opts)
        fmt = output_format(accept)
        if fmt == "table":
            return dumps(table(rtype.plural, items, meta, _now(), include))
        if fmt == "partial":
            return dumps(partial_metadata_list(items, meta))
        return dumps({"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": meta, "items": items})

    # ---- watch --------------------------------------------------------------------------------
    async def _watch(
        self, request: web.Request, rtype: ResourceType, namespace: str | None, q: dict[str, str]
    ) -> web.StreamResponse:
        opts = parse_list_options(q, rtype, watch=True)
        if not rtype.namespaced:
            namespace = None
        match = matcher(rtype, opts.label, opts.field)
        since = None if opts.rv in (None, "0") else int(opts.rv)
        fmt = output_format(request.headers.get("Accept", JSON))
        include = q.get("includeObject", "Metadata")
        resp = web.StreamResponse(status=200, headers={"Content-Type": JSON, "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        try:
            watcher = self.store.watch(rtype.plural, namespace, match, since)
        except TooOld:
            await resp.prepare(request)
            gone = errors.expired(f"too old resource version: {since} ({self.store.floor})").to_status()
            await resp.write(dumps({"type": "ERROR", "object": gone}) + b"\n")
            await resp.write_eof()
            return resp
        request[WATCH_STARTED] = True
        await resp.prepare(request)
        self.active_watches[id(request)] = request
        loop = asyncio.get_running_loop()
        timeout = opts.timeout_seconds if opts.timeout_seconds is not None else random.uniform(1800, 3600)
        deadline = loop.time() + timeout
        next_bookmark = loop.time() + self.bookmark_interval
        getter: asyncio.Task[WatchItem] | None = None
        try:
            while True:
                now = loop.time()
                if now >= deadline:
                    if opts.allow_bookmarks and watcher.queue.empty():
                        await resp.write(self._bookmark(rtype))
                    break
                if getter is None and not watcher.queue.empty():
                    batch = [watcher.queue.get_nowait()]
                else:
                    # One long-lived getter: cancelling a get() on timeout can lose an item (py3.11 wait_for).
                    if getter is None:
                        getter = asyncio.ensure_future(watcher.queue.get())
                    wait = deadline - now
                    if opts.allow_bookmarks:
                        wait = min(wait, max(0.0, next_bookmark - now))
                    done, _ = await asyncio.wait({getter}, timeout=wait)
                    if not done:
                        # Nothing is queued, so every event up to the store's RV has been written.
                        if opts.allow_bookmarks and loop.time() >= next_bookmark and watcher.queue.empty():
                            await resp.write(self._bookmark(rtype))
                            next_bookmark = loop.time() + self.bookmark_interval
                        continue
                    batch = [getter.result()]
                    getter = None
                while not watcher.queue.empty() and len(batch) < 512:
                    batch.append(watcher.queue.get_nowait())
                closing = any(i.type == "CLOSE" for i in batch)
                chunk = b"".join(self._encode(rtype, i, fmt, include) for i in batch if i.type != "CLOSE")
                if chunk:
                    await resp.write(chunk)
                if closing:
                    break
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if getter is not None:
                getter.cancel()
            self.store.unwatch(watcher)
            self.active_watches.pop(id(request), None)
        with contextlib.suppress(ConnectionResetError, ConnectionError, RuntimeError):
            await resp.write_eof()
        return resp

    def _bookmark(self, rtype: ResourceType) -> bytes:
        obj = {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": {"resourceVersion": str(self.store.rv)}}
        return dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

    def _encode(self, rtype: ResourceType, item: WatchItem, fmt: str, include: str) -> bytes:
        """One watch line. JSON and partial lines are encoded once per commit and shared by all
        watchers through `item.encoded`; Table rows carry ages as of now, so they are never shared."""
        assert item.obj is not None
        cache = item.encoded if fmt != "table" else None
        key = (fmt, item.type, rtype.group, rtype.plural)
        if cache is not None:
            line = cache.get(key)
            if line is not None:
                return line
        if fmt == "table":
            obj = table(rtype.plural, [item.obj], {"resourceVersion": str(item.rv)}, _now(), include)
        elif fmt == "partial":
            obj = to_partial_metadata(item.obj, rtype.api_version, rtype.kind)
        else:
            obj = strip_for_output(rtype, item.obj)
        line = dumps({"type": item.type, "object": obj}) + b"\n"
        if cache is not None:
            cache[key] = line
        return line

    def drop_watches(self) -> int:
        """Fault: cut every open watch connection abruptly."""
        n = 0
        for req in list(self.active_watches.values()):
            if req.transport is not None:
                req.transport.close()
                n += 1
        self.active_watches.clear()
        return n

    # ---- logs ---------------------------------------------------------------------------------
    async def _log(self, request: web.Request, ns: str, name: str, q: dict[str, str]) -> web.StreamResponse:
        pod = self.api.get(PODS, ns, name)
        spec = pod.get("spec") or {}
        names = [c.get("name") for c in spec.get("containers") or []]
        init_names = [c.get("name") for c in spec.get("initContainers") or []]
        container = q.get("container")
        if not container:
            if len(names) != 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(map(str, names))}]"
                    + (f" or one of the init containers: [{' '.join(map(str, init_names))}]" if init_names else "")
                )
            container = str(names[0])
        if container not in names and container not in init_names:
            raise errors.bad_request(f"container {container} is not valid for pod {name}")
        if not self.logs.has(ns, name, container):
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            statuses += (pod.get("status") or {}).get("initContainerStatuses") or []
            reason = "ContainerCreating"
            for s in statuses:
                if s.get("name") == container and "waiting" in (s.get("state") or {}):
                    reason = s["state"]["waiting"].get("reason", reason)
            raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        tail_lines = None
        if q.get("tailLines"):
            try:
                tail_lines = int(q["tailLines"])
            except ValueError:
                raise errors.bad_request(f"invalid tailLines: {q['tailLines']!r}") from None
        follow = q.get("follow", "").lower() in ("1", "true")
        if not follow:
            return web.Response(body=self.logs.read(ns, name, container, tail_lines), content_type="text/plain")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            async for chunk in self.logs.follow(ns, name, container, tail_lines):
                await resp.write(chunk)
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass
        return resp


def _manager(request: web.Request) -> str:
    ua = request.headers.get("User-Agent", "unknown")
    return ua.split("/")[0] or "unknown"


def _now() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)
