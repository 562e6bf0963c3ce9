"""The label selectors the core lists and watches with: builders only, pure string assembly.

- `completed_pod_selector`: the seed's (#66400) completed pods of replicas that are not alive;
- `owner_selector`: one replica's own, not-yet-done pods (its watch);
- `done_selector`: kept done pods of some owners (the retention sweep).

The parsers and matchers (apimachinery's grammar) serve the embedded API server and live with it
in `podherd.localcluster.selectors`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from podherd.core.labels import LabelScheme, make_safe_label_value

log = logging.getLogger("podherd.selectors")

__all__ = ["MANY_ALIVE_WARNING", "completed_pod_selector", "done_selector", "owner_selector"]

MANY_ALIVE_WARNING = 64


def _by_number(ids: Iterable[str]) -> list[str]:
    """Replica ids are integers as text: order them numerically (non-numeric ones last, by text)."""
    return sorted(set(ids), key=lambda s: (0, int(s), "") if s.isdigit() else (1, 0, s))


def completed_pod_selector(self_id: str, alive_ids: Iterable[str], scheme: LabelScheme) -> str:
    """The seed's (#66400) label selector for completed pods of replicas that are *not* alive.

    With alive siblings: ``<executor>=<v>,<owner> notin (self,alive...),<done>!=<v>``; with none,
    the pre-fix equality form ``<owner>!=self`` — exactly the anchor's strings for the airflow scheme.
    Ids are ordered numerically; above 64 alive siblings a warning is logged (the selector still works).
    """
    others = [i for i in _by_number(alive_ids) if i != self_id]
    if len(others) > MANY_ALIVE_WARNING:
        log.warning("%d alive sibling replicas: the completed-pod selector lists them all", len(others))
    executor = f"{scheme.executor_key}={scheme.executor_value}"
    done = f"{scheme.done_key}!={scheme.done_value}"
    if not others:
        owner = f"{scheme.owner_key}!={self_id}"
    else:
        owner = f"{scheme.owner_key} notin ({','.join(_by_number([self_id, *others]))})"
    return f"{executor},{owner},{done}"


def owner_selector(scheme: LabelScheme, owner_id: str) -> str:
    """The label selector of one replica's own, not-yet-done pods (its watch).

    The owner value goes through :func:`make_safe_label_value` exactly as the
    label written by ``build_pod`` does, so the two always agree (numeric ids,
    the normal case, pass through unchanged).
    """
    owner = make_safe_label_value(str(owner_id))
    return f"{scheme.executor_key}={scheme.executor_value},{scheme.owner_key}={owner},{scheme.done_key}!={scheme.done_value}"


def done_selector(scheme: LabelScheme, owner_ids: list[str] | None = None, exclude: list[str] | None = None) -> str:
    """Done pods of the given owners (all owners when None), minus those of `exclude` owners."""
    parts = [f"{scheme.executor_key}={scheme.executor_value}", f"{scheme.done_key}={scheme.done_value}"]
    if owner_ids:
        ids = sorted(set(owner_ids), key=lambda s: (len(s), s))
        parts.insert(1, f"{scheme.owner_key} in ({','.join(ids)})")
    if exclude:
        ids = sorted(set(exclude), key=lambda s: (len(s), s))
        parts.insert(1, f"{scheme.owner_key} notin ({','.join(ids)})")
    return ",".join(parts)
