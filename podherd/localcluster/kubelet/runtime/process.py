"""Process mode of the local kubelet: every container is a local process.

* **Images are not pulled.** The image name is only checked to be a valid
  reference (``InvalidImageName`` otherwise, as a real kubelet reports it); the
  command runs on this machine, so it must exist here. The ``Pulled`` event says
  the image is "already present on machine", which is what a kubelet with
  ``IfNotPresent`` says for a cached image.
* argv and environment are built by :mod:`runtime.exec` (``$(VAR)`` expanded,
  never a shell). With no command, ``args`` alone are run (the image's
  entrypoint is unknown); with neither the start fails.
* stdout and stderr are merged into the pod's log. Processes, signals and pid
  files are :mod:`runtime.supervisor`'s: SIGTERM goes to the main process,
  SIGKILL and the clean-up after the main process exits to the whole group.
* A start failure (no such executable, permission denied, missing workingDir) is
  ``terminated`` exit 128 reason ``StartError`` with containerd's message.
* Restarts follow restartPolicy with :mod:`restart`'s back-off; a
  delete or deadline stops the pod with SIGTERM, then SIGKILL after the grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import secrets
import signal
from pathlib import Path
from typing import Any

from podherd.localcluster.kubelet.driver import PodLifecycle
from podherd.localcluster.kubelet.events import EventRecorder
from podherd.localcluster.kubelet.logs import LogStore
from podherd.localcluster.kubelet.node import Node
from podherd.localcluster.kubelet.restart import BACKOFF_RESET_AFTER, backoff_delay, enter_back_off, should_restart
from podherd.localcluster.kubelet.runtime.containerconfig import ContainerConfig, NotReady
from podherd.localcluster.kubelet.runtime.exec import NEVER_STARTED, exec_error_detail, start_error_message
from podherd.localcluster.kubelet.runtime.supervisor import Child, ProcessTable, signal_group, signal_main
from podherd.localcluster.kubelet.state import PodState
from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.kubelet.status.writer import StatusWriter
from podherd.localcluster.kubelet.volumes import VolumeDirs, VolumeError

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 2.0  # seconds to keep reading a container's output after its main process exited
CONFIG_RETRY = 10.0  # seconds between attempts at a CreateContainerConfigError without a change to wake it


class Waiting(enum.Enum):
    """Why `_run_once` started nothing: never will (bad image, pod gone), or may on a later attempt."""

    FOREVER = "forever"
    RETRY = "retry"


def new_container_id() -> str:
    return "containerd://" + secrets.token_hex(32)


def _image(spec: dict[str, Any], name: str) -> Any:
    return next(
        (c.get("image") for c in spec.get("containers") or [] if isinstance(c, dict) and c.get("name") == name), None
    )


class ProcessDriver:
    """Runs each pod as one task: init containers in order, then the regular ones side by side."""

    def __init__(
        self,
        node: Node,
        writer: StatusWriter,
        recorder: EventRecorder,
        logs: LogStore,
        lifecycle: PodLifecycle,
        state_dir: Path | None = None,
    ) -> None:
        self.node = node
        self.writer = writer
        self.recorder = recorder
        self.logs = logs
        self.lifecycle = lifecycle
        self.table = ProcessTable(state_dir / "kubelet-pids" if state_dir is not None else None)
        self.volumes = VolumeDirs(state_dir / "pods" if state_dir is not None else None)
        self.config = ContainerConfig(node, self.volumes.mount_env)

    # ---- driver interface -------------------------------------------------------------------------
    def on_start(self) -> None:
        self.table.kill_orphans()

    def prepare(self, ps: PodState, pod: dict[str, Any]) -> None:
        ps.wake = asyncio.Event()
        ps.config_changed = asyncio.Event()

    def start(self, ps: PodState) -> None:
        ps.task = asyncio.get_running_loop().create_task(self._run_pod(ps), name=f"kubelet {ps.namespace}/{ps.name}")

    def running_count(self) -> int:
        return self.table.running_count()

    def terminate(self, ps: PodState, grace: float) -> None:
        """SIGTERM the pod's processes now, SIGKILL after `grace`; a second call may only shorten the grace."""
        loop = asyncio.get_running_loop()
        first = not ps.terminating
        ps.terminating = True
        if ps.wake is not None:
            ps.wake.set()
        if first:
            for name, proc in list(ps.procs.items()):
                self.recorder.killing(ps, name, ps.container(name))
                signal_main(proc, signal.SIGTERM)
            ps.terminator = loop.create_task(self._finish_termination(ps))
        kill_at = loop.time() + grace
        if ps.kill_handle is None or kill_at < ps.kill_at:
            if ps.kill_handle is not None:
                ps.kill_handle.cancel()
            ps.kill_at = kill_at
            ps.kill_handle = loop.call_later(grace, self._kill_pod, ps)

    def spec_changed(self, ps: PodState, spec: dict[str, Any], grace: float) -> None:
        """A running container whose image changed is stopped and started again from the new spec, whatever the
        restartPolicy (computePodActions: "definition changed"); restartCount counts it, lastState keeps the old."""
        old, ps.spec = ps.spec, spec
        for c in ps.main:
            if _image(old, c.name) == _image(spec, c.name) or c.name not in ps.procs or ps.terminating:
                continue
            ps.respawn.add(c.name)
            message = f"Container {c.name} definition changed, will be restarted"
            self.recorder.killing(ps, c.name, c, message)
            proc = ps.procs[c.name]
            signal_main(proc, signal.SIGTERM)
            asyncio.get_running_loop().call_later(grace, signal_group, proc.pid, signal.SIGKILL)

    def forget(self, ps: PodState) -> None:
        self._kill_pod(ps)
        if ps.gone:
            self.volumes.remove(ps.uid)

    async def stop(self) -> None:
        await self.table.stop_all()
        self.volumes.close()

    # ---- the pod ----------------------------------------------------------------------------------
    def _kill_groups(self, ps: PodState) -> None:
        for proc in list(ps.procs.values()):
            signal_group(proc.pid, signal.SIGKILL)
        for pid in list(ps.execs):
            signal_group(pid, signal.SIGKILL)  # exec sessions die with the container, as in its cgroup

    def _kill_pod(self, ps: PodState) -> None:
        ps.kill_handle = None
        self._kill_groups(ps)

    def _stopping(self, ps: PodState) -> bool:
        return ps.terminating or ps.gone or self.node.stopped

    async def _finish_termination(self, ps: PodState) -> None:
        if ps.task is not None and not ps.task.done():
            await asyncio.wait({ps.task})
        if ps.kill_handle is not None:
            ps.kill_handle.cancel()
            ps.kill_handle = None
        if ps.gone or self.node.stopped:
            return
        self.lifecycle.tear_down(ps)

    async def _mount(self, ps: PodState) -> bool:
        """Set the pod's volumes up before any container starts; a missing ConfigMap/Secret is a FailedMount
        event and a retry when the namespace's objects change. False if the pod stopped meanwhile."""
        while not self._stopping(ps):
            pod = self.node.current(ps)
            if pod is None:
                return False
            assert ps.config_changed is not None
            ps.config_changed.clear()
            try:
                self.volumes.set_up(pod, self.config.objects, self.config.allocatable() or {})
                return True
            except VolumeError as e:
                self.recorder.emit(ps, "FailedMount", str(e), type_="Warning")
            except OSError as e:
                self.lifecycle.fail_pod(ps, f"podherd local kubelet: cannot create the pod's volumes: {e}")
                return False
            await self._config_retry(ps)
        return False

    async def _run_pod(self, ps: PodState) -> None:
        try:
            if not await self._mount(ps):
                return
            ok = True
            for c in ps.init:
                ok = await self._run_with_restarts(ps, c)
                if not ok:
                    break
            if ok and not self._stopping(ps):
                results = await asyncio.gather(
                    *(self._run_with_restarts(ps, c) for c in ps.main), return_exceptions=True
                )
                for r in results:
                    if isinstance(r, BaseException):
                        raise r
            if not self._stopping(ps):
                self.writer.write(ps)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("kubelet: pod %s/%s failed", ps.namespace, ps.name)
            self.lifecycle.fail_pod(ps, f"podherd local kubelet: internal error while running this pod: {e}")
        finally:
            self._kill_groups(ps)

    async def _run_with_restarts(self, ps: PodState, c: ks.Container) -> bool:
        """Run a container (again, per restartPolicy). True when it finished with exit 0 and is not restarted."""
        while True:
            if self._stopping(ps):
                return False
            loop = asyncio.get_running_loop()
            began = loop.time()
            code = await self._run_once(ps, c)
            if code is Waiting.FOREVER:
                return False  # stays waiting (InvalidImageName) or the pod is gone
            if code is Waiting.RETRY:
                await self._config_retry(ps)  # CreateContainerConfigError: try again when its objects change
                continue
            if self._stopping(ps):
                return code == 0
            if c.name in ps.respawn:  # stopped for a new image: start again at once, no back-off
                ps.respawn.discard(c.name)
                c.back_off(ks.CONTAINER_CREATING, "")
                self.writer.mark_dirty(ps)
                continue
            if not should_restart(ps.restart_policy, code, c.init):
                return code == 0
            if loop.time() - began >= BACKOFF_RESET_AFTER:
                ps.backoff_steps[c.name] = 0
            step = ps.backoff_steps.get(c.name, 0)
            ps.backoff_steps[c.name] = step + 1
            delay = backoff_delay(step)
            enter_back_off(self.recorder, ps, c, delay)
            self.writer.mark_dirty(ps)
            assert ps.wake is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ps.wake.wait(), delay)

    async def _config_retry(self, ps: PodState) -> None:
        """Wait until a ConfigMap or Secret of the pod's namespace changes, the pod stops, or `CONFIG_RETRY` passes."""
        assert ps.wake is not None and ps.config_changed is not None
        waits = [asyncio.ensure_future(ps.wake.wait()), asyncio.ensure_future(ps.config_changed.wait())]
        try:
            await asyncio.wait(waits, timeout=CONFIG_RETRY, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    # ---- one instance of a container --------------------------------------------------------------
    def _spec_of(self, ps: PodState, c: ks.Container) -> dict[str, Any]:
        items = ps.spec.get("initContainers" if c.init else "containers") or []
        return next((x for x in items if isinstance(x, dict) and x.get("name") == c.name), {})

    def _start_failed(self, ps: PodState, c: ks.Container, message: str) -> int:
        c.started_at = NEVER_STARTED
        c.set_terminated(128, ks.START_ERROR, self.node.now(), message)
        self.recorder.emit(ps, "Failed", f"Error: {message}", type_="Warning", container=c)
        self.writer.mark_dirty(ps)
        return 128

    async def _run_once(self, ps: PodState, c: ks.Container) -> int | Waiting:
        """Start one instance of the container and wait for it: its exit code, or why it keeps waiting."""
        spec_c = self._spec_of(ps, c)
        pod = self.node.current(ps)
        if pod is None:
            return Waiting.FOREVER
        ps.sandbox_up()
        if ps.config_changed is not None:
            ps.config_changed.clear()  # a change from now on wakes a retry
        try:
            launch = self.config.launch(pod, spec_c)
        except NotReady as w:
            c.set_waiting(w.reason, w.message)
            for reason, message in w.events:
                self.recorder.emit(ps, reason, message, type_="Warning", container=c)
            self.writer.mark_dirty(ps)
            return Waiting.RETRY if w.retry else Waiting.FOREVER
        for warning in launch.warnings:
            self.recorder.emit(ps, "InvalidEnvironmentVariableNames", warning, type_="Warning")
        argv, env = launch.argv, launch.env
        c.image = str(spec_c.get("image") or c.image)  # this instance's image (it may have been changed)
        self.recorder.pulled(ps, c)
        c.container_id = new_container_id()
        if not argv:
            return self._start_failed(
                ps,
                c,
                "podherd local kubelet: the container has neither command nor args, and the image's entrypoint is "
                "unknown because images are not pulled",
            )
        self.recorder.created(ps, c)
        cwd = launch.cwd
        if cwd is not None and not os.path.isdir(cwd):
            why = "not a directory" if os.path.exists(cwd) else "no such file or directory"
            return self._start_failed(
                ps,
                c,
                start_error_message(
                    f'error during container init: chdir to cwd ("{cwd}") set in config.json failed: {why}'
                ),
            )
        what = f"{ps.namespace}/{ps.name}/{c.name}"
        try:
            child = await self.table.spawn(argv, env, cwd, what, stdin=spec_c.get("stdin") is True)
        except OSError as e:
            return self._start_failed(ps, c, start_error_message(exec_error_detail(argv[0], e)))
        ps.launches[c.name] = launch
        try:
            return await self._supervise(ps, c, child)
        finally:
            ps.launches.pop(c.name, None)
            for queue in ps.attached.pop(c.name, set()):
                queue.put_nowait(None)  # attached clients: the process is gone

    async def _supervise(self, ps: PodState, c: ks.Container, child: Child) -> int:
        """Follow a started instance until it exits: its log, its status, its exit code."""
        proc = child.proc
        ps.procs[c.name] = proc
        ps.ever_started = True
        if ps.gone or self.node.stopped or (ps.terminating and ps.kill_handle is None):
            signal_group(proc.pid, signal.SIGKILL)  # started while the pod was removed / past its grace
        elif ps.terminating:
            signal_main(proc, signal.SIGTERM)
        if not ps.gone:
            self.logs.open(ps.namespace, ps.name, c.name, c.container_id)
        c.set_running(self.node.now(), c.container_id)
        self.writer.mark_dirty(ps)
        self.recorder.started(ps, c)
        cid = c.container_id  # the instance: a restart gets a new id, and a log of its own
        reader = asyncio.ensure_future(self._pump(ps, c.name, cid, proc))
        try:
            await child.exited
        finally:
            signal_group(proc.pid, signal.SIGKILL)  # whatever the main process left behind
            try:
                await asyncio.wait_for(reader, DRAIN_TIMEOUT)
            except (TimeoutError, asyncio.CancelledError):
                reader.cancel()
            ps.procs.pop(c.name, None)
            self.table.release(child)
            if not ps.gone:
                self.logs.close(ps.namespace, ps.name, c.name, cid)
        rc = child.returncode()
        code = ks.signal_exit_code(rc if rc is not None else -signal.SIGKILL)
        c.set_terminated(code, ks.exit_reason(code), self.node.now())
        self.writer.mark_dirty(ps)
        return code

    async def _pump(self, ps: PodState, name: str, cid: str, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            chunk = await proc.stdout.read(65536)
            if not chunk:
                return
            if not ps.gone:
                self.logs.append(ps.namespace, ps.name, name, cid, chunk)
            for queue in ps.attached.get(name, ()):
                queue.put_nowait(chunk)
