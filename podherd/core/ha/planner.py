"""Adoption planning: which dead replicas' pods to claim, and the exact write for each (pure).

Three policies, so the same harness can measure the anchor's behaviours:

- `exclude-self` — Airflow 10.15 (#61839): every completed pod not labelled with my id,
  relabelled with a blind merge patch. Replicas fight over each other's pods.
- `alive-scoped` — the seed (#66400): only pods of replicas not alive, but still a blind
  relabel: two survivors both "win" the same pod.
- `podherd` — alive-scoped, and every claim is a compare-and-swap: a JSON patch whose
  first op tests that the owner is still the dead id. Exactly one survivor wins; the
  loser gets 422 and drops the pod.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from podherd.core.labels import LabelScheme, label_pointer
from podherd.core.ports import PatchOp, Pod
from podherd.core.selectors import completed_pod_selector


class Policy(StrEnum):
    """How completed pods of other replicas are adopted (`scheduler.adoption_policy`)."""

    PODHERD = "podherd"
    ALIVE_SCOPED = "alive-scoped"
    EXCLUDE_SELF = "exclude-self"


@dataclass(frozen=True)
class Claim:
    namespace: str
    name: str
    uid: str
    previous_owner: str
    patch: list[PatchOp] | Pod  # a JSON patch (list) or a merge patch (dict)
    conditional: bool  # True: JSON patch with a `test` op (loser gets 422)


def sweep_selector(policy: Policy, self_id: str, alive: Iterable[str], scheme: LabelScheme) -> str:
    """The label selector a completed-pod sweep lists with under `policy`."""
    if policy == Policy.EXCLUDE_SELF:
        return completed_pod_selector(self_id, (), scheme)
    return completed_pod_selector(self_id, alive, scheme)


def claim_patch(scheme: LabelScheme, dead: str, me: str) -> list[PatchOp]:
    """`[test owner == dead, replace owner = me]`: the CAS that makes exactly one claimant win."""
    path = label_pointer(scheme.owner_key)
    return [{"op": "test", "path": path, "value": dead}, {"op": "replace", "path": path, "value": me}]


def plan_claims(pods: Iterable[Pod], policy: Policy, self_id: str, alive: set[str], scheme: LabelScheme) -> list[Claim]:
    """The claims to make for listed pods. Pods of alive replicas (or mine) are never claimed."""
    claims: list[Claim] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        owner = labels.get(scheme.owner_key)
        if owner is None or owner == self_id or labels.get(scheme.done_key) == scheme.done_value:
            continue
        if policy != Policy.EXCLUDE_SELF and owner in alive:
            continue  # a live replica's pod: never touched
        patch: list[PatchOp] | Pod
        if policy == Policy.PODHERD:
            patch = claim_patch(scheme, owner, self_id)
        else:
            patch = {"metadata": {"labels": {scheme.owner_key: self_id}}}
        conditional = policy == Policy.PODHERD
        claims.append(
            Claim(meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", ""), owner, patch, conditional)
        )
    return claims
