"""Would the API server accept this task's pod? Checked at submit time, not when a replica creates the pod.

Why a module of its own: the rules are the embedded API server's pod and metadata
validation, which follows Kubernetes' own (``pkg/apis/core/validation``). This is the one
place outside ``podherd.localcluster`` that imports them, so when those modules move
only the import below changes. Pure: no I/O.

The pod checked is the one podherd would create (``podspec.build_pod``: template <-
generated pod <- ``pod_overrides``) *before* podherd re-applies the fields its invariants
rest on (name, namespace, identity labels, ``restartPolicy: Never``): an override such as
``{"spec": {"restartPolicy": 5}}`` is a mistake even though podherd would overwrite it.
Only problems the overrides introduce are reported: a broken template is not the task's fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from podherd.core.labels import PODHERD_SCHEME
from podherd.core.podspec import PodRequest, build_pod, deep_merge
from podherd.localcluster.validation.metadata import validate_metadata
from podherd.localcluster.validation.pods import validate_pod

__all__ = ["MAX_MESSAGE_CHARS", "pod_override_errors"]

MAX_MESSAGE_CHARS = 300  # a cause repeats the bad value; a huge one must not come back whole


def pod_override_errors(request: PodRequest, template: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """``(field path in the pod, message)`` for each way ``request.pod_overrides`` make the task's pod invalid.

    Empty when the overrides are fine. Paths are the merged pod's (``spec.containers[0].image``),
    which is where the API server would report them. The request's ids do not matter (any valid
    value will do: they are not known before insert).
    """
    base = build_pod(replace(request, pod_overrides={}), PODHERD_SCHEME, template)
    before = set(_causes(base))
    merged = deep_merge(base, request.pod_overrides)
    return [cause for cause in _causes(merged) if cause not in before]


def _causes(pod: dict[str, Any]) -> list[tuple[str, str]]:
    causes = validate_metadata(pod.get("metadata"), namespaced=True)  # type_invalid when not an object
    causes += validate_pod(pod)
    return [(c.field, _clip(c.message)) for c in causes]


def _clip(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[:MAX_MESSAGE_CHARS]}… ({len(message)} characters)"
