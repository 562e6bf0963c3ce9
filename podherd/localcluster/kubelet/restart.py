"""restartPolicy and crash-loop back-off, the same in both kubelet modes.

Which exits restart a container follows the kubelet's rules (an init container
restarts on failure unless the policy is Never; a regular one per
Always/OnFailure). The back-off doubles from 1s to a 10s cap (a real kubelet
uses 10s..5m) and, in process mode, starts over for a container that ran for
``BACKOFF_RESET_AFTER`` seconds.
"""

from __future__ import annotations

from podherd.localcluster.kubelet.events import EventRecorder
from podherd.localcluster.kubelet.state import PodState
from podherd.localcluster.kubelet.status import build as ks

BACKOFF_INITIAL = 1.0
BACKOFF_CAP = 10.0
BACKOFF_RESET_AFTER = 60.0  # a container that ran this long restarts with the initial back-off again


def should_restart(policy: str, exit_code: int, init: bool) -> bool:
    """Does a container that exited with `exit_code` run again under restartPolicy `policy`?"""
    if init:
        return exit_code != 0 and policy != "Never"
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def backoff_delay(step: int) -> float:
    """Seconds to wait before restart number `step` (0-based)."""
    return min(BACKOFF_INITIAL * 2**step, BACKOFF_CAP)


def enter_back_off(recorder: EventRecorder, ps: PodState, c: ks.Container, delay: float) -> None:
    """The exited container waits `delay` seconds: CrashLoopBackOff, restartCount+1 and a BackOff event."""
    c.back_off(ks.CRASH_LOOP_BACK_OFF, ks.crash_loop_message(delay, c.name, ps.name, ps.namespace, ps.uid))
    recorder.emit(
        ps,
        "BackOff",
        f"Back-off restarting failed container {c.name} in pod {ps.name}_{ps.namespace}({ps.uid})",
        type_="Warning",
        container=c,
    )
