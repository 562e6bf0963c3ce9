"""`PodherdExecutor`: Airflow 3.3's BaseExecutor contract, with podherd's core doing the Kubernetes work.

    [core]
    executor = podherd.airflow.PodherdExecutor

Airflow owns the queue, the scheduler loop and the metadata DB; podherd owns everything between
"this task instance should run" and "its pod is gone" (DESIGN §2.1). What each method does:

- `start`: read the options (options.py), build the runtime (runtime.py): client, core executor,
  watch, liveness (job table + Lease), sweeper. `job_id` is known only here; the API server
  constructs executors without starting them (for `get_task_log`), so `__init__` starts nothing.
- `_process_workloads`: each `ExecuteTask` becomes a `Launch` (workloads.py, manifests.py) with a
  deterministic pod name; the core creates the pods, 409 meaning "already launched". While the
  Kubernetes API refuses us or a watch has not synced, workloads stay queued (no try is burnt).
- `sync`: one step of the runtime. Results go to the event buffer (`success`/`fail`); pods are
  removed only once the scheduler has committed them (store.py).
- `try_adopt_task_instances`: the dead scheduler's pods are claimed with a compare-and-swap.
- `revoke_task`: forget the try and delete its pod; no event, no state change, never raises.
- `get_task_log`: a running task's log, read from its pod (tasklog.py).
- `end`/`terminate`: stop; running pods are left for the survivors' takeover.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.executors.base_executor import BaseExecutor
from airflow.executors.workloads import ExecuteTask
from airflow.models.taskinstancekey import TaskInstanceKey
from airflow.utils.net import get_hostname
from airflow.utils.state import TaskInstanceState

from podherd.airflow.keys import TIKey
from podherd.airflow.options import read_options
from podherd.airflow.workloads import task_key, task_run


def _airflow_key(key: TIKey) -> TaskInstanceKey:
    return TaskInstanceKey(*key.airflow_key())


class PodherdExecutor(BaseExecutor):
    """Runs each task instance try as one Kubernetes pod, from any number of schedulers at once."""

    supports_ad_hoc_ti_run = True
    pre_assigns_external_executor_id = True  # the queue id in every pod name (keys.py)
    serve_logs = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runtime: Any = None  # runtime.Runtime, built in start()
        self.workloads: dict[TIKey, ExecuteTask] = {}  # launched, not finished: for a hand back
        self.current: dict[TaskInstanceKey, TIKey] = {}  # the queueing each running key stands for
        self._not_ready = ""
        self._last_error = ""
        self._log_reader: Any = None

    def _get(self, section: str, key: str, fallback: str) -> str:
        return str(self.conf.get(section, key, fallback=fallback))

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        from podherd.airflow.wiring import build_runtime

        if self.job_id is None:
            raise RuntimeError("PodherdExecutor needs the scheduler's job id (set before start())")
        self.runtime = build_runtime(self, read_options(self._get), int(self.job_id), get_hostname())
        self.runtime.start()

    def end(self) -> None:
        """Stop synchronously. Running pods stay: survivors take them over (their results are not lost)."""
        if self.runtime is not None:
            self.sync()
            self.runtime.stop()
            self.runtime = None

    def terminate(self) -> None:
        """SIGTERM: `end()` follows from the scheduler's shutdown; nothing to do first."""

    # ---- work ---------------------------------------------------------------------------------
    def _process_workloads(self, workloads: Sequence[Any]) -> None:
        if self.runtime is None:
            return
        why = self.runtime.not_ready()
        if why:  # leave them queued: a pod the API would refuse must not burn a try
            if why != self._not_ready:
                self.log.warning("podherd: not launching pods now (%s); task instances stay queued", why)
            self._not_ready = why
            return
        self._not_ready = ""
        launches = []
        for workload in workloads:
            if not isinstance(workload, ExecuteTask):
                continue
            key = workload.ti.key
            self.queued_tasks.pop(key, None)
            self.running.add(key)
            try:
                launch = self.runtime.launch_of(task_run(workload))
            except Exception as e:  # the provider fails these at once too (bad config, template, hook)
                self.log.error("podherd: cannot build the pod of %s: %s", key, e)
                self.fail(key, f"podherd: cannot build the pod: {e}")
                continue
            self.workloads[task_key(workload.ti)] = workload
            self.current[key] = task_key(workload.ti)
            launches.append(launch)
        self.runtime.executor.launch(launches)

    def sync(self) -> None:
        if self.runtime is None:
            return
        try:
            self.runtime.step()
            self._last_error = ""
        except Exception as e:  # e.g. the database is down: log once per distinct error, keep going
            text = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
            if text != self._last_error:
                self.log.exception("podherd: sync failed (%s); retrying", text)
            self._last_error = text

    def revoke_task(self, *, ti: Any) -> None:
        """For a task stuck in queued: forget it and delete its pod. No event, no state change, never raises."""
        try:
            self.queued_tasks.pop(ti.key, None)
            self.running.discard(ti.key)
            key = task_key(ti)
            self.workloads.pop(key, None)
            self.current.pop(ti.key, None)
            if self.runtime is not None:
                self.runtime.revoke(key)
        except Exception:
            self.log.exception("podherd: revoking %s failed", getattr(ti, "key", ti))

    def try_adopt_task_instances(self, tis: Sequence[Any]) -> Sequence[Any]:
        from podherd.airflow.adoption import adopt

        if self.runtime is None:
            return tis
        return adopt(self, tis)

    def get_task_log(self, ti: Any, try_number: int) -> tuple[list[str], list[str]]:
        from podherd.airflow.tasklog import LogReader

        if self._log_reader is None:
            self._log_reader = LogReader(read_options(self._get), get_hostname())
        return self._log_reader.read(ti, try_number)  # type: ignore[no-any-return]

    @staticmethod
    def get_cli_commands() -> list[Any]:
        from podherd.airflow.cli import get_cli_commands

        return get_cli_commands()

    # ---- the store's EventSink (store.py) -----------------------------------------------------
    def finished(self, key: TIKey, success: bool, info: str | None) -> None:
        akey = _airflow_key(key)
        self.workloads.pop(key, None)
        current = self.current.get(akey)
        if current is not None and not current.same_attempt(key):
            return  # a newer queueing of this try runs under the same key: leave it be
        self.current.pop(akey, None)
        if info is None:
            self.running.discard(akey)
            return
        self.change_state(akey, TaskInstanceState.SUCCESS if success else TaskInstanceState.FAILED, info)

    def pending(self, key: TIKey) -> bool:
        return _airflow_key(key) in self.event_buffer

    def requeue(self, key: TIKey) -> bool:
        workload = self.workloads.pop(key, None)
        if workload is None:
            return False
        self.current.pop(workload.ti.key, None)
        self.running.discard(workload.ti.key)
        self.queued_tasks[workload.ti.key] = workload
        return True

    def adopted(self, key: TIKey) -> None:
        self.running.add(_airflow_key(key))
        self.current[_airflow_key(key)] = key
