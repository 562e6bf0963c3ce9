"""The core's `TaskStore` port over podherd's database: short conditional transactions.

Each single method is one transaction; `apply` makes a loop's writes in one (the executor's batch).

An attempt's key is its task id as text (`launches.attempt_ref`); a key that is not a decimal id
is not one of ours, and recording it changes nothing. Failure details carry the outcome, plus
the failing container's last log lines when the executor read them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine

from podherd.core.podstatus import FAILED, SUCCESS, Outcome
from podherd.core.ports import AttemptRef, Launch, Launched, MissingPod, Release, Result, Running, StoreOp
from podherd.standalone.db import queries
from podherd.standalone.db.results import launched_on, release_on, result_on, running_on
from podherd.standalone.db.rows import ClaimedTask
from podherd.standalone.db.tx import write_tx
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
        return bool(self.apply([Launched(ref, uid)])[0])

    def record_running(self, ref: AttemptRef) -> bool:
        return bool(self.apply([Running(ref)])[0])

    def record(self, ref: AttemptRef, outcome: Outcome, log_tail: str = "") -> str:
        return str(self.apply([Result(ref, outcome, log_tail)])[0])

    def release(self, ref: AttemptRef) -> bool:
        return bool(self.apply([Release(ref)])[0])

    def apply(self, ops: Sequence[StoreOp]) -> list[object]:
        """The writes in order, in one transaction (task rows are locked before attempt rows, per write)."""
        with write_tx(self.engine) as conn:
            return [self._one(conn, op) for op in ops]

    def _one(self, conn: Connection, op: StoreOp) -> object:
        task_id = task_id_of(op.ref)
        if task_id is None:  # not one of ours: nothing to record
            return queries.UNCHANGED if isinstance(op, Result) else False
        n = op.ref.try_number
        if isinstance(op, Launched):
            return launched_on(conn, task_id, n, op.uid)
        if isinstance(op, Running):
            return running_on(conn, task_id, n)
        if isinstance(op, Release):
            return release_on(conn, task_id, n, self.owner_id)
        state = SUCCESS if op.outcome.state == SUCCESS else FAILED
        details = None if state == SUCCESS else op.outcome.to_details()
        if details is not None and op.log_tail:
            details["log_tail"] = op.log_tail
        return result_on(conn, task_id, n, state, op.outcome.exit_code, details, self.owner_id)

    def decide_missing_pod(self, ref: AttemptRef) -> MissingPod:
        task_id = task_id_of(ref)
        if task_id is None:
            return MissingPod.SETTLED
        return queries.decide_missing_pod(self.engine, task_id, ref.try_number, self.owner_id)

    def dead_owners_with_work(self) -> set[int]:
        return queries.dead_job_ids_with_work(self.engine, queries.SCHEDULER_JOB, self.threshold)

    def take_over(self, dead_owner: int) -> list[Launch]:
        return [self.launch_of(task) for task in queries.take_over_tasks(self.engine, dead_owner, self.owner_id)]
