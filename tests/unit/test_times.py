"""validation.times: what a JSON round trip through metav1.Time / MicroTime leaves of a timestamp."""

from __future__ import annotations

import pytest

from podherd.localcluster.validation.times import micro_time, normalized, whole_time


@pytest.mark.parametrize(
    ("given", "micro", "whole"),
    [
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000000Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05.1Z", "2026-01-02T03:04:05.100000Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05.999999999Z", "2026-01-02T03:04:05.999999Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T05:04:05.000001+02:00", "2026-01-02T03:04:05.000001Z", "2026-01-02T03:04:05Z"),
        ("2026-01-01T23:30:00-01:00", "2026-01-02T00:30:00.000000Z", "2026-01-02T00:30:00Z"),
    ],
)
def test_canonical_forms(given: str, micro: str, whole: str) -> None:
    assert micro_time(given) == micro
    assert whole_time(given) == whole


@pytest.mark.parametrize("bad", ["", "yesterday", 5, None, "2026-13-01T00:00:00Z"])
def test_what_does_not_parse_is_left_for_validation(bad: object) -> None:
    assert micro_time(bad) == bad and whole_time(bad) == bad


def test_normalized_copies_and_skips_absent_keys() -> None:
    spec = {"renewTime": "2026-01-02T03:04:05Z", "holderIdentity": "x"}
    out = normalized(spec, {"renewTime": micro_time, "acquireTime": micro_time})
    assert out == {"renewTime": "2026-01-02T03:04:05.000000Z", "holderIdentity": "x"}
    assert spec["renewTime"] == "2026-01-02T03:04:05Z"
