"""The executor's settings, whatever front-end read them (named after Airflow's options, DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass

from podherd.core.podstatus import FATAL_WAITING_REASONS_DEFAULT


@dataclass(frozen=True)
class ExecutorSettings:
    namespace: str = "default"  # where the watch starts; each attempt names its own namespace
    delete_worker_pods: bool = True  # False: label done and keep (retention deletes them later)
    delete_worker_pods_on_failure: bool = False
    worker_pods_creation_batch_size: int = 16  # concurrent creates, and creates started per loop
    task_publish_max_retries: int = 3  # transient create errors retried with backoff
    fatal_reasons: frozenset[str] = FATAL_WAITING_REASONS_DEFAULT  # Pending reasons that fail a try
    leftover_period: float = 60.0  # the owner's own leftover sweep (leftovers.py)
