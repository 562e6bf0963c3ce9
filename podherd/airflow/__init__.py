"""podherd for Apache Airflow: `[core] executor = podherd.airflow.PodherdExecutor`, a drop-in for the KubernetesExecutor.

The second front-end on podherd's core (DESIGN §2.1): Airflow owns the task queue, the scheduler
loop and the metadata DB; the core owns everything between "this task instance should run" and
"its pod is gone". The modules, pure ones first:

- `keys`: attempt keys, deterministic pod names, the provider's labels and annotations;
- `manifests`: a workload -> a `Launch` (template <- generated pod <- pod_override);
- `workloads`: Airflow's `ExecuteTask` -> a `TaskRun`;
- `options`: `[kubernetes_executor]`, `[scheduler]` and `[podherd]` -> the core's settings;
- `store`: `TaskStore` + `ResultGate` over the event buffer; `alive`: `AliveSource` over the job table;
- `db`: Airflow's `job` and `task_instance` tables; `wiring`, `runtime`: the parts put together;
- `executor`: `PodherdExecutor` (BaseExecutor); `adoption`, `tasklog`: two of its methods;
- `provider`, `cli`: the provider entry point (`[podherd]` options, `airflow podherd ...`).

Importing this package does not import Airflow: `PodherdExecutor` is loaded on first access, so
the pure modules are tested without Airflow installed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PodherdExecutor"]


def __getattr__(name: str) -> Any:
    if name == "PodherdExecutor":
        from podherd.airflow.executor import PodherdExecutor

        return PodherdExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
