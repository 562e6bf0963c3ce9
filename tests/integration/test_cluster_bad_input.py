"""Bad input to the embedded API server (issue 9, items 5 and 6): every answer a Kubernetes Status, nothing written.

Each test talks to a real cluster over HTTPS, with raw sockets where a client library would refuse to
send the request (HTTP/1.0, a negative Content-Length, oversized lines), and checks the server log
for tracebacks. The cluster runs without a kubelet so that no status write races the assertions.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

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
