"""The seed's selector contract (PR #66400 test plan), verbatim, plus the default scheme."""

from __future__ import annotations

import logging

import pytest

from podherd.core.labels import AIRFLOW_SCHEME, PODHERD_SCHEME
from podherd.core.selectors import completed_pod_selector
from podherd.localcluster.selectors.label import parse_label_selector


def test_seed_excludes_alive_siblings() -> None:
    assert (
        completed_pod_selector("5", {"7", "9"}, AIRFLOW_SCHEME)
        == "kubernetes_executor=True,airflow-worker notin (5,7,9),airflow_executor_done!=True"
    )


def test_seed_single_scheduler_unchanged() -> None:
    assert (
        completed_pod_selector("5", set(), AIRFLOW_SCHEME)
        == "kubernetes_executor=True,airflow-worker!=5,airflow_executor_done!=True"
    )


def test_default_scheme_same_shape() -> None:
    assert (
        completed_pod_selector("5", {"7", "9"}, PODHERD_SCHEME)
        == "podherd.io/executor=true,podherd.io/owner notin (5,7,9),podherd.io/done!=true"
    )
    assert completed_pod_selector("5", [], PODHERD_SCHEME) == (
        "podherd.io/executor=true,podherd.io/owner!=5,podherd.io/done!=true"
    )


def test_ids_are_ordered_numerically_and_self_is_not_duplicated() -> None:
    sel = completed_pod_selector("10", ["9", "100", "10", "2"], AIRFLOW_SCHEME)
    assert "airflow-worker notin (2,9,10,100)" in sel


@pytest.mark.parametrize("alive", [set(), {"7"}, {"7", "9", "11"}])
def test_the_selector_parses_and_selects_only_dead_owners(alive: set[str]) -> None:
    sel = parse_label_selector(completed_pod_selector("5", alive, PODHERD_SCHEME))
    base = {"podherd.io/executor": "true"}
    assert not sel.matches({**base, "podherd.io/owner": "5"})
    assert sel.matches({**base, "podherd.io/owner": "3"})
    assert not sel.matches({**base, "podherd.io/owner": "3", "podherd.io/done": "true"})
    for a in alive:
        assert not sel.matches({**base, "podherd.io/owner": a})


def test_warning_above_64_alive_siblings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="podherd.selectors"):
        sel = completed_pod_selector("1", {str(i) for i in range(2, 70)}, PODHERD_SCHEME)
    assert "68 alive sibling replicas" in caplog.text
    assert parse_label_selector(sel).matches({"podherd.io/executor": "true", "podherd.io/owner": "99"})
