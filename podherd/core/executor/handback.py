"""Giving tries back on a stop: a try whose pod surely does not exist goes back to the queue uncounted.

With `delete_launched` (`podherd run`, which has no survivors to take over) a launched pod is
deleted first (uid precondition) and its try handed back too. Anything that cannot be settled now
(an API or store error, a pod in doubt) is left for a survivor's takeover.

`revoke_pod` is the other way to let go of an attempt: its front-end's scheduler gave up on it
(Airflow's `revoke_task`, for a task stuck in queued, which the scheduler then requeues).
"""

from __future__ import annotations

from collections.abc import Iterable

from podherd.core.executor.attempts import Attempt, CleanupAction
from podherd.core.executor.cleanup import Cleaner, CleanupJob
from podherd.core.kube.errors import NotFound
from podherd.core.ports import PodAPI, TaskStore


def hand_back(attempts: Iterable[Attempt], pods: PodAPI, store: TaskStore, delete_launched: bool) -> list[Attempt]:
    """The attempts whose tries went back to the queue; the rest stay for takeover."""
    return [att for att in attempts if _hand_back_one(att, pods, store, delete_launched)]


def _hand_back_one(att: Attempt, pods: PodAPI, store: TaskStore, delete_launched: bool) -> bool:
    if not att.never_created():
        if not delete_launched or not att.uid:
            return False
        try:
            pods.delete_pod(*att.key, att.uid, grace_seconds=0)
        except NotFound:
            pass
        except Exception:
            return False
    try:
        return store.release(att.ref)
    except Exception:
        return False


def revoke_pod(att: Attempt, cleaner: Cleaner) -> None:
    """Delete a revoked attempt's pod, if one may exist (uid precondition; nothing is recorded)."""
    if not att.never_created() or att.creating:
        cleaner.submit(CleanupJob(*att.key, att.uid, CleanupAction.DELETE, 0))
