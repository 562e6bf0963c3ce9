"""Airflow task instances as podherd names them: attempt keys, deterministic pod names, the provider's labels.

Pure: no Airflow import, no I/O. One *attempt* here is one queueing of one try of one task
instance. The try alone is not enough: Airflow runs the same try again after a deferral resumes,
after a reschedule-mode sensor wakes up, and after a task stuck in queued is requeued. The
scheduler tells the queueings apart for us: `PodherdExecutor.pre_assigns_external_executor_id`
makes it write a fresh UUID to `task_instance.external_executor_id` in the same transaction that
queues the try, so the *queue id* is in the workload and in the database, survives a crash, and
every scheduler computes the same pod name from it.

So a pod name is a function of (dag, task, run, map index, try, queue id): a 409 AlreadyExists on
create means this very attempt was launched already (DESIGN §4.6), never a second run. Labels
and annotations are the provider's (`airflow-worker`, `dag_id`, `task_id`, `run_id`,
`try_number`, `map_index`, `kubernetes_executor=True`, `airflow_version`), so
`airflow kubernetes cleanup-pods` and the provider's selectors work on podherd's pods, and podherd
recognises the provider's pods (they have no queue id annotation: their queue id reads as "").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace

from podherd.core.labels import AIRFLOW_TI_SCHEME, decode_key, encode_key, make_safe_label_value
from podherd.core.ports import AttemptRef

SCHEME = AIRFLOW_TI_SCHEME
QUEUE_ID_ANNOTATION = "podherd.io/queue-id"
MAX_POD_NAME = 63
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class TIKey:
    """One queueing of one try of one task instance (Airflow's TaskInstanceKey plus the queue id)."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int = -1
    try_number: int = 1
    queue_id: str = ""  # `external_executor_id` the scheduler pre-assigned; "" when unknown (the provider's pods)

    @property
    def ref(self) -> AttemptRef:
        return AttemptRef(
            encode_key([self.dag_id, self.task_id, self.run_id, str(self.map_index), self.queue_id]), self.try_number
        )

    @classmethod
    def from_ref(cls, ref: AttemptRef) -> TIKey | None:
        """The key back from an attempt's identity; None for a key that is not a task instance's."""
        parts = decode_key(ref.key)
        if parts is None or len(parts) != 5:
            return None
        dag_id, task_id, run_id, map_index, queue_id = parts
        try:
            index = int(map_index)
        except ValueError:
            return None
        return cls(dag_id, task_id, run_id, index, ref.try_number, queue_id)

    @property
    def ti(self) -> tuple[str, str, str, int]:
        """The task instance (Airflow's `TaskInstanceKey.primary`): what the database row is keyed by."""
        return (self.dag_id, self.task_id, self.run_id, self.map_index)

    def airflow_key(self) -> tuple[str, str, str, int, int]:
        """Airflow's TaskInstanceKey fields in its order: (dag_id, task_id, run_id, try_number, map_index)."""
        return (self.dag_id, self.task_id, self.run_id, self.try_number, self.map_index)

    def same_attempt(self, other: TIKey) -> bool:
        """The same try of the same task instance, and the same queueing when both know theirs."""
        if self.ti != other.ti or self.try_number != other.try_number:
            return False
        return not (self.queue_id and other.queue_id and self.queue_id != other.queue_id)

    def with_queue_id(self, queue_id: str) -> TIKey:
        return replace(self, queue_id=queue_id)

    @property
    def name(self) -> str:
        """The task instance for people (log lines add the try)."""
        mapped = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{self.dag_id}.{self.task_id}{mapped} {self.run_id}"

    def __str__(self) -> str:
        return f"{self.name} try {self.try_number}"


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", folded.lower()).strip("-")


def pod_name(key: TIKey) -> str:
    """`<dag>-<task>[-<map index>]-t<try>-<digest>`: readable, and a function of the whole attempt (DNS-1123, ≤ 63).

    The digest is 12 hex digits (48 bits) of the attempt's full key, queue id included: two
    attempts sharing a name would need a collision between pods that exist at the same time. If
    it ever happened, the executor reads the existing pod on the 409 and fails the try ("pod name
    taken") instead of following another attempt's pod.
    """
    digest = hashlib.sha256(encode_key([*map(str, key.airflow_key()), key.queue_id]).encode()).hexdigest()[:12]
    mapped = f"-{key.map_index}" if 0 <= key.map_index < 10**6 else ""
    suffix = f"{mapped}-t{key.try_number}-{digest}" if 0 <= key.try_number < 10**9 else f"-{digest}"
    head = _slug(f"{key.dag_id}-{key.task_id}")[: MAX_POD_NAME - len(suffix)].strip("-") or "task"
    return head + suffix


def pod_labels(key: TIKey, owner: int, airflow_version: str) -> dict[str, str]:
    """The provider's labels (`build_labels_for_k8s_executor_pod`), owner = the scheduler's job id."""
    labels = {
        "dag_id": make_safe_label_value(key.dag_id),
        "task_id": make_safe_label_value(key.task_id),
        "run_id": make_safe_label_value(key.run_id),
        "try_number": str(key.try_number),
        SCHEME.executor_key: SCHEME.executor_value,
        "airflow_version": make_safe_label_value(airflow_version.replace("+", "-")),
        SCHEME.owner_key: make_safe_label_value(str(owner)),
    }
    if key.map_index >= 0:
        labels["map_index"] = str(key.map_index)
    return labels


def pod_annotations(key: TIKey) -> dict[str, str]:
    """The provider's annotations (the identity it reads back) plus the queue id: what `SCHEME.identity` reads."""
    return SCHEME.identity_annotations(key.ref)


def ti_selector(key: TIKey) -> str:
    """The label selector of one try's pods, whoever launched them (the provider's pods have random names)."""
    labels = pod_labels(key, 0, "")
    parts = [f"{k}={labels[k]}" for k in ("dag_id", "task_id", "run_id", "try_number")]
    if key.map_index >= 0:
        parts.append(f"map_index={key.map_index}")
    return ",".join([f"{SCHEME.executor_key}={SCHEME.executor_value}", *parts])
