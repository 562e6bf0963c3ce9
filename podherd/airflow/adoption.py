"""`try_adopt_task_instances`: task instances of schedulers Airflow found dead, and their pods.

Airflow's scheduler calls it at start and every `orphaned_tasks_check_interval`, holding row locks
on the task instances it passes (so nothing here writes to them: the scheduler sets their
`queued_by_job_id` itself for those not returned). For each previous owner, its pods are listed
once (metadata only, like the provider), which also finds the provider's randomly named pods after
a switch-over; each task instance's pod is then claimed with the core sweeper's compare-and-swap
(`Sweeper.adopt`), or, if its owner still renews its Lease, once it stops (runtime.py).

Returned (reset by the scheduler, as the provider does): task instances with no owner, and those
whose workload cannot be rebuilt. A task instance whose pod is gone is the store's to decide (a
queued one is launched now under its deterministic name; a running one is lost).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("podherd.airflow")


def adopt(executor: Any, tis: Sequence[Any]) -> list[Any]:
    """Adopt what can be adopted; returns the task instances for the scheduler to reset."""
    from podherd.airflow.wiring import workload_maker

    runtime = executor.runtime
    make_run = workload_maker(executor)
    reset: list[Any] = []
    by_owner: dict[int, list[Any]] = defaultdict(list)
    for ti in tis:
        owner = ti.queued_by_job_id
        if owner is None:
            reset.append(ti)
            continue
        try:
            run = make_run(ti)  # a fresh workload, in case its pod was never created
        except Exception as e:
            log.error("adoption: cannot rebuild the workload of %s (%s); it is reset", ti.key, e)
            reset.append(ti)
            continue
        executor.running.add(ti.key)
        by_owner[int(owner)].append(run)
    for owner, runs in sorted(by_owner.items()):
        runtime.adopt(runs, owner)
        log.info("adoption: %d task instances of scheduler %s adopted", len(runs), owner)
    return reset
