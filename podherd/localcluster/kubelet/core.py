"""The local kubelet: binds pods to node ``local`` and runs them (API.md §6, §9, §10).

Two modes share this core (binding, status writes, events, graceful delete,
activeDeadlineSeconds) and differ in how containers run:

* ``process`` (:mod:`runtime.process`): each container is a local process started
  from ``command + args``, never through a shell. **Images are not pulled**: the
  image name is only checked to be a valid reference (else ``InvalidImageName``
  as a real kubelet reports) and the command runs on this machine.
* ``simulate`` (:mod:`runtime.simulate`): no processes; timers drive each pod
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

This module is the core: lifecycle, the store listener, admission and binding,
failure, graceful delete and activeDeadlineSeconds. It wires the parts beside it
and hands each only what it uses: the node's facts and clock (:mod:`node`),
per-pod records (:mod:`state`), status writes (:mod:`status.writer`, built by
:mod:`status.build` and :mod:`status.phase`), events (:mod:`events`),
restartPolicy and back-off (:mod:`restart`); a driver reports back through the
:class:`driver.PodLifecycle` protocol this class implements.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.kubelet.binder import Binder
from podherd.localcluster.kubelet.driver import Driver
from podherd.localcluster.kubelet.events import EventRecorder
from podherd.localcluster.kubelet.logs import LogStore
from podherd.localcluster.kubelet.machine import this_machine
from podherd.localcluster.kubelet.node import Node
from podherd.localcluster.kubelet.registration import register
from podherd.localcluster.kubelet.runtime.process import ProcessDriver
from podherd.localcluster.kubelet.runtime.simulate import SimulateDriver
from podherd.localcluster.kubelet.runtime.streaming import ProcessStreams
from podherd.localcluster.kubelet.state import PodState, grace_or_default, int_or_none
from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.kubelet.status import phase as kp
from podherd.localcluster.kubelet.status.writer import StatusWriter
from podherd.localcluster.kubelet.streams import ContainerStreams, NoStreams
from podherd.localcluster.registry.deletion import DeleteOptions, Deleter
from podherd.localcluster.registry.store import Api
from podherd.localcluster.storage.store import Event

log = logging.getLogger(__name__)

SIMULATED_STREAMS = (
    "unable to upgrade connection: the podherd local kubelet runs in simulate mode, where containers are "
    "simulated and have no process to exec in or attach to (start the cluster with --mode process)"
)


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
        self.node = Node(api.store, node_name, api.clock)
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.kill_grace_cap = kill_grace_cap
        self.pods: dict[str, PodState] = {}
        self._subscribed = False
        self.recorder = EventRecorder(self.node, api, events if events is not None else mode == "process")
        self.writer = StatusWriter(self.node)
        self.binder = Binder(self.node, self.recorder)
        self.driver: Driver
        self.streams: ContainerStreams
        if mode == "process":
            self.driver = ProcessDriver(self.node, self.writer, self.recorder, logs, self, self.state_dir)
            self.streams = ProcessStreams(self.pods.get)
        else:
            self.driver = SimulateDriver(self.node, self.writer, self.recorder, self)
            self.streams = NoStreams(SIMULATED_STREAMS)

    @property
    def node_name(self) -> str:
        return self.node.name

    @property
    def stopped(self) -> bool:
        return self.node.stopped

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self.node.loop

    # ---- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the store and take the pods already stored that are ours and not terminal."""
        self.node.loop = asyncio.get_running_loop()
        self.node.stopped = False
        register(self.api, self.node_name, this_machine(self.state_dir), self.node.now(), self.mode)
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
        self.node.stopped = True
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

    # ---- helpers --------------------------------------------------------------------------------
    def cap_grace(self, grace: float) -> float:
        """Seconds between SIGTERM and SIGKILL: the pod's grace, shortened to `kill_grace_cap` if one is set."""
        grace = max(0.0, float(grace))
        if self.kill_grace_cap is not None:
            grace = min(grace, self.kill_grace_cap)
        return grace

    def _wants(self, pod: dict[str, Any]) -> bool:
        spec = pod.get("spec")
        if not isinstance(spec, dict):
            return False
        node = spec.get("nodeName") or ""
        if not node and spec.get("schedulingGates"):
            return False  # the scheduler does not bind a gated pod
        phase = (pod.get("status") or {}).get("phase")
        return node in ("", self.node_name) and phase not in kp.TERMINAL_PHASES

    # ---- store listener (synchronous, inside a write: never writes) -----------------------------
    def _on_event(self, ev: Event) -> None:
        if self.stopped:
            return
        if ev.resource == "nodes" and ev.key[1] == self.node_name:
            self._soon(self._retry_unschedulable)
        if ev.resource in ("configmaps", "secrets"):
            for ps in self.pods.values():
                if ps.namespace == ev.key[0] and ps.config_changed is not None:
                    ps.config_changed.set()  # a container waiting on CreateContainerConfigError tries again
        if ev.resource != "pods":
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
                grace = int_or_none(meta.get("deletionGracePeriodSeconds"))
                if not ps.delete_requested or grace != ps.delete_grace:
                    ps.delete_grace = grace
                    self._soon(self._on_delete_requested, ps)
            spec = ev.obj.get("spec")
            if isinstance(spec, dict) and spec is not ps.spec and spec != ps.spec:
                self._soon(self._spec_changed, ps, spec)
            ads = int_or_none((ev.obj.get("spec") or {}).get("activeDeadlineSeconds"))
            if ads != ps.active_deadline:
                ps.active_deadline = ads
                self._soon(self.arm_deadline, ps)
        except Exception:
            log.exception("kubelet: failed to handle a %s event for %r", ev.type, ev.key)

    def _soon(self, fn: Callable[..., None], *args: Any) -> None:
        assert self.node.loop is not None
        self.node.loop.call_soon(self.guarded, fn, *args)

    def guarded(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)`; an exception is logged and fails the pod its first argument names."""
        try:
            fn(*args)
        except Exception:
            log.exception("kubelet: %s failed", getattr(fn, "__name__", fn))
            if args and isinstance(args[0], PodState):
                self.fail_pod(args[0], "podherd local kubelet: internal error while handling this pod")

    def _claim(self, pod: dict[str, Any]) -> PodState:
        ps = PodState.from_pod(pod)
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
        pod = self.node.current(ps)
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
            ps.message = "podherd local kubelet restarted: the pod's containers were lost"
            self.tear_down(ps)
            return
        problem = ks.malformed_spec(spec)
        if problem:
            self.fail_pod(ps, f"podherd local kubelet cannot run this pod: {problem}", bind=bind)
            return
        if not self._fits(ps, pod, bind):
            return
        try:
            self.driver.prepare(ps, pod)
        except Exception as e:
            log.warning("kubelet: pod %s/%s rejected: %s", ps.namespace, ps.name, e)
            self.fail_pod(ps, f"podherd local kubelet cannot run this pod: {e}", bind=bind)
            return
        ps.start_time = self.node.now()
        ps.start_mono = time.monotonic()
        if not self.writer.write(ps, bind=bind):
            return
        if bind:
            self.recorder.emit(
                ps, "Scheduled", f"Successfully assigned {ps.namespace}/{ps.name} to {self.node_name}", scheduler=True
            )
        self.arm_deadline(ps)
        self.driver.start(ps)

    def _fits(self, ps: PodState, pod: dict[str, Any], bind: bool) -> bool:
        """The scheduler's filters for a pod to bind (one that does not fit stays Pending, retried when the node
        changes); the kubelet's admission for a pod created bound to this node (one that does not fit fails)."""
        if bind:
            ps.unschedulable = not self.binder.place(ps, pod)
            ps.admitted = not ps.unschedulable
            return not ps.unschedulable
        reason, message = self.binder.admit(pod)
        if reason:
            ps.reason = reason
            self.recorder.emit(ps, reason, message, type_="Warning")
            self.fail_pod(ps, f"Pod was rejected: {message}")
        return not reason

    def _spec_changed(self, ps: PodState, spec: dict[str, Any]) -> None:
        """An allowed spec update (a container's image): the driver restarts what changed."""
        if not ps.gone and not self.stopped:
            grace = self.cap_grace(grace_or_default(spec.get("terminationGracePeriodSeconds")))
            self.driver.spec_changed(ps, spec, grace)

    def _retry_unschedulable(self) -> None:
        for ps in list(self.pods.values()):
            if ps.unschedulable and not ps.gone:
                ps.unschedulable = False
                self._admit(ps)

    def fail_pod(self, ps: PodState, message: str, bind: bool = False) -> None:
        """Mark a pod the kubelet cannot handle Failed (never raises)."""
        try:
            ps.force_failed = ps.torn_down = True
            ps.reason = ps.reason or "UnexpectedAdmissionError"
            ps.message = message
            ps.terminating = True
            for c in [*ps.init, *ps.main]:
                if c.state == ks.RUNNING:
                    c.set_terminated(137, "Error", self.node.now())
            with contextlib.suppress(Exception):
                self.driver.forget(ps)
            try:
                self.writer.write(ps, bind=bind)
            except Exception:
                self.writer.write_bare_failure(ps, message, bind)
            if ps.delete_requested:
                self.remove(ps)
        except Exception:
            log.exception("kubelet: could not mark pod %s/%s failed", ps.namespace, ps.name)

    def tear_down(self, ps: PodState) -> None:
        """The containers are stopped for good: give them terminal states, write the terminal phase, finish a delete."""
        ks.terminate_pod(ps.init, ps.main)
        ps.torn_down = True
        self.writer.write(ps)
        if ps.delete_requested:
            self.remove(ps)

    # ---- deletion, deadline ---------------------------------------------------------------------
    def _on_delete_requested(self, ps: PodState) -> None:
        if ps.gone or self.stopped:
            return
        pod = self.node.current(ps)
        if pod is None:
            return
        ps.delete_requested = True
        if not ps.admitted:
            return  # _admit (queued) removes it
        if ps.terminal or not ps.ever_started:
            self.remove(ps)
            return
        self.driver.terminate(ps, self.cap_grace(grace_or_default(pod["metadata"].get("deletionGracePeriodSeconds"))))

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
        ps.cancel_deadline()
        loop = self.node.loop
        if ps.active_deadline is None or not ps.start_mono or ps.terminal or ps.gone or loop is None:
            return
        delay = max(0.0, ps.start_mono + ps.active_deadline - time.monotonic())
        ps.deadline_handle = loop.call_later(delay, self.guarded, self._deadline_exceeded, ps)

    def _deadline_exceeded(self, ps: PodState) -> None:
        ps.deadline_handle = None
        if ps.gone or ps.terminal or ps.terminating or self.stopped:
            return
        ps.reason = ks.DEADLINE_EXCEEDED
        ps.message = ks.DEADLINE_EXCEEDED_MESSAGE
        ps.force_failed = True
        self.recorder.emit(ps, ks.DEADLINE_EXCEEDED, ks.DEADLINE_EXCEEDED_MESSAGE)  # active_deadline.go: a Normal event
        self.driver.terminate(ps, self.cap_grace(grace_or_default(ps.spec.get("terminationGracePeriodSeconds"))))
