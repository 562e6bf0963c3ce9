"""Label schemes, safe label values and the owner watch selector."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podherd.core.labels import (
    AIRFLOW_SCHEME,
    PODHERD_SCHEME,
    SCHEMES,
    LabelScheme,
    get_scheme,
    is_valid_label_value,
    make_safe_label_value,
)
from podherd.core.selectors import owner_selector

# apimachinery IsValidLabelValue, written out independently of the module under test.
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def valid_label_value(value: str) -> bool:
    return len(value) <= 63 and LABEL_VALUE.fullmatch(value) is not None


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        (
            PODHERD_SCHEME,
            dict(
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
            ),
        ),
        (
            AIRFLOW_SCHEME,
            dict(
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
            ),
        ),
    ],
)
def test_scheme_strings(scheme: LabelScheme, expected: dict[str, str]) -> None:
    assert LabelScheme(**expected) == scheme


@pytest.mark.parametrize(
    ("name", "scheme"),
    [
        ("podherd", PODHERD_SCHEME),
        ("airflow", AIRFLOW_SCHEME),
        ("Airflow", AIRFLOW_SCHEME),
        (" podherd ", PODHERD_SCHEME),
    ],
)
def test_get_scheme(name: str, scheme: LabelScheme) -> None:
    assert get_scheme(name) is scheme


@pytest.mark.parametrize("name", ["", "k8s", "celery", "podherd2"])
def test_get_scheme_unknown_lists_known_names(name: str) -> None:
    with pytest.raises(ValueError) as info:
        get_scheme(name)
    for known in SCHEMES:
        assert known in str(info.value)


def test_anchor_test_vector() -> None:
    assert make_safe_label_value("my_dag_id_" + "a" * 64) == "my_dag_id_" + "a" * 43 + "-0ce114c45"


@pytest.mark.parametrize("value", ["", "a", "5", "42", "abc", "a.b_c-d", "My_Dag.v2", "x" * 63, "0" * 63])
def test_valid_values_pass_through(value: str) -> None:
    assert make_safe_label_value(value) == value


def _hashed(head: str, original: str) -> str:
    return head + "-" + hashlib.md5(original.encode()).hexdigest()[:9]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("my task", _hashed("mytask", "my task")),  # illegal char in the middle
        ("_leading", _hashed("leading", "_leading")),  # must start alnum
        ("trailing.", _hashed("trailing", "trailing.")),  # must end alnum
        ("a/b:c", _hashed("abc", "a/b:c")),
        ("ünïcode", _hashed("ncode", "ünïcode")),
        ("x" * 64, _hashed("x" * 53, "x" * 64)),  # too long
        ("2024-01-01T00:00:00+00:00", _hashed("2024-01-01T0000000000", "2024-01-01T00:00:00+00:00")),
    ],
)
def test_unsafe_values_are_stripped_and_hashed(value: str, expected: str) -> None:
    assert make_safe_label_value(value) == expected
    assert valid_label_value(expected)


@pytest.mark.parametrize("value", ["!!!", "___", "日本語", "-", ".", " ", "\n"])
def test_nothing_left_after_strip_is_still_valid(value: str) -> None:
    # The anchor would return "-<hash>", which the API server rejects; we return the bare hash.
    out = make_safe_label_value(value)
    assert out == hashlib.md5(value.encode()).hexdigest()[:9]
    assert valid_label_value(out)


def test_distinct_inputs_that_strip_alike_stay_distinct() -> None:
    assert make_safe_label_value("a b") != make_safe_label_value("a_b") != make_safe_label_value("ab")
    assert make_safe_label_value("a b") != make_safe_label_value("a  b")


@given(st.text(max_size=300))
def test_any_text_gives_a_valid_label_value(value: str) -> None:
    out = make_safe_label_value(value)
    assert len(out) <= 63
    assert LABEL_VALUE.fullmatch(out), out
    assert make_safe_label_value(value) == out  # deterministic
    assert is_valid_label_value(out)


@given(st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", fullmatch=True))
def test_already_valid_values_are_kept(value: str) -> None:
    assert make_safe_label_value(value) == value


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("", True),
        ("a", True),
        ("a-b", True),
        ("-a", False),
        ("a-", False),
        ("a b", False),
        ("x" * 64, False),
        ("a\n", False),
    ],
)
def test_is_valid_label_value(value: str, ok: bool) -> None:
    assert is_valid_label_value(value) is ok


@pytest.mark.parametrize(
    ("scheme", "owner", "expected"),
    [
        (AIRFLOW_SCHEME, "5", "kubernetes_executor=True,airflow-worker=5,airflow_executor_done!=True"),
        (PODHERD_SCHEME, "12", "podherd.io/executor=true,podherd.io/owner=12,podherd.io/done!=true"),
        (
            PODHERD_SCHEME,
            "host a",
            f"podherd.io/executor=true,podherd.io/owner={make_safe_label_value('host a')},podherd.io/done!=true",
        ),
    ],
)
def test_owner_selector(scheme: LabelScheme, owner: str, expected: str) -> None:
    assert owner_selector(scheme, owner) == expected
