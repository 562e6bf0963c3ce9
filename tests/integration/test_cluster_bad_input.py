"""Bad input to the embedded API server (issue 9, items 5 and 6): every answer a Kubernetes Status, nothing written.

Each test talks to a real cluster over HTTPS, with raw sockets where a client library would refuse to
send the request (HTTP/1.0, a negative Content-Length, oversized lines), and checks the server log
for tracebacks. The cluster runs without a kubelet so that no status write races the assertions.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podherd.localcluster.apiserver.audit import AuditLog
from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster, http_pool

LIMIT = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    d = tmp_path_factory.mktemp("badinput")
    with LocalCluster(ClusterConfig(mode="none", audit_log=d / "audit.jsonl")) as c:
        yield c


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def no_tracebacks(log: pytest.LogCaptureFixture) -> list[str]:
    """Records that carry a traceback, or are errors: what a bad request must never cause."""
    return [r.getMessage() for r in log.records if r.exc_info or r.levelno >= logging.ERROR]


def raw(cluster: LocalCluster, data: bytes, timeout: float = 15.0) -> tuple[str, dict[str, str], bytes]:
    """Send `data` over TLS and read until the server closes: (status line, headers, body)."""
    ctx = ssl.create_default_context(cafile=cluster.ca_file)
    with (
        socket.create_connection(("127.0.0.1", cluster.port), timeout=timeout) as sock,
        ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
    ):
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
            tls.sendall(data)  # the server may answer and close before it has read everything
        out = b""
        while chunk := tls.recv(65536):  # a server that does not close fails the test with a timeout
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status_line, headers, body


def request(
    cluster: LocalCluster, method: str, path: str, *extra: str, body: bytes = b"", version: str = "1.1"
) -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1", f"Authorization: Bearer {cluster.token}"]
    lines += [*extra, "Connection: close"] if version == "1.1" else list(extra)
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def api(
    cluster: LocalCluster, method: str, path: str, body: Any = None, ctype: str = "application/json"
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {cluster.token}", "Content-Type": ctype}
    data = None if body is None else json.dumps(body).encode()
    r = http_pool(cluster).request(method, cluster.url + path, body=data, headers=headers)
    return r.status, json.loads(r.data) if r.data else None


def pod_body(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}


# ---- 1. a watch over HTTP/1.0 ---------------------------------------------------------------------------


def test_watch_over_http_1_0_streams_unchunked_and_closes(cluster: LocalCluster, server_log: Any) -> None:
    status, headers, body = raw(
        cluster, request(cluster, "GET", "/api/v1/namespaces?watch=1&timeoutSeconds=1", version="1.0")
    )
    assert status.startswith("HTTP/1.0 200")
    assert "transfer-encoding" not in headers and "content-length" not in headers
    events = [json.loads(line) for line in body.splitlines()]
    assert ("ADDED", "default") in [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert no_tracebacks(server_log) == []


def test_watch_over_http_1_1_is_still_chunked(cluster: LocalCluster) -> None:
    status, headers, _ = raw(cluster, request(cluster, "GET", "/api/v1/namespaces?watch=1&timeoutSeconds=1"))
    assert status.startswith("HTTP/1.1 200") and headers["transfer-encoding"] == "chunked"


# ---- 2. /status writes with mistyped fields ----------------------------------------------------------


TYPE, VALUE = "FieldValueTypeInvalid", "FieldValueInvalid"


@pytest.mark.parametrize(
    ("patch", "field", "reason", "message"),
    [
        (
            {"status": {"phase": 5}},
            "status.phase",
            TYPE,
            'Invalid value: "integer": status.phase in body must be of type string: "integer"',
        ),
        (
            {"status": {"containerStatuses": [{"name": "c", "restartCount": "many"}]}},
            "status.containerStatuses[0].restartCount",
            TYPE,
            'Invalid value: "string": status.containerStatuses[0].restartCount in body must be of type integer: '
            '"string"',
        ),
        (
            {"status": {"conditions": [{"type": "Ready", "lastTransitionTime": "yesterday"}]}},
            "status.conditions[0].lastTransitionTime",
            VALUE,
            'Invalid value: "yesterday": must be an RFC 3339 time, e.g. "2006-01-02T15:04:05Z"',
        ),
        (
            {"status": {"containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 2**40}}}]}},
            "status.containerStatuses[0].state.terminated.exitCode",
            VALUE,
            "Invalid value: 1099511627776: must be between -2147483648 and 2147483647, inclusive",
        ),
        (
            {"status": "done"},
            "status",
            TYPE,
            'Invalid value: "string": status in body must be of type object: "string"',
        ),
    ],
)
def test_status_patch_with_mistyped_fields_is_422_and_changes_nothing(
    cluster: LocalCluster, patch: dict[str, Any], field: str, reason: str, message: str
) -> None:
    name = "typed-" + "".join(ch if ch.isalnum() else "-" for ch in field.lower())
    assert api(cluster, "POST", "/api/v1/namespaces/default/pods", pod_body(name))[0] == 201
    path = f"/api/v1/namespaces/default/pods/{name}"
    _, before = api(cluster, "GET", path)
    code, out = api(cluster, "PATCH", path + "/status", patch, "application/merge-patch+json")
    assert code == 422
    assert (out["kind"], out["reason"], out["details"]["kind"], out["details"]["name"]) == (
        "Status",
        "Invalid",
        "Pod",
        name,
    )
    assert out["details"]["causes"] == [{"reason": reason, "message": message, "field": field}]
    assert out["message"] == f'Pod "{name}" is invalid: {field}: {message}'
    _, after = api(cluster, "GET", path)
    assert after == before  # nothing written: same resourceVersion, same status
    api(cluster, "DELETE", path)


def test_status_put_with_a_mistyped_field_is_422_and_a_well_typed_patch_still_works(cluster: LocalCluster) -> None:
    assert api(cluster, "POST", "/api/v1/namespaces/default/pods", pod_body("typed-put"))[0] == 201
    path = "/api/v1/namespaces/default/pods/typed-put"
    _, pod = api(cluster, "GET", path)
    bad = {**pod, "status": {**pod["status"], "podIPs": [{"ip": 10}]}}
    code, out = api(cluster, "PUT", path + "/status", bad)
    assert (code, out["details"]["causes"][0]["field"]) == (422, "status.podIPs[0].ip")
    code, out = api(
        cluster, "PATCH", path + "/status", {"status": {"phase": "Running"}}, "application/merge-patch+json"
    )
    assert (code, out["status"]["phase"]) == (200, "Running")
    api(cluster, "DELETE", path)


def test_namespace_status_types_are_checked_too(cluster: LocalCluster) -> None:
    assert api(cluster, "POST", "/api/v1/namespaces", {"metadata": {"name": "typed-ns"}})[0] == 201
    code, out = api(
        cluster,
        "PATCH",
        "/api/v1/namespaces/typed-ns/status",
        {"status": {"phase": ["Active"]}},
        "application/merge-patch+json",
    )
    assert (code, out["details"]["causes"][0]["field"]) == (422, "status.phase")
    assert api(cluster, "GET", "/api/v1/namespaces/typed-ns")[1]["status"] == {"phase": "Active"}
    api(cluster, "DELETE", "/api/v1/namespaces/typed-ns")


# ---- 3. immortal namespaces ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "kube-public", "kube-system"])
@pytest.mark.parametrize("query", ["", "?dryRun=All"])
def test_immortal_namespaces_cannot_be_deleted(cluster: LocalCluster, name: str, query: str) -> None:
    code, out = api(cluster, "DELETE", f"/api/v1/namespaces/{name}{query}")
    assert code == 403
    assert out == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'namespaces "{name}" is forbidden: this namespace may not be deleted',
        "reason": "Forbidden",
        "details": {"name": name, "kind": "namespaces"},
        "code": 403,
    }
    assert api(cluster, "GET", "/api/v1/namespaces/default")[1]["status"] == {"phase": "Active"}


def test_namespaces_have_no_deletecollection(cluster: LocalCluster) -> None:
    code, out = api(cluster, "DELETE", "/api/v1/namespaces")
    assert (code, out["reason"]) == (405, "MethodNotAllowed")
    assert api(cluster, "GET", "/api/v1/namespaces/default")[0] == 200


def test_other_namespaces_still_delete(cluster: LocalCluster) -> None:
    assert api(cluster, "POST", "/api/v1/namespaces", {"metadata": {"name": "mortal"}})[0] == 201
    code, out = api(cluster, "DELETE", "/api/v1/namespaces/mortal")
    assert (code, out["kind"]) == (200, "Namespace")


# ---- 4. oversized bodies, URLs and headers ---------------------------------------------------------------


def padded_pod(name: str, size: int) -> bytes:
    body = json.dumps(pod_body(name)).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_a_body_over_3_mib_is_413_in_status_shape_and_creates_nothing(cluster: LocalCluster, server_log: Any) -> None:
    extra = "Content-Type: application/json"
    status, headers, body = raw(
        cluster, request(cluster, "POST", "/api/v1/namespaces/default/pods", extra, body=padded_pod("huge", LIMIT + 1))
    )
    assert status.startswith("HTTP/1.1 413") and headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Request entity too large: limit is 3145728",
        "reason": "RequestEntityTooLarge",
        "code": 413,
    }
    assert api(cluster, "GET", "/api/v1/namespaces/default/pods/huge")[0] == 404
    assert no_tracebacks(server_log) == []


def test_a_body_of_exactly_3_mib_is_accepted(cluster: LocalCluster) -> None:
    extra = "Content-Type: application/json"
    status, _, _ = raw(
        cluster, request(cluster, "POST", "/api/v1/namespaces/default/pods", extra, body=padded_pod("edge", LIMIT))
    )
    assert status.startswith("HTTP/1.1 201")
    api(cluster, "DELETE", "/api/v1/namespaces/default/pods/edge")


def test_an_oversized_patch_body_is_413_too(cluster: LocalCluster) -> None:
    extra = "Content-Type: application/merge-patch+json"
    status, _, body = raw(
        cluster, request(cluster, "PATCH", "/api/v1/namespaces/default", extra, body=b"{" + b" " * LIMIT + b"}")
    )
    assert status.startswith("HTTP/1.1 413") and json.loads(body)["reason"] == "RequestEntityTooLarge"


@pytest.mark.parametrize(
    "what",
    [
        ("GET", "/api/v1/pods?labelSelector=" + "a" * 9000, ()),
        ("GET", "/api/v1/pods", ("X-Big: " + "a" * 9000,)),
        ("GET", "/api/v1/pods", tuple(f"X-H{i}: 1" for i in range(200))),
    ],
    ids=["url", "header", "header-count"],
)
def test_oversized_urls_and_headers_are_431_in_status_shape(
    cluster: LocalCluster, server_log: Any, what: tuple[str, str, tuple[str, ...]]
) -> None:
    method, path, extra = what
    status, headers, body = raw(cluster, request(cluster, method, path, *extra))
    assert status.split()[1] == "431" and headers["content-type"] == "application/json"
    out = json.loads(body)
    assert (out["kind"], out["status"], out["code"]) == ("Status", "Failure", 431)
    assert "Request Header Fields Too Large" in out["message"]
    assert no_tracebacks(server_log) == []
    assert cluster.token not in server_log.text
    assert api(cluster, "GET", "/api/v1/namespaces/default")[0] == 200  # and the server serves on


# ---- 5. Content-Length: -1 -----------------------------------------------------------------------------


def test_negative_content_length_is_400_in_status_shape_without_traceback(
    cluster: LocalCluster, server_log: Any
) -> None:
    data = request(
        cluster, "POST", "/api/v1/namespaces/default/pods", "Content-Type: application/json", "Content-Length: -1"
    )
    status, headers, body = raw(cluster, data + b'{"metadata":{"name":"neg"}}')
    assert status.split()[1] == "400" and headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "bad Content-Length: it must be a single non-negative decimal integer",
        "reason": "BadRequest",
        "code": 400,
    }
    assert no_tracebacks(server_log) == []
    assert any("unparseable request" in r.getMessage() for r in server_log.records)
    assert cluster.token not in server_log.text  # the rejected request's bytes are never logged
    assert api(cluster, "GET", "/api/v1/namespaces/default/pods/neg")[0] == 404


# ---- 6. the audit log is private ----------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_audit_log_and_the_directories_the_server_creates_are_private(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    path = tmp_path / "new" / "deeper" / "audit.jsonl"
    with LocalCluster(ClusterConfig(mode="none", audit_log=path, tls=False)) as c:
        assert api(c, "GET", "/api/v1/namespaces/default")[0] == 200
    assert path.read_text().count("\n") >= 1
    assert mode(path) == 0o600
    assert (mode(tmp_path / "new"), mode(tmp_path / "new" / "deeper")) == (0o700, 0o700)
    assert mode(tmp_path) == 0o755  # a directory that already existed is left alone


def test_an_existing_audit_log_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text('{"earlier":true}\n')
    os.chmod(path, 0o644)
    log = AuditLog(path)
    log.close()
    assert mode(path) == 0o600 and path.read_text() == '{"earlier":true}\n'
