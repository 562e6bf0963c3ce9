"""One executor's completed-pod sweep, run by that executor's own Python (`<venv>/bin/python sweep_client.py ...`).

Standalone on purpose: the provider 10.17.0 venv has no podherd. Protocol on stdin/stdout, one line
each, this side's lines tagged `sweep-client:`: it prints `ready` once set up; then, for every `go`
it reads, it runs one sweep and prints `{"cpu_s", "wall_s", "claimed"}` as JSON; `quit` ends it.

    provider  `KubernetesExecutor._adopt_completed_pods(kube_client)` as the provider's `sync()` calls
              it: its selector (10.25.0: `notin (me, alive...)`; 10.17.0: `!= me`), a metadata-only
              list through a `DynamicClient`, one blind merge PATCH per pod listed. The executor is
              built from the airflow.cfg in $AIRFLOW_HOME and not started (no watcher, no Manager);
              10.25.0's alive query is answered with the alive set instead of the database.
    podherd   `Sweeper.sweep(alive)` of podherd's core with the Airflow label scheme, as
              `PodherdExecutor` runs it: the takeover query (a stub store: no dead scheduler has
              task instances), the completed-pod lists (Succeeded and Failed, metadata only), one
              compare-and-swap claim per pod of a dead scheduler, the retention list of kept pods.
              What happens after a claim (recording the result, deleting the pod) is not part of
              the sweep for either executor: the claimed pods are handed over and counted.

CPU is this process's (all threads), `time.process_time()` around the call.

    python sweep_client.py provider|podherd KUBECONFIG NAMESPACE ME ALIVE USER_AGENT
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

TAG = "sweep-client:"  # protocol lines start with it (Airflow may print to stdout too)


def provider_sweep(namespace: str, me: str, alive: set[int], agent: str) -> Any:
    from airflow.providers.cncf.kubernetes.executors.kubernetes_executor import KubernetesExecutor
    from airflow.providers.cncf.kubernetes.kube_client import get_kube_client

    ex = KubernetesExecutor()
    ex.scheduler_job_id = me
    ex.kube_client = get_kube_client()
    ex.kube_client.api_client.user_agent = agent
    if hasattr(ex, "_alive_other_scheduler_job_ids"):  # 10.17.1 and later (#66400)
        ex._alive_other_scheduler_job_ids = lambda: set(alive)

    def sweep() -> int:
        ex.completed.clear()  # what sync() would hand to _change_state next
        ex._adopt_completed_pods(ex.kube_client)
        return len(ex.completed)

    return sweep


class _Store:
    def dead_owners_with_work(self) -> set[int]:
        return set()


class _Executor:
    def __init__(self) -> None:
        self.finished = 0

    def finish_pod(self, pod: Any, namespace: str) -> None:
        self.finished += 1

    def launch(self, *args: Any, **kwargs: Any) -> None:
        pass


def podherd_sweep(kubeconfig: str, namespace: str, me: str, alive: set[int], agent: str) -> Any:
    from podherd.airflow.keys import SCHEME
    from podherd.core.ha.sweeper import Sweeper, SweepSettings
    from podherd.core.kube.client import KubeClient, KubeSettings

    # The executor's client-side rate limit: [podherd] kube_client_qps and kube_client_burst defaults.
    kube = KubeClient.from_settings(KubeSettings(kubeconfig=kubeconfig, qps=200, burst=400), agent)
    executor = _Executor()
    sweeper = Sweeper(
        kube,
        _Store(),  # type: ignore[arg-type]
        executor,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]  # liveness: the alive set is given
        None,  # type: ignore[arg-type]  # cleaner: the retention sweep finds nothing to delete
        kube.health,
        SCHEME,
        int(me),
        SweepSettings(),
        namespaces=lambda: [namespace],
    )

    def sweep() -> int:
        before = executor.finished
        sweeper.sweep(set(alive))
        return executor.finished - before

    return sweep


def main(argv: list[str]) -> int:
    mode, kubeconfig, namespace, me, alive_csv, agent = argv
    alive = {int(a) for a in alive_csv.split(",") if a}
    if mode == "provider":
        sweep = provider_sweep(namespace, me, alive, agent)
    else:
        sweep = podherd_sweep(kubeconfig, namespace, me, alive, agent)
    print(f"{TAG} ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        cpu, wall = time.process_time(), time.perf_counter()
        claimed = sweep()
        out = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall, "claimed": claimed}
        print(f"{TAG} {json.dumps(out)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
