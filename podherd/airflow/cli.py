"""`airflow podherd ...`: the executor's own CLI commands (the provider's `airflow kubernetes ...` work too).

- `airflow podherd status`: schedulers alive by the job table and by their Leases, and the
  executor's pods per owner and phase (done ones apart): what a takeover would act on.
- `airflow podherd generate-dag-yaml DAG_ID`: the pod podherd would create for each task of a DAG
  (template, generated pod, pod_override, mutation hook, enforced identity), without a cluster.
  The Task SDK argument is a placeholder: the real workload is made by the scheduler at queue time.

`airflow kubernetes cleanup-pods` works on podherd's pods as it does on the provider's (same
labels, restartPolicy Never); it deletes without podherd's checks, so keep its
`--min-completed-minutes` above a scheduler loop or two.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any


def get_cli_commands() -> list[Any]:
    from airflow.cli.cli_config import ARG_DAG_ID, ARG_OUTPUT_PATH, ActionCommand, GroupCommand, lazy_load_command

    return [
        GroupCommand(
            name="podherd",
            help="podherd's executor: scheduler liveness, pods, pod specs",
            subcommands=(
                ActionCommand(
                    name="status",
                    help="Schedulers alive (job table, Leases) and the executor's pods per scheduler",
                    func=lazy_load_command("podherd.airflow.cli.status"),
                    args=(),
                ),
                ActionCommand(
                    name="generate-dag-yaml",
                    help="Write the pod podherd would create for each task of a DAG (no cluster needed)",
                    func=lazy_load_command("podherd.airflow.cli.generate_dag_yaml"),
                    args=(ARG_DAG_ID, ARG_OUTPUT_PATH),
                ),
            ),
        )
    ]


def _options() -> Any:
    from airflow.configuration import conf

    from podherd.airflow.options import read_options

    return read_options(lambda section, key, fallback: str(conf.get(section, key, fallback=fallback)))


def _with_providers_config(func: Any, args: argparse.Namespace) -> None:
    """Run a command with the providers' configuration (the `[podherd]` defaults) loaded."""
    from airflow.utils.providers_configuration_loader import providers_configuration_loaded

    providers_configuration_loaded(func)(args)


def status(args: argparse.Namespace) -> None:
    _with_providers_config(_status, args)


def _status(args: argparse.Namespace) -> None:
    import socket

    from podherd.airflow.db import alive_scheduler_ids
    from podherd.airflow.keys import SCHEME
    from podherd.airflow.runtime import user_agent
    from podherd.core.ha.lease import LEASE_LABEL
    from podherd.core.kube.client import KubeClient

    options = _options()
    kube = KubeClient.from_settings(options.kube, user_agent(None, socket.gethostname()))
    print(f"schedulers alive (job table): {sorted(alive_scheduler_ids(options.threshold))}")
    leases = kube.list_leases(options.lease_namespace, f"{LEASE_LABEL}=true")
    holders = sorted((lease.get("spec") or {}).get("holderIdentity", "?") for lease in leases)
    print(f"scheduler Leases in {options.lease_namespace}: {holders}")
    for ns in options.namespaces:
        pods, _rv = kube.list_pods(ns, f"{SCHEME.executor_key}={SCHEME.executor_value}")
        counts: Counter[tuple[str, str]] = Counter()
        for p in pods:
            labels = p["metadata"].get("labels") or {}
            phase = "done" if labels.get(SCHEME.done_key) else str((p.get("status") or {}).get("phase"))
            counts[(labels.get(SCHEME.owner_key, "?"), phase)] += 1
        print(f"pods in {ns}: {len(pods)}")
        for (owner, phase), n in sorted(counts.items()):
            print(f"  scheduler {owner}: {n} {phase}")


def generate_dag_yaml(args: argparse.Namespace) -> None:
    _with_providers_config(_generate_dag_yaml, args)


def _generate_dag_yaml(args: argparse.Namespace) -> None:
    import yaml
    from airflow import __version__ as airflow_version
    from airflow.utils.cli import get_bagged_dag

    from podherd.airflow.keys import TIKey
    from podherd.airflow.manifests import PodSettings, TaskRun, build_manifest, command_args
    from podherd.airflow.runtime import Templates
    from podherd.airflow.workloads import pod_override_json

    options = _options()
    dag = get_bagged_dag(bundle_names=None, dag_id=args.dag_id)
    out = Path(args.output_path or ".") / "podherd_yaml_output"
    out.mkdir(parents=True, exist_ok=True)
    settings = PodSettings(options.namespace, options.kube_image, airflow_version)
    templates = Templates()
    for task in dag.tasks:
        config = task.executor_config or {}
        run = TaskRun(
            key=TIKey(dag.dag_id, task.task_id, "manual__<run>", -1, 1, "<queue-id>"),
            workload_json="<the workload, made by the scheduler at queue time>",
            override=pod_override_json(config.get("pod_override")),
            template_file=config.get("pod_template_file"),
        )
        template = templates.load(run.template_file or options.pod_template_file)
        manifest = build_manifest(run, 0, settings, template)
        manifest["spec"]["containers"][0]["args"] = command_args(run.workload_json)
        path = out / f"{dag.dag_id}_{task.task_id}.yml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    print(f"YAML output can be found at {out}")
