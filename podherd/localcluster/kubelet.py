"""The local kubelet: binds pods to node ``local`` and runs them (API.md §6, §9, §10).

Two modes share this core (binding, status writes, events, graceful delete,
activeDeadlineSeconds) and differ in how containers run:

* ``process`` (:mod:`kubelet_process`): each container is a local process started
  from ``command + args``, never through a shell. **Images are not pulled**: the
  image name is only checked to be a valid reference (else ``InvalidImageName``
  as a real kubelet reports) and the command runs on this machine.
* ``simulate`` (:mod:`kubelet_simulate`): no processes; timers drive each pod
  through the same status shapes, with three writes per pod, for benchmarks
  of 10,000+ pods.

``state_dir`` (optional) holds the kubelet's own files: in process mode a pid file
per running container, so that a kubelet that crashed kills the orphans on its
next start. Pods already bound to this node whose containers ran before the
kubelet (re)started are marked Failed: their processes are gone.

Everything runs on the server's event loop. The store calls :meth:`Kubelet._on_event`
synchronously inside each write, so the listener never writes: it records what
it saw and schedules work with ``call_soon``; that work re-reads the pod and
checks its uid (a pod may be deleted and recreated under the same name).
State is kept per pod uid in :class:`PodState`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from podherd.localcluster import kubelet_status as ks
from podherd.localcluster.api import Api
from podherd.localcluster.deletion import DeleteOptions, Deleter
from podherd.localcluster.errors import ApiError
from podherd.localcluster.logs import LogStore
from podherd.localcluster.resources import EVENTS, PODS
from podherd.localcluster.store import Event, Key, now_micro, now_rfc3339

log = logging.getLogger(__name__)

HOST_IP = "127.0.0.1"
POD_IP = "127.0.0.1"


@dataclass(slots=True, eq=False)
class PodState:
    """What the kubelet tracks for one pod (by uid)."""

    uid: str
    key: Key
    spec: dict[str, Any]
    init: list[ks.Container]
    main: list[ks.Container]
    restart_policy: str
    start_time: str = ""
    start_mono: float = 0.0
    sandbox_ready: bool = False
    pod_ip: str = ""
    reason: str = ""  # pod-level status.reason / message (DeadlineExceeded, admission failures)
    message: str = ""
    admitted: bool = False
    ever_started: bool = False  # some container was started (a process ran / a simulated run began)
    torn_down: bool = False  # containers were stopped for good: the phase must be terminal
    force_failed: bool = False
    terminal: bool = False  # a terminal phase has been written
    terminating: bool = False  # stopping the containers (delete or deadline)
    delete_requested: bool = False
    delete_grace: int | None = None  # deletionGracePeriodSeconds last seen
    active_deadline: int | None = None
    gone: bool = False  # removed from the store (or forgotten)
    flush_pending: bool = False
    deadline_handle: asyncio.TimerHandle | None = None
    timer: asyncio.Handle | None = None  # simulate: the next transition
    kill_handle: asyncio.TimerHandle | None = None
    kill_at: float = 0.0
    task: asyncio.Task[None] | None = None  # process: the pod's runner
    terminator: asyncio.Task[None] | None = None
    procs: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    wake: asyncio.Event | None = None
    backoff_steps: dict[str, int] = field(default_factory=dict)
    sim: Any = None  # simulate mode's per-pod parameters
    events: dict[tuple[str, str, str, str], Key] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.key[0]

    @property
    def name(self) -> str:
        return self.key[1]

    def cancel_timers(self) -> None:
        for h in (self.deadline_handle, self.timer, self.kill_handle):
            if h is not None:
                h.cancel()
        self.deadline_handle = self.timer = self.kill_handle = None


class Driver(Protocol):
    """What a mode provides (kubelet_process.ProcessDriver, kubelet_simulate.SimulateDriver)."""

    def on_start(self) -> None: ...
    def prepare(self, ps: PodState, pod: dict[str, Any]) -> None: ...
    def start(self, ps: PodState) -> None: ...
    def terminate(self, ps: PodState, grace: float) -> None: ...
    def forget(self, ps: PodState) -> None: ...
    def running_count(self) -> int: ...
    async def stop(self) -> None: ...


def _containers(spec: dict[str, Any], field_name: str, init: bool, has_init: bool) -> list[ks.Container]:
    items = spec.get(field_name)
    out = []
    reason = ks.POD_INITIALIZING if has_init else ks.CONTAINER_CREATING
    for c in items if isinstance(items, list) else []:
        if isinstance(c, dict):
            image = c.get("image")
            out.append(
                ks.Container(str(c.get("name") or ""), image if isinstance(image, str) else "", init, reason=reason)
            )
    return out


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


class Kubelet:
    """Runs the pods of node `node_name` (see the module docstring)."""

    def __init__(
        self,
        api: Api,
        deleter: Deleter,
        logs: LogStore,
        mode: str = "process",
        node_name: str = "local",
        state_dir: Path | None = None,
        events: bool | None = None,
        kill_grace_cap: float | None = None,
    ) -> None:
        if mode not in ("process", "simulate"):
            raise ValueError(f"unknown kubelet mode {mode!r}: expected 'process' or 'simulate'")
        self.api = api
        self.store = api.store
        self.deleter = deleter
        self.logs = logs
        self.mode = mode
        self.node_name = node_name
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.events_enabled = events if events is not None else mode == "process"
        self.kill_grace_cap = kill_grace_cap
        self.pods: dict[str, PodState] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopped = False
        self._subscribed = False
        self._last_event_ns = 0
        self.driver: Driver
        if mode == "process":
            from podherd.localcluster.kubelet_process import ProcessDriver

            self.driver = ProcessDriver(self)
        else:
            from podherd.localcluster.kubelet_simulate import SimulateDriver

            self.driver = SimulateDriver(self)

    # ---- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the store and take the pods already stored that are ours and not terminal."""
        self.loop = asyncio.get_running_loop()
        self.stopped = False
        self.driver.on_start()
        if not self._subscribed:
            self.store.subscribe(self._on_event)
            self._subscribed = True
        for _key, pod in list(self.store.items("pods", None)):
            try:
                if self._wants(pod) and pod["metadata"].get("uid") not in self.pods:
                    self._claim(pod)
            except Exception:
                log.exception("kubelet: skipping stored pod %r", _key)

    async def stop(self) -> None:
        """Stop every container (SIGTERM, SIGKILL after a few seconds) and cancel all timers."""
        self.stopped = True
        if self._subscribed:
            self.store.unsubscribe(self._on_event)
            self._subscribed = False
        for ps in self.pods.values():
            ps.cancel_timers()
            if ps.wake is not None:
                ps.wake.set()
        await self.driver.stop()
        tasks = [t for ps in self.pods.values() for t in (ps.task, ps.terminator) if t is not None and not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.pods.clear()

    def running_count(self) -> int:
        """Containers running right now (processes in process mode, simulated runs in simulate mode)."""
        return self.driver.running_count()

    # ---- clock / helpers ------------------------------------------------------------------------
    def now(self) -> str:
        return now_rfc3339(self.api.clock())

    def cap_grace(self, grace: float) -> float:
        grace = max(0.0, float(grace))
        if self.kill_grace_cap is not None:
            grace = min(grace, self.kill_grace_cap)
        return grace

    def current(self, ps: PodState) -> dict[str, Any] | None:
        """The stored pod if it is still this pod (same uid)."""
        if ps.gone:
            return None
        pod = self.store.get("pods", ps.key)
        if pod is None or (pod.get("metadata") or {}).get("uid") != ps.uid:
            return None
        return pod

    def _wants(self, pod: dict[str, Any]) -> bool:
        spec = pod.get("spec")
        if not isinstance(spec, dict):
            return False
        node = spec.get("nodeName") or ""
        if not node and spec.get("schedulingGates"):
            return False  # the scheduler does not bind a gated pod
        phase = (pod.get("status") or {}).get("phase")
        return node in ("", self.node_name) and phase not in ks.TERMINAL_PHASES

    # ---- store listener (synchronous, inside a write: never writes) -----------------------------
    def _on_event(self, ev: Event) -> None:
        if self.stopped or ev.resource != "pods":
            return
        try:
            meta = ev.obj.get("metadata") or {}
            ps = self.pods.get(meta.get("uid") or "")
            if ev.type == "DELETED":
                if ps is not None:
                    self._forget(ps)
                return
            if ps is None:
                # ADDED, or MODIFIED when the last scheduling gate of an unbound pod is removed
                if self._wants(ev.obj) and meta.get("uid"):
                    self._claim(ev.obj)
                return
            if meta.get("deletionTimestamp"):
                grace = _int_or_none(meta.get("deletionGracePeriodSeconds"))
                if not ps.delete_requested or grace != ps.delete_grace:
                    ps.delete_grace = grace
                    self._soon(self._on_delete_requested, ps)
            ads = _int_or_none((ev.obj.get("spec") or {}).get("activeDeadlineSeconds"))
            if ads != ps.active_deadline:
                ps.active_deadline = ads
                self._soon(self.arm_deadline, ps)
        except Exception:
            log.exception("kubelet: failed to handle a %s event for %r", ev.type, ev.key)

    def _soon(self, fn: Any, *args: Any) -> None:
        assert self.loop is not None
        self.loop.call_soon(self._guarded, fn, *args)

    def _guarded(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("kubelet: %s failed", getattr(fn, "__name__", fn))
            if args and isinstance(args[0], PodState):
                self.fail_pod(args[0], "podherd local kubelet: internal error while handling this pod")

    def _claim(self, pod: dict[str, Any]) -> PodState:
        meta = pod["metadata"]
        spec = pod.get("spec") or {}
        has_init = bool(spec.get("initContainers"))
        ps = PodState(
            uid=meta["uid"],
            key=(meta.get("namespace") or "", meta["name"]),
            spec=spec,
            init=_containers(spec, "initContainers", True, has_init),
            main=_containers(spec, "containers", False, has_init),
            restart_policy=spec.get("restartPolicy") or "Always",
            active_deadline=_int_or_none(spec.get("activeDeadlineSeconds")),
        )
        if meta.get("deletionTimestamp"):
            ps.delete_requested = True
            ps.delete_grace = _int_or_none(meta.get("deletionGracePeriodSeconds"))
        self.pods[ps.uid] = ps
        self._soon(self._admit, ps)
        return ps

    def _forget(self, ps: PodState) -> None:
        """The pod is gone from the store: kill what is left, drop its state and logs."""
        ps.gone = True
        ps.terminating = True
        ps.cancel_timers()
        if ps.wake is not None:
            ps.wake.set()
        self.pods.pop(ps.uid, None)
        try:
            self.driver.forget(ps)
        finally:
            self.logs.drop_pod(ps.namespace, ps.name)

    # ---- admission and binding ------------------------------------------------------------------
    def _admit(self, ps: PodState) -> None:
        if ps.admitted or ps.gone or self.stopped:
            return
        pod = self.current(ps)
        if pod is None:
            self.pods.pop(ps.uid, None)
            return
        ps.admitted = True
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            self.remove(ps)
            return
        spec = pod.get("spec") or {}
        bind = not spec.get("nodeName")
        if not bind and ks.was_started(pod):
            # Bound to us before a kubelet restart: its containers are gone with the old process.
            ks.terminate_pod(ps.init, ps.main)
            ps.torn_down = True
            ps.message = "podherd local kubelet restarted: the pod's containers were lost"
            self.write_status(ps)
            return
        problem = ks.malformed_spec(spec)
        if problem:
            self.fail_pod(ps, f"podherd local kubelet cannot run this pod: {problem}", bind=bind)
            return
        try:
            self.driver.prepare(ps, pod)
        except Exception as e:
            log.warning("kubelet: pod %s/%s rejected: %s", ps.namespace, ps.name, e)
            self.fail_pod(ps, f"podherd local kubelet cannot run this pod: {e}", bind=bind)
            return
        ps.start_time = self.now()
        ps.start_mono = time.monotonic()
        if not self.write_status(ps, bind=bind):
            return
        if bind:
            self.emit(
                ps, "Scheduled", f"Successfully assigned {ps.namespace}/{ps.name} to {self.node_name}", scheduler=True
            )
        self.arm_deadline(ps)
        self.driver.start(ps)

    def fail_pod(self, ps: PodState, message: str, bind: bool = False) -> None:
        """Mark a pod the kubelet cannot handle Failed (never raises)."""
        try:
            ps.force_failed = ps.torn_down = True
            ps.reason = ps.reason or "UnexpectedAdmissionError"
            ps.message = message
            ps.terminating = True
            for c in [*ps.init, *ps.main]:
                if c.state == ks.RUNNING:
                    c.set_terminated(137, "Error", self.now())
            with contextlib.suppress(Exception):
                self.driver.forget(ps)
            try:
                self.write_status(ps, bind=bind)
            except Exception:
                self._write_bare_failure(ps, message, bind)
            if ps.delete_requested:
                self.remove(ps)
        except Exception:
            log.exception("kubelet: could not mark pod %s/%s failed", ps.namespace, ps.name)

    def _write_bare_failure(self, ps: PodState, message: str, bind: bool) -> None:
        pod = self.current(ps)
        if pod is None:
            return
        old = pod.get("status") if isinstance(pod.get("status"), dict) else {}
        status: dict[str, Any] = {"phase": ks.FAILED, "message": message, "reason": ps.reason}
        if old.get("qosClass"):
            status["qosClass"] = old["qosClass"]
        new = dict(pod)
        new["status"] = status
        if bind and isinstance(pod.get("spec"), dict):
            new["spec"] = {**pod["spec"], "nodeName": self.node_name}
        self.store.update("pods", ps.key, new)
        ps.terminal = True

    # ---- status ---------------------------------------------------------------------------------
    def mark_dirty(self, ps: PodState) -> None:
        """Write the status soon; changes made in the same loop iteration share one write."""
        if ps.flush_pending or ps.gone or self.loop is None:
            return
        ps.flush_pending = True
        self.loop.call_soon(self._flush, ps)

    def _flush(self, ps: PodState) -> None:
        ps.flush_pending = False
        try:
            self.write_status(ps)
        except Exception:
            log.exception("kubelet: status write failed for %s/%s", ps.namespace, ps.name)

    def write_status(self, ps: PodState, bind: bool = False) -> bool:
        """Write the status built from the kubelet's records (and the binding, if asked). False if the pod is gone."""
        if self.stopped:
            return False
        pod = self.current(ps)
        if pod is None:
            return False
        old = pod.get("status") if isinstance(pod.get("status"), dict) else {}
        init_st = [ks.container_status(c) for c in ps.init]
        st = [ks.container_status(c) for c in ps.main]
        phase = ks.get_phase(ps.spec, init_st, st, ps.torn_down)
        if ps.force_failed:
            phase = ks.FAILED
        elif ps.torn_down:
            phase = ks.terminal_phase(phase)
        terminal = phase in ks.TERMINAL_PHASES
        old_conds = old.get("conditions") if isinstance(old.get("conditions"), list) else []
        previous = {c.get("type"): c for c in old_conds if isinstance(c, dict)}
        scheduled = previous.get("PodScheduled")
        conditions = ks.pod_conditions(
            ps.spec, phase, init_st, st, ps.sandbox_ready and not terminal, self.now(), previous, scheduled
        )
        status = ks.pod_status(
            phase=phase,
            conditions=conditions,
            host_ip=HOST_IP,
            pod_ip=ps.pod_ip,
            start_time=ps.start_time,
            init_statuses=init_st,
            statuses=st,
            qos_class=old.get("qosClass"),
            reason=ps.reason,
            message=ps.message,
            has_init=bool(ps.init),
        )
        if terminal and not ps.terminal:
            ps.terminal = True
            if ps.deadline_handle is not None:
                ps.deadline_handle.cancel()
                ps.deadline_handle = None
        spec = pod.get("spec") or {}
        if status == old and not (bind and not spec.get("nodeName")):
            return True
        new = dict(pod)
        new["status"] = status
        if bind and not spec.get("nodeName"):
            new["spec"] = {**spec, "nodeName": self.node_name}
        self.store.update("pods", ps.key, new)
        return True

    # ---- deletion, deadline ---------------------------------------------------------------------
    def _on_delete_requested(self, ps: PodState) -> None:
        if ps.gone or self.stopped:
            return
        pod = self.current(ps)
        if pod is None:
            return
        ps.delete_requested = True
        if not ps.admitted:
            return  # _admit (queued) removes it
        if ps.terminal or not ps.ever_started:
            self.remove(ps)
            return
        grace = _int_or_none(pod["metadata"].get("deletionGracePeriodSeconds"))
        self.driver.terminate(ps, self.cap_grace(grace if grace is not None else 30))

    def remove(self, ps: PodState) -> None:
        """The kubelet's final DELETE: grace 0 with a uid precondition."""
        if ps.gone:
            return
        try:
            self.deleter.delete(PODS, ps.namespace, ps.name, DeleteOptions(grace_period=0, uid=ps.uid))
        except ApiError as e:
            if e.code not in (404, 409):
                log.warning("kubelet: final delete of %s/%s failed: %s", ps.namespace, ps.name, e)
        except Exception:
            log.exception("kubelet: final delete of %s/%s failed", ps.namespace, ps.name)

    def arm_deadline(self, ps: PodState) -> None:
        """(Re)start the activeDeadlineSeconds timer, counted from the pod's start."""
        if ps.deadline_handle is not None:
            ps.deadline_handle.cancel()
            ps.deadline_handle = None
        if ps.active_deadline is None or not ps.start_mono or ps.terminal or ps.gone or self.loop is None:
            return
        delay = max(0.0, ps.start_mono + ps.active_deadline - time.monotonic())
        ps.deadline_handle = self.loop.call_later(delay, self._guarded, self._deadline_exceeded, ps)

    def _deadline_exceeded(self, ps: PodState) -> None:
        ps.deadline_handle = None
        if ps.gone or ps.terminal or ps.terminating or self.stopped:
            return
        ps.reason = ks.DEADLINE_EXCEEDED
        ps.message = ks.DEADLINE_EXCEEDED_MESSAGE
        ps.force_failed = True
        self.emit(ps, ks.DEADLINE_EXCEEDED, ks.DEADLINE_EXCEEDED_MESSAGE)  # active_deadline.go: a Normal event
        grace = _int_or_none(ps.spec.get("terminationGracePeriodSeconds"))
        self.driver.terminate(ps, self.cap_grace(grace if grace is not None else 30))

    # ---- events ---------------------------------------------------------------------------------
    def _event_name(self, pod_name: str) -> str:
        t = max(time.time_ns(), self._last_event_ns + 1)
        self._last_event_ns = t
        return f"{pod_name}.{t:x}"

    def emit(
        self,
        ps: PodState,
        reason: str,
        message: str,
        type_: str = "Normal",
        container: ks.Container | None = None,
        scheduler: bool = False,
    ) -> None:
        """Record a core/v1 Event as the kubelet (or, for Scheduled, the scheduler) writes it. Never raises."""
        if not self.events_enabled or self.stopped:
            return
        try:
            pod = self.current(ps)
            if pod is None:
                return
            ns, name = ps.key
            involved: dict[str, Any] = {
                "kind": "Pod",
                "namespace": ns,
                "name": name,
                "uid": ps.uid,
                "apiVersion": "v1",
                "resourceVersion": pod["metadata"].get("resourceVersion", ""),
            }
            field_path = ""
            if container is not None:
                field_path = f"spec.{'initContainers' if container.init else 'containers'}{{{container.name}}}"
                involved["fieldPath"] = field_path
            now = self.now()
            cache_key = (field_path, reason, message, type_)
            seen = ps.events.get(cache_key)
            if seen is not None and not scheduler:
                old = self.store.get("events", seen)
                if old is not None:
                    updated = dict(old)
                    updated["count"] = int(old.get("count") or 1) + 1
                    updated["lastTimestamp"] = now
                    self.store.update("events", seen, updated)
                    return
            body: dict[str, Any] = {
                "metadata": {"name": self._event_name(name), "namespace": ns},
                "involvedObject": involved,
            }
            body["reason"] = reason
            body["message"] = message
            if scheduler:
                body.update(
                    source={},
                    firstTimestamp=None,
                    lastTimestamp=None,
                    type=type_,
                    eventTime=now_micro(self.api.clock()),
                    action="Binding",
                    reportingComponent="default-scheduler",
                    reportingInstance=f"default-scheduler-{self.node_name}",
                )
            else:
                body.update(
                    source={"component": "kubelet", "host": self.node_name},
                    firstTimestamp=now,
                    lastTimestamp=now,
                    count=1,
                    type=type_,
                    eventTime=None,
                    reportingComponent="kubelet",
                    reportingInstance=self.node_name,
                )
            created = self.api.create(EVENTS, ns, body, manager="kubelet")
            ps.events[cache_key] = (ns, created["metadata"]["name"])
        except ApiError as e:
            log.debug("kubelet: event %s for %s/%s not recorded: %s", reason, ps.namespace, ps.name, e)
        except Exception:
            log.exception("kubelet: event %s for %s/%s not recorded", reason, ps.namespace, ps.name)
