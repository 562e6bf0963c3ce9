"""Removing finished pods, off the loop thread: delete (uid precondition) or label done, with retries.

Cleanup runs only after the attempt's result is committed (DESIGN §4.4), so a
failed cleanup never loses a result: it is retried with backoff, and whatever
still fails is caught later by the done-pod and orphan sweeps.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from kubernetes.client.exceptions import ApiException

from podherd.core.executor.attempts import CleanupAction, done_patch
from podherd.core.kube.classify import backoff_delay, classify_exception
from podherd.core.kube.errors import Conflict, Invalid, NotFound
from podherd.core.labels import LabelScheme
from podherd.core.ports import PodAPI
from podherd.core.stats import Tally
from podherd.timefmt import rfc3339

log = logging.getLogger("podherd.cleanup")


@dataclass(frozen=True)
class CleanupJob:
    namespace: str
    name: str
    uid: str | None
    action: CleanupAction
    grace_seconds: int | None = None


@dataclass(frozen=True)
class CleanupStats:
    deleted: int = 0
    labelled: int = 0
    gone: int = 0  # 404 / uid mismatch: someone else removed it
    lost_race: int = 0  # 422 on the conditional done label: no longer ours
    retries: int = 0
    gave_up: int = 0  # jobs whose tries ran out; the owner's leftover sweep retries the pod


class Cleaner:
    """Runs cleanup jobs on a small thread pool; retries transient failures a few times."""

    def __init__(self, pods: PodAPI, scheme: LabelScheme, owner_id: str, workers: int = 4, tries: int = 5) -> None:
        self.pods = pods
        self.scheme = scheme
        self.owner_id = owner_id
        self.tries = tries
        self._tally = Tally(CleanupStats)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="podherd-cleanup")
        self._pending: set[Future[None]] = set()
        self._uids: dict[str, int] = {}  # uid -> cleanup jobs in flight
        self._lock = threading.Lock()

    def submit(self, job: CleanupJob) -> None:
        uid = job.uid or ""
        with self._lock:
            self._uids[uid] = self._uids.get(uid, 0) + 1
        fut = self._pool.submit(self._run, job)
        self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)
        fut.add_done_callback(lambda _f: self._done(uid))

    def _done(self, uid: str) -> None:
        with self._lock:
            left = self._uids.get(uid, 0) - 1
            if left > 0:
                self._uids[uid] = left
            else:
                self._uids.pop(uid, None)

    @property
    def stats(self) -> CleanupStats:
        return self._tally.snapshot()

    def working_on(self, uid: str) -> bool:
        return uid in self._uids

    def busy(self) -> int:
        return len(self._pending)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def _run(self, job: CleanupJob) -> None:
        for attempt in range(self.tries):
            try:
                self._once(job)
                return
            except (NotFound, Conflict):  # someone else removed it (or a newer pod has the name)
                self._tally.add("gone")
                return
            except Invalid:  # the done label's `test` failed: no longer ours
                self._tally.add("lost_race")
                return
            except ApiException as e:
                err = classify_exception(e)
                if not err.transient:
                    log.warning("cleanup of %s/%s failed: %s", job.namespace, job.name, err.message)
                    return
                self._tally.add("retries")
                time.sleep(max(err.retry_after or 0.0, backoff_delay(attempt, base=0.2, cap=5.0)))
            except Exception as e:
                self._tally.add("retries")
                log.info("cleanup of %s/%s interrupted (%s); retrying", job.namespace, job.name, type(e).__name__)
                time.sleep(backoff_delay(attempt, base=0.2, cap=5.0))
        self._tally.add("gave_up")
        log.warning(
            "cleanup of %s/%s gave up after %d tries; the leftover sweep will retry",
            job.namespace,
            job.name,
            self.tries,
        )

    def _once(self, job: CleanupJob) -> None:
        if job.action == CleanupAction.DELETE:
            self.pods.delete_pod(job.namespace, job.name, job.uid, job.grace_seconds)
            self._tally.add("deleted")
        else:
            self.pods.json_patch_pod(job.namespace, job.name, done_patch(self.scheme, self.owner_id, rfc3339()))
            self._tally.add("labelled")
