"""The contract between the kubelet core and a run mode (process or simulate), in both directions.

A `Driver` runs containers; the core tells it when to prepare, start, terminate or forget a pod. A
driver reports back only through `PodLifecycle`, the three decisions the core keeps (a pod's
containers stopped for good, a pod that must fail, a pod to remove) and a guard for timer callbacks.
Drivers write status through the status writer and events through the recorder they are given, so
none of them needs the kubelet object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from podherd.localcluster.kubelet.state import PodState


class PodLifecycle(Protocol):
    """What the kubelet core decides when a driver reports on a pod (implemented by `core.Kubelet`)."""

    def tear_down(self, ps: PodState) -> None:
        """The containers are stopped for good: terminal states, terminal phase, finish a pending delete."""

    def fail_pod(self, ps: PodState, message: str) -> None:
        """The pod cannot go on: mark it Failed with `message` (never raises)."""

    def remove(self, ps: PodState) -> None:
        """The final DELETE (grace 0, uid precondition) of a terminal pod whose deletion was requested."""

    def guarded(self, fn: Callable[..., None], *args: Any) -> None:
        """Run a timer callback; an exception fails the pod (the first argument) instead of escaping."""


class Driver(Protocol):
    """What a run mode provides (`runtime.process.ProcessDriver`, `runtime.simulate.SimulateDriver`)."""

    def on_start(self) -> None: ...
    def prepare(self, ps: PodState, pod: dict[str, Any]) -> None: ...
    def start(self, ps: PodState) -> None: ...
    def terminate(self, ps: PodState, grace: float) -> None: ...
    def forget(self, ps: PodState) -> None: ...
    def spec_changed(self, ps: PodState, spec: dict[str, Any], grace: float) -> None: ...
    def running_count(self) -> int: ...
    async def stop(self) -> None: ...
