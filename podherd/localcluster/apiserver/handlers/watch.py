"""WATCH: a stream of JSON lines (or protobuf frames), with bookmarks, selector transitions, timeouts and 410s (API.md §4).

`WatchHandler.serve` opens a watcher on the store (`_open_watch`: a too-old resourceVersion gets one
ERROR line), then a `_WatchStream` alternates `_next_batch` (wait for events, sending bookmarks while
idle) and `_write_batch` until the timeout, a CLOSE from the store, or the client leaving. Over
HTTP/1.1 the stream is chunked; over HTTP/1.0, which has no chunking, it is sent as is and the
connection closes at its end, as Go's net/http (so kube-apiserver) does. A client that prefers
protobuf gets ``application/vnd.kubernetes.protobuf;stream=watch``: length-prefixed WatchEvent frames
(`frame`, `envelope.watch_frame`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.kinds import ResourceType
from podherd.localcluster.apimachinery.proto import envelope
from podherd.localcluster.apiserver import negotiation
from podherd.localcluster.apiserver.handlers.common import (
    JSON,
    WATCH_STARTED,
    as_served,
    dumps,
    now,
    output_format,
    streaming_response,
)
from podherd.localcluster.apiserver.tables import table, to_partial_metadata
from podherd.localcluster.registry.listing import ListOptions, matcher, parse_list_options, wait_for_rv
from podherd.localcluster.storage.store import Store, TooOld, Watcher, WatchItem

MAX_BATCH = 512  # watch items written in one chunk


def frame(fmt: str, event_type: str, obj: dict[str, Any]) -> bytes:
    """One event of a stream in `fmt`: a JSON line, or a length-prefixed protobuf WatchEvent."""
    if fmt in negotiation.PROTOBUF_FORMATS:
        return envelope.watch_frame(event_type, negotiation.encode(fmt, obj)[0])
    return dumps({"type": event_type, "object": obj}) + b"\n"


def encode_event(rtype: ResourceType, item: WatchItem, fmt: str, include: str) -> bytes:
    """One watch event. JSON, protobuf and partial events are encoded once per commit and shared by all
    watchers through `item.encoded`; Table rows carry ages as of now, so they are never shared."""
    assert item.obj is not None
    cache = item.encoded if fmt != "table" else None
    key = (fmt, item.type, rtype.group, rtype.plural)
    if cache is not None:
        line = cache.get(key)
        if line is not None:
            return line
    if fmt == "table":
        obj = table(rtype.plural, [item.obj], {"resourceVersion": str(item.rv)}, now(), include)
    elif fmt in ("partial", "partial-protobuf"):
        obj = to_partial_metadata(item.obj, rtype.api_version, rtype.kind)
    else:
        obj = as_served(rtype, item.obj)
    line = frame(fmt, item.type, obj)
    if cache is not None:
        cache[key] = line
    return line


class _WatchStream:
    """One open watch: its watcher's queue, the response it writes to, its deadline and bookmark clock."""

    def __init__(
        self, store: Store, watcher: Watcher, resp: web.StreamResponse, rtype: ResourceType, opts: ListOptions
    ) -> None:
        self.store, self.watcher, self.resp, self.rtype, self.opts = store, watcher, resp, rtype, opts
        self.loop = asyncio.get_running_loop()
        timeout = opts.timeout_seconds if opts.timeout_seconds is not None else random.uniform(1800, 3600)
        self.deadline = self.loop.time() + timeout
        self.next_bookmark = 0.0
        self.bookmark_interval = 0.0
        self.getter: asyncio.Task[WatchItem] | None = None
        self.fmt = "json"

    async def run(self, fmt: str, include: str, bookmark_interval: float) -> None:
        self.fmt = fmt
        self.bookmark_interval = bookmark_interval
        self.next_bookmark = self.loop.time() + bookmark_interval
        while True:
            batch = await self._next_batch()
            if batch is None or await self._write_batch(batch, fmt, include):
                return

    def close(self) -> None:
        if self.getter is not None:
            self.getter.cancel()

    async def _next_batch(self) -> list[WatchItem] | None:
        """Up to `MAX_BATCH` queued items, or None once the watch's time is up (ending with a bookmark)."""
        queue = self.watcher.queue
        while True:
            current = self.loop.time()
            if current >= self.deadline:
                if self.opts.allow_bookmarks and queue.empty():
                    await self.resp.write(self._bookmark())
                return None
            if self.getter is None and not queue.empty():
                first: WatchItem | None = queue.get_nowait()
            else:
                first = await self._wait_one(current)
            if first is not None:
                batch = [first]
                while not queue.empty() and len(batch) < MAX_BATCH:
                    batch.append(queue.get_nowait())
                return batch

    async def _wait_one(self, current: float) -> WatchItem | None:
        """The next item, or None when the wait ended for the deadline or a bookmark (sent here)."""
        # One long-lived getter: cancelling a get() on timeout can lose an item (py3.11 wait_for).
        if self.getter is None:
            self.getter = asyncio.ensure_future(self.watcher.queue.get())
        wait = self.deadline - current
        if self.opts.allow_bookmarks:
            wait = min(wait, max(0.0, self.next_bookmark - current))
        done, _ = await asyncio.wait({self.getter}, timeout=wait)
        if not done:
            # Nothing is queued, so every event up to the store's RV has been written.
            due = self.loop.time() >= self.next_bookmark
            if self.opts.allow_bookmarks and due and self.watcher.queue.empty():
                await self.resp.write(self._bookmark())
                self.next_bookmark = self.loop.time() + self.bookmark_interval
            return None
        item = self.getter.result()
        self.getter = None
        return item

    async def _write_batch(self, batch: list[WatchItem], fmt: str, include: str) -> bool:
        """Write the batch's lines in one chunk; True when the store closed the watch."""
        chunk = b"".join(encode_event(self.rtype, i, fmt, include) for i in batch if i.type != "CLOSE")
        if chunk:
            await self.resp.write(chunk)
        return any(i.type == "CLOSE" for i in batch)

    def _bookmark(self) -> bytes:
        rtype = self.rtype
        obj = {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": {"resourceVersion": str(self.store.rv)}}
        return frame(self.fmt, "BOOKMARK", obj)


class WatchHandler:
    """Serves watches on one store and keeps the open ones (the drop-watches fault cuts them)."""

    def __init__(self, store: Store, bookmark_interval: float = 60.0) -> None:
        self.store = store
        self.bookmark_interval = bookmark_interval
        self.active: dict[int, web.Request] = {}

    async def serve(self, request: web.Request, rtype: ResourceType, namespace: str | None) -> web.StreamResponse:
        q = dict(request.query)
        opts = parse_list_options(q, rtype, watch=True)
        fmt = output_format(request.headers.get("Accept", JSON))
        resp = streaming_response(negotiation.content_type(fmt, watch=True))
        watcher = await self._open_watch(request, resp, rtype, namespace if rtype.namespaced else None, opts, fmt)
        if watcher is None:
            return resp
        request[WATCH_STARTED] = True
        await resp.prepare(request)
        self.active[id(request)] = request
        stream = _WatchStream(self.store, watcher, resp, rtype, opts)
        try:
            await stream.run(fmt, q.get("includeObject", "Metadata"), self.bookmark_interval)
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            stream.close()
            self.store.unwatch(watcher)
            self.active.pop(id(request), None)
        with contextlib.suppress(ConnectionResetError, ConnectionError, RuntimeError):
            await resp.write_eof()
        return resp

    async def _open_watch(
        self,
        request: web.Request,
        resp: web.StreamResponse,
        rtype: ResourceType,
        namespace: str | None,
        opts: ListOptions,
        fmt: str,
    ) -> Watcher | None:
        """Register the watcher; a resourceVersion older than history gets one ERROR 410 line and None.

        One from the future (a client that watched a previous incarnation of the store) waits ~3 s
        for it, then gets a 504 `Too large resource version` Status, as from the apiserver's cacher.
        """
        since = None if opts.rv in (None, "0") else int(opts.rv)
        if since is not None:
            await wait_for_rv(self.store, since)
        try:
            return self.store.watch(rtype.plural, namespace, matcher(rtype, opts.label, opts.field), since)
        except TooOld:
            await resp.prepare(request)
            gone = errors.expired(f"too old resource version: {since} ({self.store.floor})").to_status()
            await resp.write(frame(fmt, "ERROR", gone))
            await resp.write_eof()
            return None

    def drop_watches(self) -> int:
        """Fault: cut every open watch connection abruptly."""
        n = 0
        for req in list(self.active.values()):
            if req.transport is not None:
                req.transport.close()
                n += 1
        self.active.clear()
        return n
