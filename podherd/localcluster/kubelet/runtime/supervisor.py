"""The container processes of the process kubelet: spawning, signals, pid files, orphans.

Each container runs in its own process group (``start_new_session``): SIGTERM
goes to the main process (a container's PID 1), SIGKILL to the whole group. The
exit is awaited through the transport, not ``Process.wait()``, which on 3.11
also waits for the pipes that a grandchild may keep open. With a pid directory,
each live process leaves a file holding its kernel start time, so that the next
kubelet can kill the groups a crashed one left behind without hitting a reused pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

KILL_AFTER_ON_STOP = 3.0  # stop_all(): seconds between SIGTERM and SIGKILL


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The stream protocol of `create_subprocess_exec`, plus a future set when the process exits."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=2**16, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


@dataclass(slots=True, eq=False)
class Child:
    """One spawned container process (stdout and stderr merged into `proc.stdout`)."""

    proc: asyncio.subprocess.Process
    transport: asyncio.SubprocessTransport
    exited: asyncio.Future[None]

    def returncode(self) -> int | None:
        return self.transport.get_returncode()


def proc_start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): a pid's identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def signal_main(proc: asyncio.subprocess.Process, sig: int) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)


class ProcessTable:
    """The live container processes of one kubelet, mirrored in pid files when it has a state dir."""

    def __init__(self, pid_dir: Path | None) -> None:
        self.pid_dir = pid_dir
        self.live: dict[int, Child] = {}

    def kill_orphans(self) -> None:
        """Kill the process groups a previous kubelet left (their pid files name them) and clear the files."""
        if self.pid_dir is None:
            return
        try:
            self.pid_dir.mkdir(parents=True, exist_ok=True)
            entries = list(self.pid_dir.iterdir())
        except OSError as e:
            log.warning("kubelet: cannot use state dir %s: %s", self.pid_dir, e)
            self.pid_dir = None
            return
        for f in entries:
            try:
                pid = int(f.name)
                start = f.read_text().split("\n", 1)[0].strip()
                if pid not in self.live and start and proc_start_time(pid) == start:
                    log.warning("kubelet: killing orphaned container process group %d", pid)
                    signal_group(pid, signal.SIGKILL)
                f.unlink()
            except (OSError, ValueError):
                with contextlib.suppress(OSError):
                    f.unlink()

    async def spawn(
        self, argv: list[str], env: dict[str, str], cwd: str | None, what: str, stdin: bool = False
    ) -> Child:
        """Start `argv` in a new session, stderr into stdout, stdin a pipe (attach writes to it) or closed.
        OSError if it cannot be executed."""
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(loop),
            *argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        child = Child(asyncio.subprocess.Process(transport, protocol, loop), transport, protocol.exited)
        self.live[child.proc.pid] = child
        if self.pid_dir is not None:
            with contextlib.suppress(OSError):
                (self.pid_dir / str(child.proc.pid)).write_text(f"{proc_start_time(child.proc.pid) or ''}\n{what}\n")
        return child

    def release(self, child: Child) -> None:
        """The process has exited and been reaped: close its transport and drop its record and pid file."""
        child.transport.close()
        self._forget(child.proc)

    def _forget(self, proc: asyncio.subprocess.Process) -> None:
        self.live.pop(proc.pid, None)
        if self.pid_dir is not None:
            with contextlib.suppress(OSError):
                (self.pid_dir / str(proc.pid)).unlink()

    def running_count(self) -> int:
        return sum(1 for ch in self.live.values() if ch.proc.returncode is None)

    async def stop_all(self) -> None:
        """SIGTERM every live process, SIGKILL its group after `KILL_AFTER_ON_STOP` seconds, then forget them."""
        live = [ch for ch in self.live.values() if not ch.exited.done()]
        for ch in live:
            signal_main(ch.proc, signal.SIGTERM)
        if live:
            await asyncio.wait([ch.exited for ch in live], timeout=KILL_AFTER_ON_STOP)
            for ch in live:
                if not ch.exited.done():
                    signal_group(ch.proc.pid, signal.SIGKILL)
            await asyncio.wait([ch.exited for ch in live], timeout=5.0)
        for ch in live:
            signal_group(ch.proc.pid, signal.SIGKILL)  # leftovers of each container's group
            self._forget(ch.proc)
