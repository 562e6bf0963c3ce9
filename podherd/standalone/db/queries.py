"""The queries the scheduler needs, in one import (they live in topic modules).

Every function takes an Engine and runs in its own short transaction.
"""

from podherd.standalone.db.jobs import (
    SCHEDULER_JOB,
    JobEndedError,
    alive_sibling_ids,
    dead_job_ids_with_work,
    end_job,
    heartbeat,
    list_jobs,
    register_job,
)
from podherd.standalone.db.reports import (
    count_states_of,
    count_tasks_by_state,
    list_tasks,
    recent_tasks,
    task_namespaces,
)
from podherd.standalone.db.results import (
    UNCHANGED,
    decide_missing_pod,
    record_attempt_launched,
    record_attempt_state,
    record_result,
    release_attempt,
)
from podherd.standalone.db.rows import AttemptRow, ClaimedTask, JobRow, TaskRow
from podherd.standalone.db.tasks import PodNameFn, claim_queued_tasks, insert_tasks, take_over_tasks
from podherd.standalone.db.tx import db_now

__all__ = [
    "SCHEDULER_JOB",
    "UNCHANGED",
    "AttemptRow",
    "ClaimedTask",
    "JobEndedError",
    "JobRow",
    "PodNameFn",
    "TaskRow",
    "alive_sibling_ids",
    "claim_queued_tasks",
    "count_states_of",
    "count_tasks_by_state",
    "db_now",
    "dead_job_ids_with_work",
    "decide_missing_pod",
    "end_job",
    "heartbeat",
    "insert_tasks",
    "list_jobs",
    "list_tasks",
    "recent_tasks",
    "record_attempt_launched",
    "record_attempt_state",
    "record_result",
    "register_job",
    "release_attempt",
    "take_over_tasks",
    "task_namespaces",
]
