"""The executor's pure policy (executor/attempts.py): what a failed create means, what a finished pod gets."""

from __future__ import annotations

import jsonpatch
import pytest

from podherd.core.executor.attempts import (
    DONE_AT_ANNOTATION,
    Attempt,
    CleanupAction,
    CreateStep,
    after_create_error,
    cleanup_action,
    create_failed,
    done_patch,
)
from podherd.core.kube.classify import ALREADY_EXISTS, PERMANENT, TRANSIENT, ErrorClass
from podherd.core.labels import AIRFLOW_SCHEME, PODHERD_SCHEME, LabelScheme
from podherd.core.ports import AttemptRef, Launch, PodRef
from tests.unit.fakes import pod

DELETE, LABEL_DONE = CleanupAction.DELETE, CleanupAction.LABEL_DONE
BUSY = ErrorClass(TRANSIENT, "ServiceUnavailable", "try later", retry_after=7.0, status=503)
BAD = ErrorClass(PERMANENT, "Invalid", "spec.containers: Required value", status=422)
EXISTS = ErrorClass(ALREADY_EXISTS, "AlreadyExists", 'pods "p" already exists', status=409)


def attempt(timeout: float | None = None) -> Attempt:
    work = Launch(AttemptRef("7", 1), "t", PodRef("ns", "t-7-t1"), manifest={}, timeout_seconds=timeout)
    return Attempt(work, started=100.0)


@pytest.mark.parametrize(
    ("success", "terminal", "delete_pods", "delete_on_failure", "action"),
    [
        (True, True, True, False, DELETE),
        (True, True, False, False, LABEL_DONE),
        (False, True, True, False, LABEL_DONE),  # failed pods are kept for inspection by default
        (False, True, True, True, DELETE),
        (False, True, False, True, LABEL_DONE),
        (False, False, False, False, DELETE),  # not terminal (fatal waiting reason, timeout): kept, it could run
        (True, False, False, False, DELETE),
    ],
)
def test_cleanup_action(success: bool, terminal: bool, delete_pods: bool, delete_on_failure: bool, action: str) -> None:
    assert cleanup_action(success, terminal, delete_pods, delete_on_failure) == action


def test_the_done_label_is_written_only_while_we_own_the_pod() -> None:
    mine = pod("p", "5", "Succeeded")
    patch = done_patch(PODHERD_SCHEME, "5", "2026-01-01T00:00:00Z")
    done = jsonpatch.apply_patch(mine, patch)
    assert done["metadata"]["labels"][PODHERD_SCHEME.done_key] == "true"
    assert done["metadata"]["annotations"][DONE_AT_ANNOTATION] == "2026-01-01T00:00:00Z"
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        jsonpatch.apply_patch(pod("p", "6", "Succeeded"), patch)  # claimed by someone else meanwhile
    assert patch[1]["path"] == "/metadata/labels/podherd.io~1done"
    assert done_patch(AIRFLOW_SCHEME, "5", "t")[1] == {
        "op": "add",
        "path": "/metadata/labels/airflow_executor_done",
        "value": "True",
    }


def test_a_refusal_hands_the_try_back_unless_an_earlier_answer_left_the_pod_in_doubt() -> None:
    att = attempt()
    assert after_create_error(att, BAD, refused=True, max_retries=3, now=0.0) == CreateStep.HAND_BACK
    att.maybe_created = True
    assert after_create_error(att, BAD, refused=True, max_retries=3, now=0.0) == CreateStep.WAIT
    assert att.refusals == 1 and 0.0 <= att.next_create_at <= 2.0
    assert att.create_errors == 0  # a refusal never counts against the retries


def test_transient_errors_retry_with_backoff_and_retry_after_then_fail() -> None:
    att = attempt()
    for n in (1, 2):
        assert after_create_error(att, BUSY, refused=False, max_retries=2, now=50.0) == CreateStep.RETRY
        assert att.create_errors == n and att.maybe_created
        assert att.next_create_at >= 57.0  # Retry-After wins over a shorter backoff
    assert after_create_error(att, BUSY, refused=False, max_retries=2, now=50.0) == CreateStep.FAIL


def test_already_exists_means_launched_and_permanent_errors_fail_at_once() -> None:
    assert after_create_error(attempt(), EXISTS, refused=False, max_retries=3, now=0.0) == CreateStep.EXISTS
    att = attempt()
    assert after_create_error(att, BAD, refused=False, max_retries=3, now=0.0) == CreateStep.FAIL
    assert not att.maybe_created


def test_a_failed_create_outcome_carries_the_api_reason() -> None:
    out = create_failed(BAD)
    assert (out.state, out.reason, out.message) == ("failed", "pod create failed: Invalid", BAD.message)
    assert create_failed(ErrorClass(PERMANENT, "", "x")).reason == "pod create failed"


def test_attempt_bookkeeping() -> None:
    att = attempt(timeout=10)
    assert att.key == ("ns", "t-7-t1") and att.ref == AttemptRef("7", 1)
    assert att.never_created() and att.pod_ref() is None
    assert not att.timed_out(110.0) and att.timed_out(110.5)
    att.maybe_created = True
    assert not att.never_created() and att.pod_ref() is None  # in doubt, but nothing to clean up
    att.uid = "u"
    assert att.pod_ref() == PodRef("ns", "t-7-t1", "u")
    assert not attempt().timed_out(10**9)  # no timeout


@pytest.mark.parametrize("scheme", [PODHERD_SCHEME, AIRFLOW_SCHEME])
def test_identity_round_trips_through_a_pods_annotations(scheme: LabelScheme) -> None:
    ref = AttemptRef("42", 3)
    assert scheme.identity(pod("p", "5", ref=ref, scheme=scheme)) == ref
    assert scheme.identity({"metadata": {"annotations": {}}}) is None
    assert scheme.identity({"metadata": None}) is None
    bad = {"metadata": {"annotations": {scheme.task_id_annotation: "42", scheme.try_annotation: "x"}}}
    assert scheme.identity(bad) is None
