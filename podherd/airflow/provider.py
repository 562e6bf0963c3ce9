"""podherd as an Airflow provider: its `[podherd]` options (defaults, documentation) and its CLI commands.

Registered through the `apache_airflow_provider` entry point (pyproject.toml), which is how
Airflow finds a distribution's config section (`airflow config list`, defaults for
`conf.get("podherd", ...)`) and CLI commands (`airflow podherd ...`): an executor no provider
lists gets no CLI commands (airflow/cli/cli_parser.py). The `[kubernetes_executor]` options
podherd reads are the cncf-kubernetes provider's own, documented there.
"""

from __future__ import annotations

from typing import Any

from podherd import __version__
from podherd.airflow.options import PODHERD_DEFAULTS

OPTIONS: dict[str, tuple[str, str, str]] = {  # name -> (type, description, example)
    "liveness": (
        "string",
        "Where podherd learns which schedulers are alive: ``db`` (Airflow's job table: a running SchedulerJob "
        "with a heartbeat newer than [scheduler] scheduler_health_check_threshold), ``lease`` (one "
        "coordination.k8s.io Lease per scheduler, renewed from its own thread) or ``both``: alive if either "
        "says so, so a pod is only ever claimed from a scheduler both call dead. When neither can answer, "
        "sweeps are skipped, never widened.",
        "both",
    ),
    "lease_namespace": (
        "string",
        "Namespace of the schedulers' Leases; empty: [kubernetes_executor] namespace.",
        "airflow",
    ),
    "done_pod_retention": (
        "float",
        "Seconds a kept pod lives once its result is recorded (failed pods when "
        "delete_worker_pods_on_failure is False, every pod when delete_worker_pods is False). Kept pods "
        "carry airflow_executor_done=True; podherd deletes them after this, including those of dead "
        "schedulers. 0 deletes them at the next sweep.",
        "3600",
    ),
    "kube_client_qps": (
        "float",
        "Client-side request rate to the Kubernetes API of one scheduler (token bucket, as client-go's QPS).",
        "100",
    ),
    "kube_client_burst": ("integer", "Requests above kube_client_qps allowed in a burst.", "200"),
    "adoption_policy": (
        "string",
        "How completed pods of other schedulers are claimed: ``podherd`` (only dead schedulers' pods, "
        "each claim a compare-and-swap, a dead scheduler's work taken over as soon as it is seen dead), "
        "``alive-scoped`` (the provider's #66400: dead schedulers only, blind relabel) or ``exclude-self`` "
        "(the provider 10.15-10.17 thrash). The last two exist to measure the provider's behaviours.",
        "podherd",
    ),
}


def config_section() -> dict[str, Any]:
    return {
        "description": (
            "podherd.airflow.PodherdExecutor, a drop-in for the KubernetesExecutor. It also reads the "
            "[kubernetes_executor] options (namespace, pod_template_file, delete_worker_pods, ...) and the "
            "[scheduler] timings; these are its own."
        ),
        "options": {
            name: {
                "description": description,
                "version_added": "0.1.0",
                "type": kind,
                "example": example,
                "default": PODHERD_DEFAULTS[name],
            }
            for name, (kind, description, example) in OPTIONS.items()
        },
    }


def get_provider_info() -> dict[str, Any]:
    """The provider info Airflow validates against airflow/provider_info.schema.json."""
    return {
        "package-name": "podherd",
        "name": "podherd",
        "description": "Run Airflow tasks as Kubernetes pods from several schedulers: no thrash, no leaks, no lost results.",
        "versions": [__version__],
        "executors": ["podherd.airflow.PodherdExecutor"],
        "cli": ["podherd.airflow.cli.get_cli_commands"],
        "config": {"podherd": config_section()},
    }
