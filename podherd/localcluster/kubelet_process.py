"""Process mode of the local kubelet: every container is a local process.

* **Images are not pulled.** The image name is only checked to be a valid
  reference (``InvalidImageName`` otherwise, as a real kubelet reports it); the
  command runs on this machine, so it must exist here. The ``Pulled`` event says
  the image is "already present on machine", which is what a kubelet with
  ``IfNotPresent`` says for a cached image.
* argv is ``command + args`` (``$(VAR)`` expanded as the kubelet does), started
  with ``create_subprocess_exec``: never a shell. With no command, ``args`` alone
  are run (the image's entrypoint is unknown); with neither the start fails.
* The environment is ``PATH`` and ``HOME`` inherited from the kubelet process,
  ``HOSTNAME`` (the pod name), then the container's ``env`` (plain ``value``
  and ``fieldRef``); ``configMapKeyRef``/``secretKeyRef`` and ``envFrom`` refer to
  objects this cluster does not have: non-optional ones give
  ``CreateContainerConfigError`` like a missing ConfigMap/Secret would.
* stdout and stderr are merged into the pod's log. Each container runs in its own
  process group: SIGTERM goes to the main process (a container's PID 1), SIGKILL
  and the clean-up after the main process exits go to the whole group.
* A start failure (no such executable, permission denied, missing workingDir) is
  ``terminated`` exit 128 reason ``StartError`` with containerd's message.
* With a ``state_dir``, each running container leaves a pid file there so that a
  kubelet that crashed can kill its orphans when it starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podherd.localcluster import kubelet_status as ks
from podherd.localcluster.imageref import is_valid_image_reference

if TYPE_CHECKING:
    from podherd.localcluster.kubelet import Kubelet, PodState

log = logging.getLogger(__name__)

RUNC_PREFIX = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
    "runc create failed: unable to start container process: "
)
BACKOFF_INITIAL = 1.0
BACKOFF_CAP = 10.0
BACKOFF_RESET_AFTER = 60.0  # a container that ran this long restarts with the initial back-off again
DRAIN_TIMEOUT = 2.0
KILL_AFTER_ON_STOP = 3.0  # stop(): seconds between SIGTERM and SIGKILL
NEVER_STARTED = "1970-01-01T00:00:00Z"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The stream protocol of `create_subprocess_exec`, plus a future set when the process exits."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=2**16, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


class ConfigError(Exception):
    """The container's configuration cannot be resolved: CreateContainerConfigError."""


def new_container_id() -> str:
    return "containerd://" + secrets.token_hex(32)


def start_error_message(detail: str) -> str:
    return f"{RUNC_PREFIX}{detail}: unknown"


def exec_error_detail(argv0: str, err: OSError) -> str:
    """What runc says when exec fails."""
    if isinstance(err, FileNotFoundError):
        if "/" in argv0:
            return f'exec: "{argv0}": stat {argv0}: no such file or directory'
        return f'exec: "{argv0}": executable file not found in $PATH'
    if isinstance(err, PermissionError):
        return f'exec: "{argv0}": permission denied'
    return f'exec: "{argv0}": {(err.strerror or str(err)).lower()}'


def expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's $(VAR) expansion: known names are replaced, $$ escapes, anything else is kept."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "$" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2 : end]
                    out.append(env.get(name, f"$({name})"))
                    i = end + 1
                    continue
                out.append("$(")
                i += 2
                continue
            out.append("$" + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _field_ref(pod: dict[str, Any], path: str) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName") or "local",
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": "127.0.0.1",
        "status.hostIPs": "127.0.0.1",
        "status.podIP": "127.0.0.1",
        "status.podIPs": "127.0.0.1",
    }
    if path in simple:
        return str(simple[path] or "")
    for prefix, source in (("metadata.labels", meta.get("labels")), ("metadata.annotations", meta.get("annotations"))):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((source or {}).get(path[len(prefix) + 2 : -2], ""))
    raise ConfigError(f'unsupported fieldRef fieldPath "{path}"')


def _ref_missing(ref: dict[str, Any]) -> bool:
    """A ConfigMap/Secret reference: this cluster stores none, so it is missing unless optional."""
    return not ref.get("optional")


def container_env(pod: dict[str, Any], c: dict[str, Any]) -> dict[str, str]:
    """The process environment of container `c` (see the module docstring)."""
    env: dict[str, str] = {
        "PATH": os.environ.get("PATH", DEFAULT_PATH),
        "HOSTNAME": str((pod.get("metadata") or {}).get("name", "")),
    }
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    for src in c.get("envFrom") or []:
        if not isinstance(src, dict):
            continue
        for kind, label in (("configMapRef", "configmap"), ("secretRef", "secret")):
            ref = src.get(kind)
            if isinstance(ref, dict) and _ref_missing(ref):
                raise ConfigError(f'{label} "{ref.get("name", "")}" not found')
    own: dict[str, str] = {}
    for e in c.get("env") or []:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            continue
        name = e["name"]
        vf = e.get("valueFrom")
        if isinstance(vf, dict):
            if isinstance(vf.get("fieldRef"), dict):
                value = _field_ref(pod, str(vf["fieldRef"].get("fieldPath", "")))
            elif isinstance(vf.get("configMapKeyRef"), dict) or isinstance(vf.get("secretKeyRef"), dict):
                kind = "configMapKeyRef" if "configMapKeyRef" in vf else "secretKeyRef"
                ref = vf[kind]
                if _ref_missing(ref):
                    label = "configmap" if kind == "configMapKeyRef" else "secret"
                    raise ConfigError(f'{label} "{ref.get("name", "")}" not found')
                continue
            else:
                raise ConfigError(f'env "{name}": only value and fieldRef are supported by the podherd local kubelet')
        else:
            value = expand(str(e.get("value") or ""), {**env, **own})
        own[name] = value
    env.update(own)
    return env


def _proc_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _signal(proc: asyncio.subprocess.Process, sig: int) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)


class ProcessDriver:
    def __init__(self, kubelet: Kubelet) -> None:
        self.k = kubelet
        self.live: dict[int, tuple[asyncio.subprocess.Process, asyncio.Future[None]]] = {}
        self.pid_dir = kubelet.state_dir / "kubelet-pids" if kubelet.state_dir is not None else None

    # ---- orphans of a previous kubelet ------------------------------------------------------------
    def on_start(self) -> None:
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
                if pid not in self.live and start and _proc_start_time(pid) == start:
                    log.warning("kubelet: killing orphaned container process group %d", pid)
                    _signal_group(pid, signal.SIGKILL)
                f.unlink()
            except (OSError, ValueError):
                with contextlib.suppress(OSError):
                    f.unlink()

    def _remember(self, proc: asyncio.subprocess.Process, exited: asyncio.Future[None], what: str) -> None:
        self.live[proc.pid] = (proc, exited)
        if self.pid_dir is not None:
            with contextlib.suppress(OSError):
                (self.pid_dir / str(proc.pid)).write_text(f"{_proc_start_time(proc.pid) or ''}\n{what}\n")

    def _forget_proc(self, proc: asyncio.subprocess.Process) -> None:
        self.live.pop(proc.pid, None)
        if self.pid_dir is not None:
            with contextlib.suppress(OSError):
                (self.pid_dir / str(proc.pid)).unlink()

    # ---- driver interface -------------------------------------------------------------------------
    def prepare(self, ps: PodState, pod: dict[str, Any]) -> None:
        ps.wake = asyncio.Event()

    def start(self, ps: PodState) -> None:
        ps.task = asyncio.get_running_loop().create_task(self._run_pod(ps), name=f"kubelet {ps.namespace}/{ps.name}")

    def running_count(self) -> int:
        return sum(1 for p, _ in self.live.values() if p.returncode is None)

    def terminate(self, ps: PodState, grace: float) -> None:
        """SIGTERM the pod's processes now, SIGKILL after `grace`; a second call may only shorten the grace."""
        loop = asyncio.get_running_loop()
        first = not ps.terminating
        ps.terminating = True
        if ps.wake is not None:
            ps.wake.set()
        if first:
            for name, proc in list(ps.procs.items()):
                c = next((x for x in [*ps.init, *ps.main] if x.name == name), None)
                self.k.emit(ps, "Killing", f"Stopping container {name}", container=c)
                _signal(proc, signal.SIGTERM)
            ps.terminator = loop.create_task(self._finish_termination(ps))
        kill_at = loop.time() + grace
        if ps.kill_handle is None or kill_at < ps.kill_at:
            if ps.kill_handle is not None:
                ps.kill_handle.cancel()
            ps.kill_at = kill_at
            ps.kill_handle = loop.call_later(grace, self._kill_pod, ps)

    def forget(self, ps: PodState) -> None:
        self._kill_pod(ps)

    async def stop(self) -> None:
        live = [(p, exited) for p, exited in self.live.values() if not exited.done()]
        for p, _ in live:
            _signal(p, signal.SIGTERM)
        if live:
            await asyncio.wait([exited for _, exited in live], timeout=KILL_AFTER_ON_STOP)
            for p, exited in live:
                if not exited.done():
                    _signal_group(p.pid, signal.SIGKILL)
            await asyncio.wait([exited for _, exited in live], timeout=5.0)
        for p, _ in live:
            _signal_group(p.pid, signal.SIGKILL)  # leftovers of each container's group
            self._forget_proc(p)

    # ---- internals --------------------------------------------------------------------------------
    def _kill_pod(self, ps: PodState) -> None:
        ps.kill_handle = None
        for proc in list(ps.procs.values()):
            _signal_group(proc.pid, signal.SIGKILL)

    def _stopping(self, ps: PodState) -> bool:
        return ps.terminating or ps.gone or self.k.stopped

    async def _finish_termination(self, ps: PodState) -> None:
        if ps.task is not None and not ps.task.done():
            await asyncio.wait({ps.task})
        if ps.kill_handle is not None:
            ps.kill_handle.cancel()
            ps.kill_handle = None
        if ps.gone or self.k.stopped:
            return
        ks.terminate_pod(ps.init, ps.main)
        ps.torn_down = True
        self.k.write_status(ps)
        if ps.delete_requested:
            self.k.remove(ps)

    async def _run_pod(self, ps: PodState) -> None:
        try:
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
                self.k.write_status(ps)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("kubelet: pod %s/%s failed", ps.namespace, ps.name)
            self.k.fail_pod(ps, f"podherd local kubelet: internal error while running this pod: {e}")
        finally:
            for proc in list(ps.procs.values()):
                _signal_group(proc.pid, signal.SIGKILL)

    async def _run_with_restarts(self, ps: PodState, c: ks.Container) -> bool:
        """Run a container (again, per restartPolicy). True when it finished with exit 0 and is not restarted."""
        while True:
            if self._stopping(ps):
                return False
            loop = asyncio.get_running_loop()
            began = loop.time()
            code = await self._run_once(ps, c)
            if code is None:
                return False  # stays waiting (InvalidImageName, CreateContainerConfigError)
            if self._stopping(ps):
                return code == 0
            if c.init:
                restart = code != 0 and ps.restart_policy != "Never"
            else:
                restart = ps.restart_policy == "Always" or (ps.restart_policy == "OnFailure" and code != 0)
            if not restart:
                return code == 0
            if loop.time() - began >= BACKOFF_RESET_AFTER:
                ps.backoff_steps[c.name] = 0
            step = ps.backoff_steps.get(c.name, 0)
            ps.backoff_steps[c.name] = step + 1
            delay = min(BACKOFF_INITIAL * 2**step, BACKOFF_CAP)
            c.back_off(ks.CRASH_LOOP_BACK_OFF, ks.crash_loop_message(delay, c.name, ps.name, ps.namespace, ps.uid))
            self.k.emit(
                ps,
                "BackOff",
                f"Back-off restarting failed container {c.name} in pod {ps.name}_{ps.namespace}({ps.uid})",
                type_="Warning",
                container=c,
            )
            self.k.mark_dirty(ps)
            assert ps.wake is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ps.wake.wait(), delay)

    def _spec_of(self, ps: PodState, c: ks.Container) -> dict[str, Any]:
        items = ps.spec.get("initContainers" if c.init else "containers") or []
        return next((x for x in items if isinstance(x, dict) and x.get("name") == c.name), {})

    def _start_failed(self, ps: PodState, c: ks.Container, message: str) -> int:
        c.started_at = NEVER_STARTED  # containerd reports the zero time for a container that never started
        c.set_terminated(128, ks.START_ERROR, self.k.now(), message)
        self.k.emit(ps, "Failed", f"Error: {message}", type_="Warning", container=c)
        self.k.mark_dirty(ps)
        return 128

    async def _run_once(self, ps: PodState, c: ks.Container) -> int | None:
        """Start one instance of the container and wait for it. Its exit code, or None if it cannot be created."""
        spec_c = self._spec_of(ps, c)
        pod = self.k.current(ps)
        if pod is None:
            return None
        if not ps.sandbox_ready:
            ps.sandbox_ready = True
            ps.pod_ip = "127.0.0.1"
        image = spec_c.get("image") if isinstance(spec_c.get("image"), str) else ""
        if not image or not is_valid_image_reference(image):
            msg = ks.invalid_image_message(image)
            c.set_waiting(ks.INVALID_IMAGE_NAME, msg)
            self.k.emit(ps, "InspectFailed", msg, type_="Warning", container=c)
            self.k.emit(ps, "Failed", "Error: InvalidImageName", type_="Warning", container=c)
            self.k.mark_dirty(ps)
            return None
        try:
            env = container_env(pod, spec_c)
        except ConfigError as e:
            c.set_waiting("CreateContainerConfigError", str(e))
            self.k.emit(ps, "Failed", f"Error: {e}", type_="Warning", container=c)
            self.k.mark_dirty(ps)
            return None
        argv = [expand(a, env) for a in [*(spec_c.get("command") or []), *(spec_c.get("args") or [])]]
        self.k.emit(ps, "Pulled", f'Container image "{image}" already present on machine', container=c)
        c.container_id = new_container_id()
        if not argv:
            return self._start_failed(
                ps,
                c,
                "podherd local kubelet: the container has neither command nor args, and the image's entrypoint is "
                "unknown because images are not pulled",
            )
        self.k.emit(ps, "Created", f"Created container: {c.name}", container=c)
        cwd = spec_c.get("workingDir") or None
        if cwd is not None and not os.path.isdir(cwd):
            why = "not a directory" if os.path.exists(cwd) else "no such file or directory"
            return self._start_failed(
                ps,
                c,
                start_error_message(
                    f'error during container init: chdir to cwd ("{cwd}") set in config.json failed: {why}'
                ),
            )
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _Protocol(loop),
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as e:
            return self._start_failed(ps, c, start_error_message(exec_error_detail(argv[0], e)))
        proc = asyncio.subprocess.Process(transport, protocol, loop)
        self._remember(proc, protocol.exited, f"{ps.namespace}/{ps.name}/{c.name}")
        ps.procs[c.name] = proc
        ps.ever_started = True
        if ps.gone or self.k.stopped or (ps.terminating and ps.kill_handle is None):
            _signal_group(proc.pid, signal.SIGKILL)  # started while the pod was removed / past its grace
        elif ps.terminating:
            _signal(proc, signal.SIGTERM)
        if not ps.gone:
            self.k.logs.open(ps.namespace, ps.name, c.name)
        c.set_running(self.k.now(), c.container_id)
        self.k.mark_dirty(ps)
        self.k.emit(ps, "Started", f"Started container {c.name}", container=c)
        reader = asyncio.ensure_future(self._pump(ps, c, proc))
        try:
            # Not proc.wait(): on 3.11 it also waits for the pipes, which a grandchild may keep open.
            await protocol.exited
        finally:
            _signal_group(proc.pid, signal.SIGKILL)  # whatever the main process left behind
            try:
                await asyncio.wait_for(reader, DRAIN_TIMEOUT)
            except (TimeoutError, asyncio.CancelledError):
                reader.cancel()
            transport.close()
            ps.procs.pop(c.name, None)
            self._forget_proc(proc)
            if not ps.gone:
                self.k.logs.close(ps.namespace, ps.name, c.name)
        rc = transport.get_returncode()
        code = ks.signal_exit_code(rc if rc is not None else -signal.SIGKILL)
        c.set_terminated(code, ks.exit_reason(code), self.k.now())
        self.k.mark_dirty(ps)
        return code

    async def _pump(self, ps: PodState, c: ks.Container, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            chunk = await proc.stdout.read(65536)
            if not chunk:
                return
            if not ps.gone:
                self.k.logs.append(ps.namespace, ps.name, c.name, chunk)
