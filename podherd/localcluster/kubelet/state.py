"""What the local kubelet remembers per pod: one `PodState` record, keyed by uid.

Keyed by uid because a pod may be deleted and recreated under the same name. The record is shared
by the core (`core`), the status writer (`status.writer`), the event recorder (`events`) and the two
drivers (`runtime.process`, `runtime.simulate`), so its fields are the one record of a pod's lifecycle.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.storage.store import Key

HOST_IP = "127.0.0.1"
POD_IP = "127.0.0.1"
DEFAULT_GRACE = 30  # seconds, when neither the delete nor the spec names a grace period


def int_or_none(v: Any) -> int | None:
    """An integer field of the stored object (bool is not one), else None."""
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def grace_or_default(v: Any) -> int:
    """A grace period field, or the API's default of 30 seconds."""
    grace = int_or_none(v)
    return grace if grace is not None else DEFAULT_GRACE


def container_records(spec: dict[str, Any], field_name: str, init: bool, has_init: bool) -> list[ks.Container]:
    """One fresh record per container of `spec[field_name]`, waiting as the real kubelet shows a new pod."""
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
    unschedulable: bool = False  # the scheduler could not place it: Pending until the node changes
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
    launches: dict[str, Any] = field(default_factory=dict)  # process: each running instance's Launch (exec reuses it)
    attached: dict[str, set[Any]] = field(default_factory=dict)  # process: per container, the attached clients' queues
    execs: set[int] = field(default_factory=set)
    respawn: set[str] = field(
        default_factory=set
    )  # process: containers stopped to start again from a new spec  # process: pids of exec sessions, killed with the pod
    wake: asyncio.Event | None = None
    config_changed: asyncio.Event | None = None  # set when a ConfigMap/Secret of the namespace changes
    backoff_steps: dict[str, int] = field(default_factory=dict)
    sim: Any = None  # simulate mode's per-pod parameters
    events: dict[tuple[str, str, str, str], Key] = field(default_factory=dict)

    @classmethod
    def from_pod(cls, pod: dict[str, Any]) -> PodState:
        """The records of a pod the kubelet has just claimed (its containers not created yet)."""
        meta = pod["metadata"]
        spec = pod.get("spec") or {}
        has_init = bool(spec.get("initContainers"))
        ps = cls(
            uid=meta["uid"],
            key=(meta.get("namespace") or "", meta["name"]),
            spec=spec,
            init=container_records(spec, "initContainers", True, has_init),
            main=container_records(spec, "containers", False, has_init),
            restart_policy=spec.get("restartPolicy") or "Always",
            active_deadline=int_or_none(spec.get("activeDeadlineSeconds")),
        )
        if meta.get("deletionTimestamp"):
            ps.delete_requested = True
            ps.delete_grace = int_or_none(meta.get("deletionGracePeriodSeconds"))
        return ps

    @property
    def namespace(self) -> str:
        return self.key[0]

    @property
    def name(self) -> str:
        return self.key[1]

    def container(self, name: str) -> ks.Container | None:
        """The record of the (init or regular) container called `name`."""
        return next((x for x in [*self.init, *self.main] if x.name == name), None)

    def sandbox_up(self) -> None:
        """The pod's sandbox exists: it has its IP and PodReadyToStartContainers turns True."""
        self.sandbox_ready = True
        self.pod_ip = POD_IP

    def cancel_deadline(self) -> None:
        if self.deadline_handle is not None:
            self.deadline_handle.cancel()
            self.deadline_handle = None

    def cancel_timers(self) -> None:
        for h in (self.deadline_handle, self.timer, self.kill_handle):
            if h is not None:
                h.cancel()
        self.deadline_handle = self.timer = self.kill_handle = None
