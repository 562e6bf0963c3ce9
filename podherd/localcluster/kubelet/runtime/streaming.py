"""exec and attach in process mode: a command run beside a container's process, or that process's stdio.

exec runs the argv directly (never through a shell) with the container's environment and working
directory as the running instance got them (`containerconfig.Launch`), in a session of its own so
that the pod's removal or the client's departure can kill it. Without a TTY its stdout and stderr
are separate pipes; with one (``tty=true``, as ``kubectl exec -it`` asks) it gets a pseudo-terminal
whose size follows the client's resize messages, and stderr is the terminal too. Its exit code is
the process's (128+N for a signal). attach joins the container's main process: what it prints from
then on, and its stdin if the container was created with ``stdin: true`` (``stdinOnce`` closes it
when the first attached client does). A container that is not running is ``container not found``,
as the kubelet says it; a command that cannot be started is worded as containerd/runc word it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
from collections.abc import Callable
from typing import Any

from podherd.localcluster.kubelet.runtime.exec import exec_error_detail
from podherd.localcluster.kubelet.runtime.supervisor import signal_group
from podherd.localcluster.kubelet.state import PodState
from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.kubelet.streams import STDERR, STDOUT, StreamError, StreamIO, Target

DRAIN = 2.0  # seconds to keep forwarding output after the exec'd process exited (its pipes may lag)
OCI_EXEC = "OCI runtime exec failed: exec failed: unable to start container process: "


class _ExecProtocol(asyncio.SubprocessProtocol):
    """Output of an exec'd process as (fd, bytes) on a queue, None once every pipe closed; and its exit."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pipes: int) -> None:
        self.queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self.open_pipes = pipes
        self.exited: asyncio.Future[None] = loop.create_future()
        if pipes == 0:
            self.queue.put_nowait(None)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.queue.put_nowait((fd, data))

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd in (1, 2):
            self.open_pipes -= 1
            if self.open_pipes == 0:
                self.queue.put_nowait(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


def not_found(container: str) -> StreamError:
    return StreamError(f'unable to upgrade connection: container not found ("{container}")')


class ProcessStreams:
    """exec and attach for the process kubelet's pods (found by uid through `find`)."""

    def __init__(self, find: Callable[[str], PodState | None]) -> None:
        self.find = find

    def _running(self, target: Target) -> tuple[PodState, Any]:
        ps = self.find(target.uid)
        if ps is None or ps.gone or target.container not in ps.procs or target.container not in ps.launches:
            raise not_found(target.container)
        return ps, ps.procs[target.container]

    # ---- exec ---------------------------------------------------------------------------------------
    async def exec(self, target: Target, argv: list[str], io: StreamIO) -> int:
        ps, _proc = self._running(target)
        launch = ps.launches[target.container]
        if not argv:
            raise StreamError("you must specify at least one command for the container")
        runner = self._exec_tty if io.tty else self._exec_pipes
        try:
            return await runner(ps, argv, launch, io)
        except OSError as e:
            detail = exec_error_detail(argv[0], e)
            raise StreamError(
                f"error executing command in container: failed to exec in container: {OCI_EXEC}{detail}: unknown"
            ) from None

    async def _exec_pipes(self, ps: PodState, argv: list[str], launch: Any, io: StreamIO) -> int:
        loop = asyncio.get_running_loop()
        pipes = int(io.stdout) + int(io.stderr)
        transport, proto = await loop.subprocess_exec(
            lambda: _ExecProtocol(loop, pipes),
            *argv,
            stdin=subprocess.PIPE if io.stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if io.stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE if io.stderr else subprocess.DEVNULL,
            env=launch.env,
            cwd=launch.cwd,
            start_new_session=True,
        )
        pid = transport.get_pid()
        ps.execs.add(pid)
        feeder = asyncio.ensure_future(self._feed_pipe(transport, io)) if io.stdin else None
        try:
            await self._forward(proto, io)
            rc = transport.get_returncode()
            return ks.signal_exit_code(rc if rc is not None else -signal.SIGKILL)
        finally:
            if feeder is not None:
                feeder.cancel()
            signal_group(pid, signal.SIGKILL)  # the session is over: nothing it started outlives it
            ps.execs.discard(pid)
            transport.close()

    async def _forward(self, proto: _ExecProtocol, io: StreamIO) -> None:
        """Output to the client until the process exited and its pipes closed (or DRAIN after its exit)."""
        deadline: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            if deadline is None and proto.exited.done():
                deadline = loop.time() + DRAIN
            timeout = None if deadline is None else max(deadline - loop.time(), 0)
            get = asyncio.ensure_future(proto.queue.get())
            waits = {get, proto.exited} if deadline is None else {get}
            done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if get not in done:
                get.cancel()
                if deadline is not None:
                    return  # exited, and the pipes stayed open past DRAIN (a child holds them)
                continue
            item = get.result()
            if item is None:
                await proto.exited
                return
            await io.write(STDOUT if item[0] == 1 else STDERR, item[1])

    async def _feed_pipe(self, transport: asyncio.SubprocessTransport, io: StreamIO) -> None:
        pipe = transport.get_pipe_transport(0)
        if pipe is None:
            return
        while True:
            data = await io.read_stdin()
            if data is None or pipe.is_closing():
                pipe.close()  # stdin closed by the client: the process reads EOF
                return
            pipe.write(data)

    async def _exec_tty(self, ps: PodState, argv: list[str], launch: Any, io: StreamIO) -> int:
        master, slave = pty.openpty()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=slave, stdout=slave, stderr=slave, env=launch.env, cwd=launch.cwd, start_new_session=True
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        ps.execs.add(proc.pid)
        tasks = [asyncio.ensure_future(self._resize(master, io))]
        if io.stdin:
            tasks.append(asyncio.ensure_future(self._feed_tty(master, io)))
        try:
            await _read_terminal(master, io)
            rc = await proc.wait()
            return ks.signal_exit_code(rc)
        finally:
            for t in tasks:
                t.cancel()
            signal_group(proc.pid, signal.SIGKILL)
            ps.execs.discard(proc.pid)
            os.close(master)

    async def _feed_tty(self, master: int, io: StreamIO) -> None:
        while True:
            data = await io.read_stdin()
            if data is None:
                with contextlib.suppress(OSError):
                    os.write(master, b"\x04")  # end of input on a terminal
                return
            with contextlib.suppress(OSError):
                os.write(master, data)

    async def _resize(self, master: int, io: StreamIO) -> None:
        while (size := await io.next_resize()) is not None:
            cols, rows = size
            with contextlib.suppress(OSError):
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    # ---- attach -------------------------------------------------------------------------------------
    async def attach(self, target: Target, io: StreamIO) -> None:
        ps, proc = self._running(target)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        subscribers = ps.attached.setdefault(target.container, set())
        subscribers.add(queue)
        feeder = asyncio.ensure_future(self._feed_container(ps, target.container, proc, io)) if io.stdin else None
        channel = STDOUT if io.stdout else STDERR
        try:
            while (chunk := await queue.get()) is not None:
                if io.stdout or io.stderr:
                    await io.write(channel, chunk)
        finally:
            subscribers.discard(queue)
            if feeder is not None:
                feeder.cancel()

    async def _feed_container(self, ps: PodState, container: str, proc: Any, io: StreamIO) -> None:
        """The client's stdin into the container's (if it has one); stdinOnce closes it after this client."""
        stdin = proc.stdin
        spec = next((c for c in ps.spec.get("containers") or [] if c.get("name") == container), {})
        while True:
            data = await io.read_stdin()
            if data is None:
                if stdin is not None and spec.get("stdinOnce"):
                    stdin.close()
                return
            if stdin is not None and not stdin.is_closing():
                stdin.write(data)


async def _read_terminal(master: int, io: StreamIO) -> None:
    """Everything the terminal prints, to the client's stdout, until it reports the other side closed."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def readable() -> None:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        queue.put_nowait(data or None)
        if not data:
            loop.remove_reader(master)

    loop.add_reader(master, readable)
    try:
        while (chunk := await queue.get()) is not None:
            await io.write(STDOUT, chunk)
    finally:
        loop.remove_reader(master)
