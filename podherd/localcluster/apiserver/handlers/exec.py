"""pods/NAME/exec and pods/NAME/attach over WebSocket, with the Kubernetes channel protocols (`channels`).

The API server's part comes first and answers in plain HTTP, as ExecLocation/AttachLocation do: the
pod must exist (404), the container must be its only one or a named one (400), the pod must be bound
to a node (400 ``pod p does not have a host assigned``), at least one of stdin/stdout/stderr must be
asked for (400), and the request must be a WebSocket upgrade: SPDY, kubectl's fallback, is not
spoken here (400; kubectl 1.32 tries ``v5.channel.k8s.io`` over WebSocket first, so it never needs
it). Then the session: an empty message on the lowest output channel says the streams are open, the
kubelet runs the command or joins the process (`kubelet.streams`), and the error channel gets the
final Status before the connection closes normally.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.apiserver import channels
from podherd.localcluster.apiserver.handlers.logoptions import query_bool
from podherd.localcluster.apiserver.handlers.logs import container_of
from podherd.localcluster.kubelet.streams import ContainerStreams, StreamError, Target
from podherd.localcluster.registry.store import Api

SPDY_REFUSED = (
    "the embedded cluster serves pods/exec and pods/attach over WebSocket only "
    "(v5.channel.k8s.io, v4.channel.k8s.io): SPDY is not supported"
)


class WebSocketIO:
    """The client's side of a session (kubelet.streams.StreamIO) over one negotiated WebSocket."""

    def __init__(self, ws: web.WebSocketResponse, proto: channels.ChannelProtocol, query: Any) -> None:
        self.ws, self.proto = ws, proto
        self.stdin = query_bool(query.get("stdin"))
        self.stdout = query_bool(query.get("stdout"))
        self.tty = query_bool(query.get("tty"))
        self.stderr = query_bool(query.get("stderr")) and not self.tty  # a terminal has no separate stderr
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._resize: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        """Demultiplex the client's messages until it closes stdin, the connection, or both."""
        try:
            async for msg in self.ws:
                if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                decoded = self.proto.decode(msg.data)
                if decoded is None:
                    continue
                channel, data = decoded
                if channel == channels.CLOSE and self.proto.close_signal and data[:1] == bytes([channels.STDIN]):
                    self._stdin.put_nowait(None)
                elif channel == channels.STDIN and data:
                    self._stdin.put_nowait(data)
                elif channel == channels.RESIZE:
                    for size in channels.parse_resize(data):
                        self._resize.put_nowait(size)
        finally:
            self._stdin.put_nowait(None)
            self._resize.put_nowait(None)

    async def read_stdin(self) -> bytes | None:
        return await self._stdin.get()

    async def next_resize(self) -> tuple[int, int] | None:
        return await self._resize.get()

    async def write(self, channel: int, data: bytes) -> None:
        if self.ws.closed:
            raise ConnectionResetError("the client went away")
        message = self.proto.encode(channel, data)
        await (self.ws.send_str(message) if isinstance(message, str) else self.ws.send_bytes(message))

    async def opened(self) -> None:
        """The empty message on the lowest writable channel that tells the client its streams are ready."""
        first = channels.STDOUT if self.stdout else channels.STDERR if self.stderr else channels.ERROR
        await self.write(first, b"")

    async def finish(self, status: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            payload = self.proto.status(status)
            if payload:
                await self.write(channels.ERROR, payload)
            await self.ws.close()
        self.reader.cancel()


def exit_detail(proto: channels.ChannelProtocol, argv: list[str], code: int) -> str:
    """The error text inside a non-zero exit's message: the API server's translator's for v5, the kubelet's before."""
    if proto.name == channels.V5:
        return f"command terminated with exit code {code}"
    return f"error executing command [{' '.join(argv)}], exit code {code}"


class ExecHandler:
    """Serves exec and attach for the registry's pods, through whatever runtime the kubelet offers."""

    def __init__(self, api: Api, runtime: Callable[[], ContainerStreams | None]) -> None:
        self.api = api
        self.runtime = runtime

    def _target(self, request: web.Request, ns: str, name: str, verb: str) -> Target:
        pod = self.api.get(PODS, ns, name)
        q = request.query
        container = container_of(pod, name, q.get("container") or None)
        if not (pod.get("spec") or {}).get("nodeName"):
            raise errors.bad_request(f"pod {name} does not have a host assigned")
        if not any(query_bool(q.get(k)) for k in ("stdin", "stdout", "stderr")):
            raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
        if verb == "exec" and not q.getall("command", []):
            raise errors.bad_request("you must specify at least one command for the container")
        if request.headers.get("Upgrade", "").lower() != "websocket":
            raise errors.bad_request(SPDY_REFUSED if request.headers.get("Upgrade") else "Upgrade request required")
        return Target(ns, name, str(pod["metadata"].get("uid") or ""), container)

    async def serve(self, request: web.Request, ns: str, name: str, verb: str) -> web.StreamResponse:
        target = self._target(request, ns, name, verb)
        ws = web.WebSocketResponse(protocols=channels.SUPPORTED, autoping=True)
        await ws.prepare(request)
        io = WebSocketIO(ws, channels.negotiated(ws.ws_protocol), request.query)
        argv = list(request.query.getall("command", []))
        run: asyncio.Future[dict[str, Any]] | None = None
        try:
            await io.opened()
            run = asyncio.ensure_future(self._run(target, verb, argv, io))
            await asyncio.wait({run, io.reader}, return_when=asyncio.FIRST_COMPLETED)
            if run.done():
                await io.finish(run.result())
        except ConnectionError:
            pass  # the client went away while output was being sent
        finally:
            if run is not None and not run.done():
                run.cancel()  # the client left first: the runtime stops the command (or detaches)
                with contextlib.suppress(BaseException):
                    await run
            io.reader.cancel()
        return ws

    async def _run(self, target: Target, verb: str, argv: list[str], io: WebSocketIO) -> dict[str, Any]:
        runtime = self.runtime()
        if runtime is None:
            return channels.internal_error("unable to upgrade connection: no kubelet runs this cluster's pods")
        try:
            if verb == "attach":
                await runtime.attach(target, io)
                return channels.success()
            code = await runtime.exec(target, argv, io)
        except StreamError as e:
            return channels.internal_error(str(e))
        return channels.success() if code == 0 else channels.exit_status(code, exit_detail(io.proto, argv, code))
