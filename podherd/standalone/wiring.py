"""The standalone configuration turned into the core's settings: one place that reads `Config` for the core.

The core never imports `podherd.config` (an Airflow front-end reads Airflow's options instead);
each core component takes a small frozen settings object, built here.
"""

from __future__ import annotations

from podherd.config import Config
from podherd.core.executor.settings import ExecutorSettings
from podherd.core.ha.planner import Policy
from podherd.core.ha.sweeper import SweepSettings

LEFTOVER_PERIOD_MAX = 60.0  # the owner's leftover sweep runs at least every minute


def executor_settings(config: Config) -> ExecutorSettings:
    k = config.kubernetes_executor
    return ExecutorSettings(
        namespace=k.namespace,
        delete_worker_pods=k.delete_worker_pods,
        delete_worker_pods_on_failure=k.delete_worker_pods_on_failure,
        worker_pods_creation_batch_size=k.worker_pods_creation_batch_size,
        task_publish_max_retries=k.task_publish_max_retries,
        fatal_reasons=frozenset(k.worker_pod_pending_fatal_container_state_reasons),
        leftover_period=min(config.scheduler.orphaned_tasks_check_interval, LEFTOVER_PERIOD_MAX),
    )


def sweep_settings(config: Config) -> SweepSettings:
    s = config.scheduler
    return SweepSettings(
        policy=Policy(s.adoption_policy),
        check_period=s.scheduler_heartbeat_sec / 2,  # lease observation + tick lag <= 1 heartbeat
        sweep_interval=s.orphaned_tasks_check_interval,
        retention=config.kubernetes_executor.done_pod_retention,
    )


def own_retention_period(config: Config) -> float:
    """How often the owner's own done pods are checked for expiry: a quarter of the retention, 1 s at least."""
    retention = config.kubernetes_executor.done_pod_retention
    return min(max(retention / 4, 1.0), config.scheduler.orphaned_tasks_check_interval)
