"""The seed's label selector for completed pods of replicas that are not alive (#66400): a builder.

Core podherd only ever *builds* selectors, so this module is pure string assembly with no parser.
The parsers and matchers (apimachinery's grammar) serve the embedded API server and live with it
in `podherd.localcluster.selectors`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from podherd.core.labels import LabelScheme

log = logging.getLogger("podherd.selectors")

__all__ = ["MANY_ALIVE_WARNING", "completed_pod_selector"]

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
