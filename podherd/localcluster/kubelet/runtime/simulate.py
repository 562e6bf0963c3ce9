"""Simulate mode of the local kubelet: no processes, timers only (for 10,000+ pods on 2 cores).

Annotations drive each pod:

* ``podherd.io/simulate-duration``: seconds the containers run (float, default 1);
* ``podherd.io/simulate-exit-code``: their exit code (default 0);
* ``podherd.io/simulate-waiting-reason``: keep the pod Pending with this waiting
  reason (e.g. ``ErrImagePull``), message from ``podherd.io/simulate-waiting-message``
  or a realistic default.

The status shapes are the process mode's (API.md §10) with the fewest writes:
binding + ``ContainerCreating`` in one write, Running in one, terminated in one.
Init containers complete instantly at the Running write. restartPolicy,
back-off, activeDeadlineSeconds and graceful delete behave as in process mode,
except that a delete terminates at once (exit 143 if the pod was running).
No per-pod task: one ``loop.call_later`` handle per pod at a time.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

from podherd.localcluster.kubelet.driver import PodLifecycle
from podherd.localcluster.kubelet.events import EventRecorder
from podherd.localcluster.kubelet.node import Node
from podherd.localcluster.kubelet.restart import backoff_delay, enter_back_off, should_restart
from podherd.localcluster.kubelet.state import PodState
from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.kubelet.status.writer import StatusWriter

DURATION = "podherd.io/simulate-duration"
EXIT_CODE = "podherd.io/simulate-exit-code"
WAITING_REASON = "podherd.io/simulate-waiting-reason"
WAITING_MESSAGE = "podherd.io/simulate-waiting-message"
SIGTERM_EXIT = 143

_ids = itertools.count(1)


@dataclass(slots=True)
class SimPlan:
    duration: float
    exit_code: int
    waiting_reason: str
    running: bool = False
    restarts: int = 0


def default_waiting_message(reason: str, image: str) -> str:
    if reason == "ErrImagePull":
        return (
            f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
            f'failed to resolve reference "{image}": {image}: not found'
        )
    if reason == "ImagePullBackOff":
        return f'Back-off pulling image "{image}"'
    if reason == ks.INVALID_IMAGE_NAME:
        return ks.invalid_image_message(image)
    return ""


def parse_plan(annotations: Any) -> SimPlan:
    """The pod's simulation parameters; ValueError names a bad annotation."""
    ann = annotations if isinstance(annotations, dict) else {}
    raw = ann.get(DURATION, "1")
    try:
        duration = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"annotation {DURATION}={raw!r} is not a number") from None
    if not duration >= 0 or duration == float("inf"):
        raise ValueError(f"annotation {DURATION}={raw!r} must be a finite number >= 0")
    raw = ann.get(EXIT_CODE, "0")
    try:
        exit_code = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"annotation {EXIT_CODE}={raw!r} is not an integer") from None
    if not 0 <= exit_code <= 255:
        raise ValueError(f"annotation {EXIT_CODE}={raw!r} must be within 0..255")
    reason = ann.get(WAITING_REASON) or ""
    return SimPlan(duration, exit_code, reason if isinstance(reason, str) else str(reason))


def _container_id() -> str:
    # Unique and cheap (no entropy needed for a simulation): 64 hex digits like containerd's ids.
    return f"containerd://{next(_ids):064x}"


def _cancel_timer(ps: PodState) -> None:
    if ps.timer is not None:
        ps.timer.cancel()
        ps.timer = None


class SimulateDriver:
    """Drives every pod with one timer at a time; counts the containers in a simulated run."""

    def __init__(self, node: Node, writer: StatusWriter, recorder: EventRecorder, lifecycle: PodLifecycle) -> None:
        self.node = node
        self.writer = writer
        self.recorder = recorder
        self.lifecycle = lifecycle
        self.running = 0  # containers in a simulated run

    def on_start(self) -> None:
        pass

    def prepare(self, ps: PodState, pod: dict[str, Any]) -> None:
        meta = pod.get("metadata") or {}
        plan = parse_plan(meta.get("annotations"))
        ps.sim = plan
        if plan.waiting_reason:
            msg = (meta.get("annotations") or {}).get(WAITING_MESSAGE)
            first_stage = ps.init[:1] or ps.main
            for c in first_stage:
                c.set_waiting(plan.waiting_reason, msg or default_waiting_message(plan.waiting_reason, c.image))

    def start(self, ps: PodState) -> None:
        if ps.sim.waiting_reason:
            return  # stays Pending
        loop = asyncio.get_running_loop()
        ps.timer = loop.call_soon(self.lifecycle.guarded, self._run, ps)

    def running_count(self) -> int:
        return self.running

    def _set_running(self, ps: PodState, running: bool) -> None:
        if ps.sim.running != running:
            ps.sim.running = running
            self.running += len(ps.main) if running else -len(ps.main)

    def _run(self, ps: PodState) -> None:
        ps.timer = None
        if ps.gone or ps.terminating or self.node.stopped:
            return
        now = self.node.now()
        if not ps.ever_started:
            for c in ps.init:
                c.set_running(now, _container_id())
                c.set_terminated(0, "Completed", now)
        for c in ps.main:
            c.set_running(now, _container_id())
        ps.sandbox_up()
        ps.ever_started = True
        self._set_running(ps, True)
        self.writer.write(ps)
        if self.recorder.enabled:
            for c in ps.main:
                self.recorder.pulled(ps, c)
                self.recorder.created(ps, c)
                self.recorder.started(ps, c)
        loop = asyncio.get_running_loop()
        ps.timer = loop.call_later(ps.sim.duration, self.lifecycle.guarded, self._exit, ps)

    def _exit(self, ps: PodState) -> None:
        ps.timer = None
        if ps.gone or ps.terminating or self.node.stopped:
            return
        now = self.node.now()
        code = ps.sim.exit_code
        for c in ps.main:
            c.set_terminated(code, ks.exit_reason(code), now)
        self._set_running(ps, False)
        if should_restart(ps.restart_policy, code, init=False):
            delay = backoff_delay(ps.sim.restarts)
            ps.sim.restarts += 1
            for c in ps.main:
                enter_back_off(self.recorder, ps, c, delay)
            self.writer.write(ps)
            loop = asyncio.get_running_loop()
            ps.timer = loop.call_later(delay, self.lifecycle.guarded, self._run, ps)
            return
        self.writer.write(ps)
        if ps.delete_requested:
            self.lifecycle.remove(ps)

    def terminate(self, ps: PodState, grace: float) -> None:
        """Stop at once: running containers exit 143 (SIGTERM honoured), then the terminal write (and removal)."""
        if ps.terminating:
            return
        ps.terminating = True
        _cancel_timer(ps)
        if ps.sim is not None and ps.sim.running:
            now = self.node.now()
            for c in ps.main:
                if c.state == ks.RUNNING:
                    self.recorder.killing(ps, c.name, c)
                    c.set_terminated(SIGTERM_EXIT, "Error", now)
            self._set_running(ps, False)
        self.lifecycle.tear_down(ps)

    def spec_changed(self, ps: PodState, spec: dict[str, Any], grace: float) -> None:
        """A new image is recorded; a simulated container is not restarted for it (no process to replace)."""
        ps.spec = spec

    def forget(self, ps: PodState) -> None:
        _cancel_timer(ps)
        if ps.sim is not None:
            self._set_running(ps, False)

    async def stop(self) -> None:
        self.running = 0
