"""`podherd cluster up` as a real process: ready line, kubeconfig, auth, audit log, admin faults, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import urllib3
import yaml
from kubernetes import client, config

PODHERD = [sys.executable, "-m", "podherd.cli"]


def start(tmp: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    kc = tmp / "kubeconfig"
    proc = subprocess.Popen(
        [
            *PODHERD,
            "cluster",
            "up",
            "--port",
            "0",
            "--kubeconfig",
            str(kc),
            "--audit-log",
            str(tmp / "audit.jsonl"),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "ready at https://127.0.0.1:" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, line


def test_cluster_up_serves_kubectl_style_clients_and_stops_cleanly(tmp_path: Path) -> None:
    proc, line = start(tmp_path)
    try:
        kc = tmp_path / "kubeconfig"
        assert stat.S_IMODE(kc.stat().st_mode) == 0o600
        doc = yaml.safe_load(kc.read_text())
        server = doc["clusters"][0]["cluster"]["server"]
        assert server in line and doc["users"][0]["user"]["token"]
        assert doc["clusters"][0]["cluster"]["certificate-authority-data"]

        api = config.new_client_from_config(config_file=str(kc))
        core = client.CoreV1Api(api)
        marker = tmp_path / "still-running"
        script = f"import time, pathlib\nwhile True:\n    pathlib.Path({str(marker)!r}).touch()\n    time.sleep(0.1)\n"
        core.create_namespaced_pod(
            "default",
            {
                "metadata": {"name": "spin"},
                "spec": {"containers": [{"name": "c", "image": "python:3", "command": [sys.executable, "-c", script]}]},
            },
        )
        deadline = time.monotonic() + 20
        while not marker.exists():
            assert time.monotonic() < deadline, "the pod's process never started"
            time.sleep(0.05)

        # no token: 401 in Status shape
        ca = tmp_path / "ca.crt"
        import base64

        ca.write_bytes(base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]))
        r = urllib3.PoolManager(ca_certs=str(ca)).request("GET", f"{server}/api/v1/pods")
        assert r.status == 401 and json.loads(r.data)["reason"] == "Unauthorized"

        # runtime faults through the token-protected admin endpoint
        http = urllib3.PoolManager(ca_certs=str(ca))
        token = doc["users"][0]["user"]["token"]
        r = http.request(
            "PUT",
            f"{server}/admin/faults",
            body=b'{"error_rate": {"list": 1.0}}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert r.status == 200 and json.loads(r.data)["error_rate"] == {"list": 1.0}
        r = http.request(
            "GET", f"{server}/api/v1/namespaces/default/pods", headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status in (500, 503)
        r = http.request(
            "PUT",
            f"{server}/admin/faults",
            body=b'{"error_rate": {"lst": 1.0}}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert r.status == 400  # a typo is rejected, not ignored
        assert http.request("PUT", f"{server}/admin/faults", body=b"{}").status == 401

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        marker.unlink()
        time.sleep(0.5)
        assert not marker.exists(), "the pod's process outlived the cluster"
    finally:
        if proc.poll() is None:
            proc.kill()

    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert {"time", "verb", "path", "query", "code", "userAgent"} <= set(lines[0])
    creates = [x for x in lines if x["verb"] == "create" and x["resource"] == "pods"]
    assert creates and creates[0]["code"] == 201 and creates[0]["path"] == "/api/v1/namespaces/default/pods"
    assert creates[0]["responseBytes"] > 100  # the created Pod, as sent back
    assert any(x["code"] == 401 and x["responseBytes"] > 0 for x in lines)  # a Status body


def test_cluster_up_rejects_bad_options(tmp_path: Path) -> None:
    p = subprocess.run([*PODHERD, "cluster", "up", "--mode", "docker"], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 2 and "docker" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run(
        [*PODHERD, "cluster", "up", "--fault", "error_rate=lots"], capture_output=True, text=True, cwd=tmp_path
    )
    assert p.returncode == 2 and "not a number" in p.stderr and "Traceback" not in p.stderr


def test_cluster_up_port_in_use(tmp_path: Path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        p = subprocess.run(
            [*PODHERD, "cluster", "up", "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=30,
            env={**os.environ},
        )
        assert p.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in p.stderr
        assert "Traceback" not in p.stderr
    finally:
        s.close()
