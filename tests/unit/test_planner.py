"""Adoption planning (pure): who may be claimed under each policy, and with what write."""

from __future__ import annotations

from typing import Any

import jsonpatch
import pytest

from podherd.core.ha.planner import Policy, claim_patch, plan_claims, sweep_selector
from podherd.core.labels import AIRFLOW_SCHEME, PODHERD_SCHEME, label_pointer
from podherd.localcluster.selectors.label import parse_label_selector

S = PODHERD_SCHEME


def pod(name: str, owner: str | None, done: bool = False) -> dict[str, Any]:
    labels = {S.executor_key: S.executor_value}
    if owner is not None:
        labels[S.owner_key] = owner
    if done:
        labels[S.done_key] = S.done_value
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": labels}}


PODS = [pod("mine", "5"), pod("alive", "7"), pod("dead", "3"), pod("done", "3", done=True), pod("orphan", None)]


def names(claims: list[Any]) -> list[str]:
    return [c.name for c in claims]


def test_podherd_claims_only_dead_owners_with_a_cas() -> None:
    claims = plan_claims(PODS, Policy.PODHERD, "5", {"7"}, S)
    assert names(claims) == ["dead"]
    (c,) = claims
    assert c.conditional and c.previous_owner == "3"
    assert c.patch == [
        {"op": "test", "path": "/metadata/labels/podherd.io~1owner", "value": "3"},
        {"op": "replace", "path": "/metadata/labels/podherd.io~1owner", "value": "5"},
    ]


def test_alive_scoped_is_the_seed_blind_relabel() -> None:
    claims = plan_claims(PODS, Policy.ALIVE_SCOPED, "5", {"7"}, S)
    assert names(claims) == ["dead"]
    assert not claims[0].conditional
    assert claims[0].patch == {"metadata": {"labels": {"podherd.io/owner": "5"}}}


def test_exclude_self_relabels_alive_replicas_pods_too() -> None:
    claims = plan_claims(PODS, Policy.EXCLUDE_SELF, "5", {"7"}, S)
    assert names(claims) == ["alive", "dead"]  # the thrash: a live replica's pod is taken


def test_the_cas_makes_exactly_one_claimant_win() -> None:
    doc = pod("p", "3")
    first = jsonpatch.apply_patch(doc, claim_patch(S, "3", "5"))
    assert first["metadata"]["labels"][S.owner_key] == "5"
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        jsonpatch.apply_patch(first, claim_patch(S, "3", "7"))  # the second survivor loses


@pytest.mark.parametrize("policy", [Policy.PODHERD, Policy.ALIVE_SCOPED])
def test_sweep_selector_excludes_alive_and_self(policy: Policy) -> None:
    sel = parse_label_selector(sweep_selector(policy, "5", ["9", "7"], S))
    assert [p["metadata"]["name"] for p in PODS if sel.matches(p["metadata"]["labels"])] == ["dead", "orphan"]


def test_exclude_self_selector_is_the_pre_fix_string() -> None:
    assert sweep_selector(Policy.EXCLUDE_SELF, "5", ["7", "9"], AIRFLOW_SCHEME) == (
        "kubernetes_executor=True,airflow-worker!=5,airflow_executor_done!=True"
    )


def test_json_pointer_escapes() -> None:
    assert label_pointer("a/b~c") == "/metadata/labels/a~1b~0c"
