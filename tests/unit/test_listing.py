"""registry.listing's two steps without a server: decoding the query (400s), then the pure validation (422 causes)."""

from __future__ import annotations

import pytest

from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.apimachinery.kinds import LEASES, PODS
from podherd.localcluster.registry.listing import decode_list_query, parse_list_options, validate_list_options


def causes(query: dict[str, str], watch: bool = False) -> list[tuple[str, str]]:
    return [(c.reason, c.message) for c in validate_list_options(decode_list_query(query, PODS), watch)]


def test_consistent_options_have_no_causes() -> None:
    assert causes({"resourceVersion": "7", "resourceVersionMatch": "NotOlderThan", "limit": "5"}) == []


@pytest.mark.parametrize(
    ("query", "watch", "expected"),
    [
        (
            {"resourceVersion": "1", "resourceVersionMatch": "Newest"},
            False,
            [("FieldValueNotSupported", 'Unsupported value: "Newest": supported values: "Exact", "NotOlderThan"')],
        ),
        (
            {"resourceVersion": "1", "resourceVersionMatch": "Exact", "continue": "x"},
            False,
            [("FieldValueForbidden", "Forbidden: resourceVersionMatch is forbidden when continue is provided")],
        ),
        (
            {"resourceVersionMatch": "Exact"},
            False,
            [
                (
                    "FieldValueForbidden",
                    "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            ],
        ),
        (
            {"resourceVersion": "0", "resourceVersionMatch": "Exact"},
            False,
            [("FieldValueForbidden", 'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"')],
        ),
        (
            {"sendInitialEvents": "true"},
            False,
            [("FieldValueForbidden", "Forbidden: sendInitialEvents is forbidden for list")],
        ),
        (
            {"sendInitialEvents": "true"},
            True,
            [
                (
                    "FieldValueForbidden",
                    "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
                )
            ],
        ),
    ],
)
def test_validation_returns_the_causes_of_a_422(
    query: dict[str, str], watch: bool, expected: list[tuple[str, str]]
) -> None:
    assert causes(query, watch) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "ten"}, "invalid limit: 'ten'"),
        ({"timeoutSeconds": "soon"}, "invalid timeoutSeconds: 'soon'"),
        ({"resourceVersion": "-3"}, "invalid resource version: -3"),
        ({"fieldSelector": "spec.unknown=x"}, "field label not supported: spec.unknown"),
    ],
)
def test_decoding_rejects_what_does_not_parse_with_400(query: dict[str, str], message: str) -> None:
    with pytest.raises(ApiError) as err:
        decode_list_query(query, PODS)
    assert (err.value.code, err.value.message) == (400, message)


def test_decoding_normalises_limits_and_timeouts() -> None:
    opts = decode_list_query({"limit": "0", "timeoutSeconds": "-5", "allowWatchBookmarks": "true"}, LEASES)
    assert (opts.limit, opts.timeout_seconds, opts.allow_bookmarks) == (None, 0, True)


def test_parse_reports_422_before_the_continue_with_resource_version_400() -> None:
    with pytest.raises(ApiError) as err:
        parse_list_options({"continue": "t", "resourceVersion": "5", "sendInitialEvents": "1"}, PODS, watch=False)
    assert err.value.code == 422
    with pytest.raises(ApiError) as err:
        parse_list_options({"continue": "t", "resourceVersion": "5"}, PODS, watch=False)
    assert (err.value.code, err.value.message) == (
        400,
        "specifying resource version is not allowed when using continue",
    )
