"""Task attempt -> pod manifest (plain JSON-ready dicts, as sent to the API).

Pure: no I/O. The manifest is built like the anchor's ``construct_pod`` (template
<- generated pod <- per-task override), with two deliberate differences:

* the pod name is deterministic per task attempt (anchor: random suffix), so a
  409 AlreadyExists on create means "already launched", never a second run;
* merging follows Kubernetes strategic-merge semantics (lists of named things
  merge by their key, other lists replace, ``null`` deletes) instead of the
  anchor's index-wise container merge and list concatenation, which duplicates
  env vars and mounts. The fields the executor's invariants rest on (name,
  namespace, identity labels and annotations, no done label, restartPolicy
  Never) are re-applied after the override, so no override can break them.
"""

from __future__ import annotations

import copy
import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podherd.core.labels import LabelScheme, make_safe_label_value
from podherd.core.ports import AttemptRef

__all__ = [
    "BASE_CONTAINER",
    "MAX_POD_NAME_LEN",
    "PodRequest",
    "build_pod",
    "deep_merge",
    "finalize",
    "pod_name",
]

BASE_CONTAINER = "base"
RESTART_NEVER = "Never"  # a task pod runs once; a retry is a new pod (a new try)
MAX_POD_NAME_LEN = 63
ENV_TASK_ID = "PODHERD_TASK_ID"
ENV_TRY_NUMBER = "PODHERD_TRY_NUMBER"
ENV_TASK_NAME = "PODHERD_TASK_NAME"

# List fields whose items merge by a key (their `patchMergeKey` in the Kubernetes API).
_MERGE_KEYS: Mapping[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "ports": "containerPort",
    "hostAliases": "ip",
    "readinessGates": "conditionType",
    "resourceClaims": "name",
}

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class PodRequest:
    """Everything needed to launch one attempt of one task."""

    task_id: int
    task_name: str
    try_number: int
    owner_id: str
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)
    namespace: str = "default"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    pod_overrides: Mapping[str, Any] = field(default_factory=dict)
    service_account: str | None = None
    active_deadline_seconds: int | None = None

    @property
    def name(self) -> str:
        """The deterministic pod name of this attempt."""
        return pod_name(self.task_name, self.task_id, self.try_number)

    @property
    def ref(self) -> AttemptRef:
        """The attempt's identity, as the pod's annotations carry it."""
        return AttemptRef(str(self.task_id), self.try_number)


def _slug(text: str) -> str:
    """Lowercase ASCII slug: accents folded, every other run of non-[a-z0-9] -> '-'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", folded.lower()).strip("-")


def _num(n: int) -> str:
    """An int as name-safe text (a negative id must not start a '-' run we then strip)."""
    return str(n) if n >= 0 else f"n{-n}"


def pod_name(task_name: str, task_id: int, try_number: int) -> str:
    """Deterministic DNS-1123 label for one task attempt: ``<slug>-<task id>-t<try>``.

    The task id and try number appear in decimal rather than as a hash: the id
    is unique in the database, so two attempts can never share a name (a 32-bit
    hash would collide after ~10^5 tasks, and a collision here silently turns a
    launch into "already exists"). The slug is only for humans and is cut to
    fit 63 characters; an empty slug becomes ``task``.
    """
    suffix = f"-{_num(task_id)}-t{_num(try_number)}"
    if len(suffix) > 40:  # absurdly large numbers: keep the name valid and deterministic
        suffix = "-" + hashlib.sha256(f"{task_id}:{try_number}".encode()).hexdigest()[:16]
    slug = _slug(task_name if isinstance(task_name, str) else str(task_name))
    slug = slug[: MAX_POD_NAME_LEN - len(suffix)].rstrip("-") or "task"
    return slug + suffix


def _plain(value: Any) -> Any:
    """Deep-copy into JSON-ready builtins: Mappings -> dict, tuples/lists -> list."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float)):
        return value  # immutable: nothing to copy
    return copy.deepcopy(value)


def _keyed(items: Sequence[Any], key: str) -> bool:
    return all(isinstance(i, Mapping) and isinstance(i.get(key), (str, int)) for i in items)


def _merge_list(base: list[Any], overlay: Sequence[Any], key: str) -> list[Any]:
    """Merge two lists of objects by ``key``: matching items deep-merge, new ones append in order."""
    out = [_plain(i) for i in base]
    index = {item[key]: pos for pos, item in enumerate(out)}
    for item in overlay:
        pos = index.get(item[key])
        if pos is None:
            index[item[key]] = len(out)
            out.append(deep_merge({}, item))
        else:
            out[pos] = deep_merge(out[pos], item)
    return out


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Strategic-merge ``overlay`` onto ``base`` and return a new plain dict.

    Maps merge recursively; a ``None`` value in the overlay deletes the key;
    lists of objects listed in ``_MERGE_KEYS`` (containers, env, volumes, ...)
    merge item by item on their key; every other list is replaced. Neither
    input is modified.
    """
    out: dict[str, Any] = _plain(base)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
            continue
        current = out.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            out[key] = deep_merge(current, value)
        elif (
            isinstance(current, list)
            and isinstance(value, (list, tuple))
            and key in _MERGE_KEYS
            and _keyed(current, _MERGE_KEYS[key])
            and _keyed(value, _MERGE_KEYS[key])
        ):
            out[key] = _merge_list(current, value, _MERGE_KEYS[key])
        elif isinstance(value, Mapping):
            out[key] = deep_merge({}, value)
        else:
            out[key] = _plain(value)
    return out


def _identity(req: PodRequest, scheme: LabelScheme) -> tuple[dict[str, str], dict[str, str]]:
    """The labels and annotations that make a pod ours and say which attempt it runs."""
    labels = {
        scheme.executor_key: scheme.executor_value,
        scheme.owner_key: make_safe_label_value(str(req.owner_id)),
        scheme.task_key: make_safe_label_value(req.task_name),
        scheme.try_key: str(req.try_number),
    }
    return labels, scheme.identity_annotations(req.ref)


def _env(req: PodRequest) -> list[dict[str, str]]:
    """User env sorted by name, then podherd's own variables (which win over user ones)."""
    ours = {
        ENV_TASK_ID: str(req.task_id),
        ENV_TRY_NUMBER: str(req.try_number),
        ENV_TASK_NAME: req.task_name,
    }
    user = [{"name": str(k), "value": str(v)} for k, v in sorted(req.env.items()) if k not in ours]
    return user + [{"name": k, "value": v} for k, v in ours.items()]


def _generated(req: PodRequest, scheme: LabelScheme) -> dict[str, Any]:
    labels, annotations = _identity(req, scheme)
    container: dict[str, Any] = {"name": BASE_CONTAINER}
    if req.image:
        container["image"] = req.image
    if req.command:
        container["command"] = list(req.command)
    if req.args:
        container["args"] = list(req.args)
    container["env"] = _env(req)
    if req.resources:
        container["resources"] = _plain(req.resources)
    spec: dict[str, Any] = {"restartPolicy": RESTART_NEVER, "containers": [container]}
    if req.service_account:
        spec["serviceAccountName"] = req.service_account
    if req.active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = int(req.active_deadline_seconds)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": req.name,
            "namespace": req.namespace,
            "labels": {**{str(k): str(v) for k, v in req.labels.items()}, **labels},
            "annotations": {**{str(k): str(v) for k, v in req.annotations.items()}, **annotations},
        },
        "spec": spec,
    }


def _enforce(pod: dict[str, Any], req: PodRequest, scheme: LabelScheme) -> dict[str, Any]:
    """Re-apply the fields invariants depend on, whatever the template/override said."""
    labels, annotations = _identity(req, scheme)
    return finalize(pod, req.name, req.namespace, labels, annotations, scheme)


def finalize(
    pod: dict[str, Any],
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    scheme: LabelScheme,
) -> dict[str, Any]:
    """Make a merged manifest an attempt's pod: its name, namespace, identity labels and annotations
    win over anything a template or override said; no done label; restartPolicy Never; no status,
    uid, resourceVersion or generateName. Both front-ends build their pods through this step."""
    pod["apiVersion"] = "v1"
    pod["kind"] = "Pod"
    meta = pod.setdefault("metadata", {})
    if not isinstance(meta, dict):
        meta = pod["metadata"] = {}
    meta["name"] = name
    meta["namespace"] = namespace
    meta.pop("generateName", None)
    meta.pop("resourceVersion", None)  # a create carrying an RV is a 500 from the server
    meta.pop("uid", None)
    meta_labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    meta_labels.update(labels)
    meta_labels.pop(scheme.done_key, None)
    meta["labels"] = meta_labels
    meta_annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    meta_annotations.update(annotations)
    meta["annotations"] = meta_annotations
    spec = pod.setdefault("spec", {})
    if isinstance(spec, dict):
        spec["restartPolicy"] = RESTART_NEVER
    pod.pop("status", None)
    head = {k: pod.pop(k) for k in ("apiVersion", "kind", "metadata", "spec") if k in pod}
    return {**head, **pod}


def build_pod(req: PodRequest, scheme: LabelScheme, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the manifest for one attempt: template <- generated pod <- ``req.pod_overrides``.

    The generated container is named ``base``; it merges with a template or
    override container of the same name (that is how an override changes the
    image, like the anchor's ``pod_override``). Unless the template or the
    overrides set it, ``automountServiceAccountToken`` is false. The result is a fresh,
    JSON-serialisable dict; ``template`` and ``req`` are not modified.
    """
    pod = deep_merge(template or {}, _generated(req, scheme))
    if req.pod_overrides:
        pod = deep_merge(pod, req.pod_overrides)
    # Task pods run beside the replicas: they get no API credentials unless the template or the
    # task's overrides ask for a token explicitly (least privilege; see docs/deploy.md).
    pod.setdefault("spec", {}).setdefault("automountServiceAccountToken", False)
    return _enforce(pod, req, scheme)
