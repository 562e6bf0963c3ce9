"""Label schemes: which labels and annotations make a pod ours, and which attempt it runs.

Two schemes exist: ``podherd`` (prefixed keys, the default) and ``airflow``,
which reproduces the anchor's exact label strings so that podherd can share a
namespace (and the seed's selectors) with an Airflow KubernetesExecutor
deployment. A scheme reads an attempt's identity back from a pod's annotations
(`LabelScheme.identity`): labels are lossy, annotations are not. `AIRFLOW_TI_SCHEME` is the
airflow scheme as `podherd.airflow.PodherdExecutor` uses it: an attempt's key is a whole task
instance (dag, task, run, map index, plus the queueing it belongs to), read from several
annotations, so pods the provider's executor left behind are recognised too. Also here:
label-value sanitising and the one JSON-pointer helper for patches of labels and annotations.
Everything here is pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from podherd.core.ports import AttemptRef

__all__ = [
    "AIRFLOW_SCHEME",
    "AIRFLOW_TI_SCHEME",
    "LABEL_VALUE_RE",
    "MAX_LABEL_LEN",
    "PODHERD_SCHEME",
    "SCHEMES",
    "LabelScheme",
    "decode_key",
    "encode_key",
    "get_scheme",
    "is_valid_label_value",
    "json_pointer",
    "label_pointer",
    "make_safe_label_value",
]

MAX_LABEL_LEN = 63
# apimachinery IsValidLabelValue: empty, or <=63 chars, alnum at both ends, [-_.A-Za-z0-9] inside.
LABEL_VALUE_RE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
# The anchor's strip expression, verbatim (airflow kubernetes_helper_functions.make_safe_label_value).
_UNSAFE_RE = re.compile(r"^[^a-z0-9A-Z]*|[^a-zA-Z0-9_\-\.]|[^a-z0-9A-Z]*$")
_HASH_LEN = 9

KeyPart = tuple[str, str | None]  # (annotation, default when the pod lacks it; None: required)


def encode_key(parts: Sequence[str]) -> str:
    """A key made of several values, as one string: a compact JSON list (reversible, any characters)."""
    return json.dumps(list(parts), separators=(",", ":"), ensure_ascii=False)


def decode_key(key: str) -> list[str] | None:
    """The values of a key `encode_key` made; None for any other string."""
    try:
        parts = json.loads(key)
    except ValueError:
        return None
    ok = isinstance(parts, list) and all(isinstance(p, str) for p in parts)
    return parts if ok else None


@dataclass(frozen=True)
class LabelScheme:
    """The label/annotation keys (and marker values) one deployment uses on its pods."""

    name: str
    executor_key: str
    executor_value: str
    owner_key: str
    done_key: str
    done_value: str
    task_key: str
    try_key: str
    task_id_annotation: str
    try_annotation: str
    # When set, the attempt's key is several annotations (`encode_key` of their values) instead of
    # `task_id_annotation` alone: an Airflow task instance is (dag, task, run, map index, queueing).
    key_annotations: tuple[KeyPart, ...] = ()

    def identity(self, pod: Mapping[str, Any]) -> AttemptRef | None:
        """The attempt a pod runs, from its annotations; None if it is not an attempt's pod."""
        meta = pod.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
        if not isinstance(annotations, Mapping):
            return None
        key = self._key(annotations)
        try:
            try_number = int(annotations.get(self.try_annotation))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return AttemptRef(key, try_number) if isinstance(key, str) and key else None

    def _key(self, annotations: Mapping[str, Any]) -> str | None:
        if not self.key_annotations:
            key = annotations.get(self.task_id_annotation)
            return key if isinstance(key, str) else None
        parts = []
        for name, default in self.key_annotations:
            value = annotations.get(name, default)
            if not isinstance(value, str):
                return None
            parts.append(value)
        return encode_key(parts)

    def identity_annotations(self, ref: AttemptRef) -> dict[str, str]:
        """The annotations `identity` reads back (podspec writes them on every pod it builds).

        With `key_annotations`, a part equal to its default is left out (the anchor writes
        `map_index` only for mapped tasks); a key that is not `encode_key` of as many parts raises.
        """
        if not self.key_annotations:
            return {self.task_id_annotation: ref.key, self.try_annotation: str(ref.try_number)}
        parts = decode_key(ref.key)
        if parts is None or len(parts) != len(self.key_annotations):
            raise ValueError(f"{ref.key!r} is not a {self.name} key")
        pairs = zip(self.key_annotations, parts, strict=True)
        out = {name: value for (name, default), value in pairs if value != default}
        return {**out, self.try_annotation: str(ref.try_number)}


PODHERD_SCHEME = LabelScheme(
    name="podherd",
    executor_key="podherd.io/executor",
    executor_value="true",
    owner_key="podherd.io/owner",
    done_key="podherd.io/done",
    done_value="true",
    task_key="podherd.io/task",
    try_key="podherd.io/try",
    task_id_annotation="podherd.io/task-id",
    try_annotation="podherd.io/try-number",
)

AIRFLOW_SCHEME = LabelScheme(
    name="airflow",
    executor_key="kubernetes_executor",
    executor_value="True",
    owner_key="airflow-worker",
    done_key="airflow_executor_done",
    done_value="True",
    task_key="task_id",
    try_key="try_number",
    task_id_annotation="task_id",
    try_annotation="try_number",
)

# The airflow scheme as the Airflow front-end uses it: a task instance's key from the anchor's own
# annotations (dag_id, task_id, run_id, map_index when mapped) plus the queueing the pod belongs to
# (`external_executor_id`, absent on the anchor's pods). Not a standalone `label_scheme` choice.
AIRFLOW_TI_SCHEME = replace(
    AIRFLOW_SCHEME,
    name="airflow-ti",
    key_annotations=(
        ("dag_id", None),
        ("task_id", None),
        ("run_id", None),
        ("map_index", "-1"),
        ("podherd.io/queue-id", ""),
    ),
)

SCHEMES: Mapping[str, LabelScheme] = MappingProxyType({s.name: s for s in (PODHERD_SCHEME, AIRFLOW_SCHEME)})


def get_scheme(name: str) -> LabelScheme:
    """Look a scheme up by its config name (case-insensitive), failing loudly on typos."""
    key = name.strip().lower() if isinstance(name, str) else name
    try:
        return SCHEMES[key]
    except (KeyError, TypeError):
        known = ", ".join(sorted(SCHEMES))
        raise ValueError(f"unknown label scheme {name!r}; known schemes: {known}") from None


def is_valid_label_value(value: str) -> bool:
    """True when the API server would accept ``value`` as a label value."""
    return len(value) <= MAX_LABEL_LEN and LABEL_VALUE_RE.fullmatch(value) is not None


def make_safe_label_value(value: str) -> str:
    """Turn any string into a valid label value, exactly as the anchor does.

    The value is returned unchanged when it is already valid; otherwise illegal
    characters are stripped, the result cut to 53 characters and a 9-hex md5 of
    the *original* value appended, so distinct inputs stay distinct. Labels are
    therefore lossy: identity lives in annotations, labels only serve selectors.

    One deliberate deviation: when nothing survives the strip (e.g. ``"!!!"`` or
    a purely non-ASCII name) the anchor returns ``"-<hash>"``, which the API
    server rejects (422); we return the bare hash instead.
    """
    safe = _UNSAFE_RE.sub("", value)
    if len(safe) > MAX_LABEL_LEN or safe != value:
        digest = hashlib.md5(value.encode("utf-8")).hexdigest()[:_HASH_LEN]
        head = safe[: MAX_LABEL_LEN - _HASH_LEN - 1]
        return f"{head}-{digest}" if head else digest
    return safe


def json_pointer(*tokens: str) -> str:
    """An RFC 6901 pointer to the path `tokens` (``~`` and ``/`` escaped): the one escaping helper."""
    return "".join("/" + token.replace("~", "~0").replace("/", "~1") for token in tokens)


def label_pointer(key: str) -> str:
    """The JSON pointer of one label: ``/metadata/labels/podherd.io~1owner``."""
    return json_pointer("metadata", "labels", key)
