"""Pure checks behind the server's answers to bad input: /status field types, and parser errors as Status."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.http_exceptions import BadHttpMessage, BadHttpMethod, LineTooLong

from podherd.localcluster.apiserver.wire import wire_error
from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.kubelet.status import phase as kp
from podherd.localcluster.validation.status import validate_namespace_status, validate_pod_status

T0, T1 = "2025-01-01T00:00:00Z", "2025-01-01T00:00:05.123456Z"


def kubelet_status() -> dict[str, Any]:
    """A status as the local kubelet writes it, with every container state and a restart."""
    init = ks.Container("init", "busybox:1.36", init=True)
    init.set_running(T0, "containerd://" + "a" * 64)
    init.set_terminated(0, "Completed", T1)
    main = ks.Container("main", "busybox:1.36")
    main.set_running(T0, "containerd://" + "b" * 64)
    main.set_terminated(1, "Error", T1)
    main.back_off(ks.CRASH_LOOP_BACK_OFF, "back-off 10s restarting failed container")
    side = ks.Container("side", "busybox:1.36")
    side.set_running(T0, "containerd://" + "c" * 64)
    spec = {
        "restartPolicy": "Always",
        "initContainers": [{"name": "init"}],
        "containers": [{"name": "main"}, {"name": "side"}],
    }
    init_st, st = [ks.container_status(init)], [ks.container_status(main), ks.container_status(side)]
    conditions = kp.pod_conditions(spec, "Running", init_st, st, True, T1)
    return ks.pod_status(
        phase="Running",
        conditions=conditions,
        host_ip="127.0.0.1",
        pod_ip="127.0.0.1",
        start_time=T0,
        init_statuses=init_st,
        statuses=st,
        qos_class="BestEffort",
        has_init=True,
    )


def test_what_the_kubelet_writes_passes() -> None:
    assert validate_pod_status(kubelet_status()) == []


@pytest.mark.parametrize("status", [None, {}, {"phase": None, "conditions": None, "unknownField": [1, 2]}])
def test_absent_null_and_unknown_fields_pass(status: Any) -> None:
    assert validate_pod_status(status) == []


def fields(status: Any) -> list[str]:
    return [c.field for c in validate_pod_status(status)]


def test_every_mistyped_field_gets_a_cause_on_its_path() -> None:
    status = kubelet_status()
    status["phase"] = 5
    status["hostIPs"] = [{"ip": 1}]
    status["containerStatuses"][0]["ready"] = "yes"
    status["containerStatuses"][0]["lastState"]["terminated"]["signal"] = 2**31
    status["initContainerStatuses"][0]["state"]["terminated"]["finishedAt"] = "later"
    status["conditions"][0] = "Ready"
    assert fields(status) == [
        "status.phase",
        "status.conditions[0]",
        "status.hostIPs[0].ip",
        "status.initContainerStatuses[0].state.terminated.finishedAt",
        "status.containerStatuses[0].lastState.terminated.signal",
        "status.containerStatuses[0].ready",
    ]


@pytest.mark.parametrize(
    ("status", "field"),
    [
        ("Running", "status"),
        ({"containerStatuses": {"name": "main"}}, "status.containerStatuses"),
        ({"containerStatuses": [{"restartCount": True}]}, "status.containerStatuses[0].restartCount"),
        (
            {"containerStatuses": [{"allocatedResources": {"cpu": "lots"}}]},
            "status.containerStatuses[0].allocatedResources[cpu]",
        ),
        ({"startTime": 0}, "status.startTime"),
    ],
)
def test_single_mistakes(status: Any, field: str) -> None:
    assert fields(status) == [field]


def test_namespace_status() -> None:
    assert validate_namespace_status({"phase": "Active", "conditions": [{"type": "X", "lastTransitionTime": T0}]}) == []
    assert [c.field for c in validate_namespace_status({"phase": 1, "conditions": [{"status": False}]})] == [
        "status.phase",
        "status.conditions[0].status",
    ]


# ---- what aiohttp's parser rejects, as a Status -------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code", "reason"),
    [
        (LineTooLong(b"/api/v1/pods?x=...", 8190), 431, ""),
        (BadHttpMessage("Too many headers received"), 431, ""),
        (BadHttpMessage("Invalid character in Content-Length:\n\n  b'Content-Length: -1'"), 400, "BadRequest"),
        (BadHttpMethod("\x16\x03\x01"), 400, "BadRequest"),
        (BadHttpMessage("Bad Request"), 400, "BadRequest"),
        (None, 500, ""),
    ],
)
def test_parser_errors_map_to_go_net_http_codes(exc: BaseException | None, code: int, reason: str) -> None:
    err = wire_error(exc, 400 if exc is not None else 500)
    assert (err.code, err.reason) == (code, reason)
    status = err.to_status()
    assert status["kind"] == "Status" and status["status"] == "Failure" and status["code"] == code


def test_parser_errors_never_echo_the_request() -> None:
    secret = "Authorization: Bearer s3cret"
    for exc in (LineTooLong(secret.encode(), 8190), BadHttpMessage(f"Invalid HTTP header: {secret!r}")):
        assert "s3cret" not in wire_error(exc, 400).message


def test_aiohttp_http_errors_below_the_handlers_become_a_status() -> None:
    from aiohttp import web

    from podherd.localcluster.apiserver.app import from_http_exception

    too_large = from_http_exception(web.HTTPRequestEntityTooLarge(max_size=3145728, actual_size=3145729))
    assert too_large.to_status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Request entity too large: limit is 3145728",
        "reason": "RequestEntityTooLarge",
        "code": 413,
    }
    not_found = from_http_exception(web.HTTPNotFound()).to_status()
    assert (not_found["code"], not_found["reason"], not_found["message"]) == (404, "NotFound", "Not Found")
    other = from_http_exception(web.HTTPRequestURITooLong()).to_status()  # no Kubernetes reason: none sent
    assert (other["code"], "reason" in other, "details" in other, other["message"]) == (
        414,
        False,
        False,
        "Request-URI Too Long",
    )
