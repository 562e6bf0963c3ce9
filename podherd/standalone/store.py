"""The core's `TaskStore` port over podherd's database: every call one short conditional transaction.

An attempt's key is its task id as text (`launches.attempt_ref`); a key that is not a decimal id
is not one of ours, and recording it changes nothing. Failure details carry the outcome, plus
the failing container's last log lines when the executor read them.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from podherd.core.podstatus import FAILED, SUCCESS, Outcome
from podherd.core.ports import AttemptRef, Launch, MissingPod
from podherd.standalone.db import queries
from podherd.standalone.db.models import AttemptState
from podherd.standalone.db.rows import ClaimedTask
from podherd.standalone.launches import task_id_of


class DbTaskStore:
    def __init__(
        self, engine: Engine, owner_id: int, threshold: float, launch_of: Callable[[ClaimedTask], Launch]
    ) -> None:
        """`threshold`: seconds without a heartbeat after which an owner is dead; `launch_of`: a task → its `Launch`."""
        self.engine = engine
        self.owner_id = owner_id
        self.threshold = threshold
        self.launch_of = launch_of

    def record_launched(self, ref: AttemptRef, uid: str) -> bool:
        task_id = task_id_of(ref)
        return task_id is not None and queries.record_attempt_launched(self.engine, task_id, ref.try_number, uid)

    def record_running(self, ref: AttemptRef) -> bool:
        task_id = task_id_of(ref)
        return task_id is not None and queries.record_attempt_state(
            self.engine, task_id, ref.try_number, AttemptState.RUNNING
        )

    def record(self, ref: AttemptRef, outcome: Outcome, log_tail: str = "") -> str:
        task_id = task_id_of(ref)
        if task_id is None:
            return queries.UNCHANGED
        state = SUCCESS if outcome.state == SUCCESS else FAILED
        details = None if state == SUCCESS else outcome.to_details()
        if details is not None and log_tail:
            details["log_tail"] = log_tail
        return queries.record_result(
            self.engine, task_id, ref.try_number, state, outcome.exit_code, details, self.owner_id
        )

    def release(self, ref: AttemptRef) -> bool:
        task_id = task_id_of(ref)
        return task_id is not None and queries.release_attempt(self.engine, task_id, ref.try_number, self.owner_id)

    def decide_missing_pod(self, ref: AttemptRef) -> MissingPod:
        task_id = task_id_of(ref)
        if task_id is None:
            return MissingPod.SETTLED
        return queries.decide_missing_pod(self.engine, task_id, ref.try_number, self.owner_id)

    def dead_owners_with_work(self) -> set[int]:
        return queries.dead_job_ids_with_work(self.engine, queries.SCHEDULER_JOB, self.threshold)

    def take_over(self, dead_owner: int) -> list[Launch]:
        return [self.launch_of(task) for task in queries.take_over_tasks(self.engine, dead_owner, self.owner_id)]
