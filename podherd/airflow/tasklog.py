"""`get_task_log`: a running task's log, read from its pod through the Kubernetes API.

Airflow's API server asks the executor of a RUNNING task instance for its log
(`FileTaskHandler._read`), on an executor it constructed and never started. The pod is found by
its deterministic name (task instance, try, queue id); a pod the provider launched (a random name)
is found by the provider's labels instead. The last `running_pod_log_lines` lines of container
`base` are returned, as the provider does; on any failure the message says why and the log is
empty (never raises into the API server).
"""

from __future__ import annotations

from typing import Any

from podherd.airflow.keys import SCHEME, TIKey, pod_name, ti_selector
from podherd.airflow.options import Options
from podherd.airflow.runtime import user_agent
from podherd.airflow.workloads import pod_override_json, task_key
from podherd.core.kube.client import KubeClient
from podherd.core.kube.errors import NotFound
from podherd.core.podspec import BASE_CONTAINER


class LogReader:
    def __init__(self, options: Options, hostname: str) -> None:
        self.options = options
        self.hostname = hostname
        self._kube: KubeClient | None = None

    @property
    def kube(self) -> KubeClient:
        if self._kube is None:
            self._kube = KubeClient.from_settings(self.options.kube, user_agent(None, self.hostname))
        return self._kube

    def read(self, ti: Any, try_number: int) -> tuple[list[str], list[str]]:
        messages: list[str] = []
        try:
            key = task_key(ti)
            if key.try_number != try_number:
                key = TIKey(key.dag_id, key.task_id, key.run_id, key.map_index, try_number)
            namespace, name = self.find(key, self._namespaces(ti))
            messages.append(f"Attempting to fetch logs from pod {name} through kube API")
            text = self.kube.pod_log(namespace, name, BASE_CONTAINER, tail_lines=self.options.log_lines)
            messages.append("Found logs through kube API")
            return messages, [text]
        except Exception as e:
            messages.append(f"Reading from k8s pod logs failed: {e}")
            return messages, [""]

    def _namespaces(self, ti: Any) -> list[str]:
        override = pod_override_json((getattr(ti, "executor_config", None) or {}).get("pod_override"))
        namespace = ((override or {}).get("metadata") or {}).get("namespace")
        return list(dict.fromkeys([*([namespace] if namespace else []), *self.options.namespaces]))

    def find(self, key: TIKey, namespaces: list[str]) -> tuple[str, str]:
        """(namespace, pod name) of this try's pod: by its deterministic name, else by the provider's labels."""
        name = pod_name(key)
        for ns in namespaces:
            try:
                self.kube.get_pod(ns, name)
                return ns, name
            except NotFound:
                continue
        for ns in namespaces:
            pods, _rv = self.kube.list_pods(ns, ti_selector(key), metadata_only=True)
            matching = [
                p for p in pods if (ref := SCHEME.identity(p)) and (k := TIKey.from_ref(ref)) and k.same_attempt(key)
            ]
            if matching:
                return ns, matching[-1]["metadata"]["name"]
        raise LookupError(f"no pod found for {key}")
