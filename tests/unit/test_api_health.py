"""ApiHealth and the refusal classifier: pure, a controlled clock, no server."""

from __future__ import annotations

import itertools
import logging
import ssl

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from podherd.core.kube.classify import CONNECT, FORBIDDEN, TLS, UNAUTHORIZED, Unusable, unusable
from podherd.core.kube.health import OK, UNKNOWN, UNUSABLE, ApiHealth


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def api_error(status: int, body: str = "") -> ApiException:
    e = ApiException(status=status, reason="x")
    e.body = body
    return e


RBAC = '{"kind":"Status","reason":"Forbidden","message":"pods is forbidden: User \\"u\\" cannot create resource \\"pods\\""}'
QUOTA = '{"kind":"Status","reason":"Forbidden","message":"pods \\"p\\" is forbidden: exceeded quota: q"}'


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (api_error(401, '{"kind":"Status","reason":"Unauthorized"}'), UNAUTHORIZED),
        (api_error(403, RBAC), FORBIDDEN),
        (
            urllib3.exceptions.MaxRetryError(
                None, "/api", urllib3.exceptions.NewConnectionError(None, "Connection refused")
            ),
            CONNECT,
        ),
        (urllib3.exceptions.MaxRetryError(None, "/api", urllib3.exceptions.ConnectTimeoutError("timed out")), CONNECT),
        (
            urllib3.exceptions.MaxRetryError(
                None, "/api", urllib3.exceptions.SSLError(ssl.SSLError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]"))
            ),
            TLS,
        ),
        (ApiException(status=0, reason="SSLError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), TLS),
    ],
)
def test_refusals_that_prove_nothing_was_done(exc: BaseException, kind: str) -> None:
    why = unusable(exc)
    assert why is not None and why.kind == kind
    assert "\n" not in why.message


@pytest.mark.parametrize(
    "exc",
    [
        api_error(403, QUOTA),  # a quota: understood, may succeed later
        api_error(500),
        api_error(503),
        api_error(429),
        api_error(404),
        api_error(409),
        urllib3.exceptions.ReadTimeoutError(None, "/api", "read timed out"),  # may have reached the server
        urllib3.exceptions.ProtocolError("Connection aborted"),
        ValueError("a bug"),
    ],
)
def test_everything_else_is_not_a_refusal(exc: BaseException) -> None:
    assert unusable(exc) is None


def test_unknown_until_the_api_answers_then_ok() -> None:
    h = ApiHealth(clock=Clock())
    assert h.snapshot().state == UNKNOWN and not h.ready and h.reason
    h.succeeded()
    assert h.ready and h.reason == "" and h.snapshot().state == OK


def test_a_refusal_makes_it_unusable_with_the_reason_and_success_recovers(caplog: pytest.LogCaptureFixture) -> None:
    h = ApiHealth(name="replica 3", clock=Clock())
    h.succeeded()
    with caplog.at_level(logging.WARNING, logger="podherd.api"):
        for _ in range(50):  # the same refusal, again and again: logged once
            h.refused(Unusable(UNAUTHORIZED, "401 Unauthorized"))
        h.succeeded()
        h.succeeded()
    assert [r.getMessage() for r in caplog.records] == [
        "replica 3: the Kubernetes API is unusable (unauthorized: 401 Unauthorized); claiming nothing until it answers",
        "replica 3: the Kubernetes API answers again; claiming resumes",
    ]
    assert all(r.exc_info is None for r in caplog.records)
    snap = h.snapshot()
    assert snap.state == OK and snap.refusals == 50 and snap.recoveries == 1


def test_a_new_reason_is_a_change_of_state() -> None:
    h = ApiHealth(clock=Clock())
    h.refused(Unusable(CONNECT, "refused"))
    h.refused(Unusable(TLS, "bad certificate"))
    assert h.snapshot().state == UNUSABLE and h.reason == "tls: bad certificate"


def test_probes_back_off_exponentially_up_to_the_cap() -> None:
    clock = Clock()
    h = ApiHealth(clock=clock, max_backoff=4.0)
    h.refused(Unusable(CONNECT, "refused"))
    due_at: list[float] = []
    while clock.now < 130:
        if h.probe_due():
            due_at.append(clock.now - 100)
        clock.now += 0.25
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(due_at)]
    assert due_at[0] == 0.5
    assert gaps[:3] == [1.0, 2.0, 4.0] and set(gaps[3:]) == {4.0}


def test_no_probes_while_ok() -> None:
    clock = Clock()
    h = ApiHealth(clock=clock)
    h.succeeded()
    clock.now += 1000
    assert not h.probe_due() and h.seconds_to_probe() == 0.0


def test_a_flapping_api_keeps_backing_off_but_a_stable_one_resets() -> None:
    clock = Clock()
    h = ApiHealth(clock=clock, max_backoff=100.0, stable_after=60.0)
    for _ in range(4):  # accepted reads, refused creates: refused again right after each recovery
        h.refused(Unusable(FORBIDDEN, "no create"))
        h.succeeded()
        clock.now += 1
    h.refused(Unusable(FORBIDDEN, "no create"))
    assert h.seconds_to_probe() >= 8.0
    h.succeeded()
    clock.now += 61  # usable for a minute: the next refusal starts from the shortest backoff
    h.refused(Unusable(FORBIDDEN, "no create"))
    assert h.seconds_to_probe() == 0.5
