"""The executor's settings, read from Airflow's configuration: the provider's own options, plus `[podherd]`.

Pure: the caller hands a getter over Airflow's config (`ExecutorConf.get`), so a test passes a
dict. Switching from the KubernetesExecutor is a one-line change because every option the
provider reads keeps its name, section and meaning here:

    [kubernetes_executor] namespace, multi_namespace_mode, multi_namespace_mode_namespace_list,
        pod_template_file, worker_container_repository, worker_container_tag,
        config_file, cluster_context, in_cluster, verify_ssl,
        delete_worker_pods, delete_worker_pods_on_failure, worker_pods_creation_batch_size,
        task_publish_max_retries, worker_pod_pending_fatal_container_state_reasons,
        running_pod_log_lines
    [scheduler] scheduler_heartbeat_sec, scheduler_health_check_threshold, orphaned_tasks_check_interval

podherd's own options (`[podherd]`, documented in provider.py, defaults in `PODHERD_DEFAULTS`)
say what the provider has no word for: where liveness comes from, how long kept pods live, the
client's request rate, the adoption policy. Settings that contradict each other are refused at
start, like client-go's `NewLeaderElector`: a threshold that is not above the heartbeat would
make live schedulers look dead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from podherd.core.executor.settings import ExecutorSettings
from podherd.core.ha.liveness import Mode
from podherd.core.ha.planner import Policy
from podherd.core.ha.sweeper import SweepSettings
from podherd.core.kube.client import KubeSettings

Getter = Callable[[str, str, str], str]  # (section, key, fallback) -> value

KE = "kubernetes_executor"
PODHERD = "podherd"
PODHERD_DEFAULTS: Mapping[str, str] = {
    "liveness": "both",
    "lease_namespace": "",
    "done_pod_retention": "86400",
    "kube_client_qps": "200",
    "kube_client_burst": "400",
    "adoption_policy": "podherd",
}
PROVIDER_DEFAULTS: Mapping[str, str] = {  # the provider's defaults, for a getter that has none
    "namespace": "default",
    "multi_namespace_mode": "False",
    "multi_namespace_mode_namespace_list": "",
    "pod_template_file": "",
    "worker_container_repository": "",
    "worker_container_tag": "",
    "config_file": "",
    "cluster_context": "",
    "in_cluster": "True",
    "verify_ssl": "True",
    "delete_worker_pods": "True",
    "delete_worker_pods_on_failure": "False",
    "worker_pods_creation_batch_size": "1",
    "task_publish_max_retries": "0",
    "worker_pod_pending_fatal_container_state_reasons": (
        "CreateContainerConfigError,ErrImagePull,CreateContainerError,ImageInspectError,InvalidImageName"
    ),
    "running_pod_log_lines": "100",
}
SCHEDULER_DEFAULTS: Mapping[str, str] = {
    "scheduler_heartbeat_sec": "5",
    "scheduler_health_check_threshold": "30",
    "orphaned_tasks_check_interval": "300",
}
FOREVER = 10**9  # `task_publish_max_retries = -1`
LEFTOVER_PERIOD_MAX = 60.0


class OptionError(ValueError):
    """A setting podherd cannot run with; the message names the option."""


def _bool(text: str) -> bool:
    return text.strip().lower() in ("true", "t", "1", "yes", "y", "on")


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Options:
    namespace: str
    namespaces: tuple[str, ...]  # every namespace podherd sweeps (the main one first)
    pod_template_file: str
    kube_image: str | None
    kube: KubeSettings
    executor: ExecutorSettings
    sweep: SweepSettings
    heartbeat: float
    threshold: float
    liveness: Mode
    lease_namespace: str
    done_pod_retention: float
    log_lines: int


class _Reader:
    def __init__(self, get: Getter) -> None:
        self.get = get

    def text(self, section: str, key: str) -> str:
        defaults = {KE: PROVIDER_DEFAULTS, PODHERD: PODHERD_DEFAULTS, "scheduler": SCHEDULER_DEFAULTS}[section]
        value = self.get(section, key, defaults.get(key, ""))
        return "" if value is None else str(value).strip()

    def number(self, section: str, key: str, minimum: float | None = 0.0, integer: bool = False) -> float:
        text = self.text(section, key)
        try:
            value = float(int(text)) if integer else float(text)
        except ValueError:
            raise OptionError(f"[{section}] {key} = {text!r} is not a {'whole ' if integer else ''}number") from None
        if minimum is not None and value < minimum:
            raise OptionError(f"[{section}] {key} = {text} is below {minimum:g}")
        return value


def read_options(get: Getter) -> Options:
    """All settings, checked together; raises `OptionError` naming the option at fault."""
    r = _Reader(get)
    heartbeat = r.number("scheduler", "scheduler_heartbeat_sec", minimum=0.01)
    threshold = r.number("scheduler", "scheduler_health_check_threshold", minimum=0.01)
    if threshold <= heartbeat:
        raise OptionError(
            f"[scheduler] scheduler_health_check_threshold ({threshold:g}) must be above "
            f"scheduler_heartbeat_sec ({heartbeat:g}): live schedulers would look dead"
        )
    interval = r.number("scheduler", "orphaned_tasks_check_interval", minimum=0.01)
    namespace = r.text(KE, "namespace") or "default"
    extra = _csv(r.text(KE, "multi_namespace_mode_namespace_list")) if _bool(r.text(KE, "multi_namespace_mode")) else ()
    retention = r.number(PODHERD, "done_pod_retention")
    return Options(
        namespace=namespace,
        namespaces=tuple(dict.fromkeys((namespace, *extra))),
        pod_template_file=r.text(KE, "pod_template_file"),
        kube_image=_image(r.text(KE, "worker_container_repository"), r.text(KE, "worker_container_tag")),
        kube=_kube(r),
        executor=_executor(r, namespace, interval),
        sweep=SweepSettings(
            policy=_choice(r, "adoption_policy", Policy),
            check_period=heartbeat / 2,
            sweep_interval=interval,
            retention=retention,
        ),
        heartbeat=heartbeat,
        threshold=threshold,
        liveness=_choice(r, "liveness", Mode),
        lease_namespace=r.text(PODHERD, "lease_namespace") or namespace,
        done_pod_retention=retention,
        log_lines=int(r.number(KE, "running_pod_log_lines", minimum=1, integer=True)),
    )


def _image(repository: str, tag: str) -> str | None:
    """The provider's `kube_image`: `repository:tag` when a repository is set, else the template's image."""
    return f"{repository}:{tag}" if repository and tag else (repository or None)


def _kube(r: _Reader) -> KubeSettings:
    in_cluster = _bool(r.text(KE, "in_cluster"))
    config_file = r.text(KE, "config_file") if not in_cluster else ""
    context = r.text(KE, "cluster_context") if not in_cluster else ""
    return KubeSettings(
        kubeconfig=config_file or None,
        context=context or None,
        qps=r.number(PODHERD, "kube_client_qps", minimum=0.01),
        burst=int(r.number(PODHERD, "kube_client_burst", minimum=1, integer=True)),
        verify_ssl=_bool(r.text(KE, "verify_ssl")),
    )


def _executor(r: _Reader, namespace: str, interval: float) -> ExecutorSettings:
    retries = int(r.number(KE, "task_publish_max_retries", minimum=-1, integer=True))
    return ExecutorSettings(
        namespace=namespace,
        delete_worker_pods=_bool(r.text(KE, "delete_worker_pods")),
        delete_worker_pods_on_failure=_bool(r.text(KE, "delete_worker_pods_on_failure")),
        worker_pods_creation_batch_size=int(r.number(KE, "worker_pods_creation_batch_size", minimum=1, integer=True)),
        task_publish_max_retries=FOREVER if retries < 0 else retries,
        fatal_reasons=frozenset(_csv(r.text(KE, "worker_pod_pending_fatal_container_state_reasons"))),
        leftover_period=min(interval, LEFTOVER_PERIOD_MAX),
    )


E = TypeVar("E", Mode, Policy)


def _choice(r: _Reader, key: str, kind: type[E]) -> E:
    """A `[podherd]` option that names one value of an enum; anything else is refused, naming the choices."""
    text = r.text(PODHERD, key).lower()
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise OptionError(f"[podherd] {key} = {text!r}: must be one of {allowed}") from None
