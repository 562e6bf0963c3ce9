"""pods/exec and pods/attach over WebSocket: the real kubectl, the official client's stream(), raw channel protocols."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import websocket
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from podherd.localcluster.apiserver.server import LocalCluster, http_pool
from tests.integration.conftest import audit_lines, pod_manifest, wait_for
from tests.integration.kubectl_cli import KUBECTL, kubectl, needs_kubectl, run_kubectl


def running_pod(core: client.CoreV1Api, ns: str, name: str, **spec: Any) -> None:
    core.create_namespaced_pod(ns, pod_manifest(name, command=["sleep", "60"], **spec))
    wait_for(lambda: core.read_namespaced_pod(name, ns).status.phase == "Running", what=f"{name} Running")


# ---- kubectl exec -------------------------------------------------------------------------------------------


@needs_kubectl
def test_kubectl_exec_output_stderr_and_exit_code(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    running_pod(core, ns, "box")
    assert kubectl(cluster, tmp_path, "-n", ns, "exec", "box", "--", "echo", "hello", "world") == "hello world\n"
    p = run_kubectl(cluster, tmp_path, "-n", ns, "exec", "box", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (p.returncode, p.stdout) == (3, "out\n")
    assert p.stderr.splitlines() == ["err", "command terminated with exit code 3"]
    p = run_kubectl(cluster, tmp_path, "-n", ns, "exec", "box", "--", "no-such-command")
    assert p.returncode == 1
    assert 'exec: "no-such-command": executable file not found in $PATH' in p.stderr


@needs_kubectl
def test_kubectl_exec_uses_the_websocket_v5_protocol(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    running_pod(core, ns, "ws")
    p = run_kubectl(cluster, tmp_path, "-v=6", "-n", ns, "exec", "ws", "--", "true")
    assert p.returncode == 0 and "The subprotocol is v5.channel.k8s.io" in p.stderr
    assert cluster.config.audit_log is not None
    execs = [
        a for a in audit_lines(cluster.config.audit_log) if a.get("subresource") == "exec" and a.get("name") == "ws"
    ]
    assert [(a["verb"], a["code"]) for a in execs] == [("get", 101)]  # one WebSocket upgrade, no SPDY fallback


@needs_kubectl
def test_kubectl_exec_with_stdin(cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path) -> None:
    running_pod(core, ns, "cat")
    out = kubectl(
        cluster, tmp_path, "-n", ns, "exec", "-i", "cat", "--", "sh", "-c", "tr a-z A-Z; echo done", stdin="one\ntwo\n"
    )
    assert out == "ONE\nTWO\ndone\n"  # kubectl closes stdin at EOF (v5 close signal): tr ends


@needs_kubectl
def test_exec_runs_with_the_containers_env_and_working_dir(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    c = {
        "name": "main",
        "image": "busybox:1.36",
        "command": ["sleep", "60"],
        "workingDir": str(work),
        "env": [{"name": "GREETING", "value": "hi"}],
    }
    core.create_namespaced_pod(
        ns, {"metadata": {"name": "envd"}, "spec": {"restartPolicy": "Never", "containers": [c]}}
    )
    wait_for(lambda: core.read_namespaced_pod("envd", ns).status.phase == "Running", what="Running")
    out = kubectl(cluster, tmp_path, "-n", ns, "exec", "envd", "--", "sh", "-c", "echo $GREETING $HOSTNAME; pwd")
    assert out == f"hi envd\n{work}\n"
    out = kubectl(cluster, tmp_path, "-n", ns, "exec", "envd", "--", "echo", "$GREETING")  # argv, never a shell
    assert out == "$GREETING\n"


@needs_kubectl
def test_kubectl_exec_errors(cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path) -> None:
    core.create_namespaced_pod(ns, pod_manifest("done", command=["true"]))
    running_pod(core, ns, "alive")
    wait_for(lambda: core.read_namespaced_pod("done", ns).status.phase == "Succeeded", what="Succeeded")
    p = run_kubectl(cluster, tmp_path, "-n", ns, "exec", "done", "--", "true")
    assert p.returncode == 1 and "cannot exec into a container in a completed pod" in p.stderr  # kubectl's own check
    p = run_kubectl(cluster, tmp_path, "-n", ns, "exec", "alive", "-c", "nope", "--", "true")
    assert p.returncode == 1 and "container nope is not valid for pod alive" in p.stderr


# ---- kubectl attach -----------------------------------------------------------------------------------------


@needs_kubectl
def test_kubectl_attach_with_stdin_once(cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path) -> None:
    script = "echo ready; while read l; do echo got:$l; done; echo bye"
    c = {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", script], "stdin": True, "stdinOnce": True}
    core.create_namespaced_pod(
        ns, {"metadata": {"name": "reader"}, "spec": {"restartPolicy": "Never", "containers": [c]}}
    )
    wait_for(lambda: core.read_namespaced_pod("reader", ns).status.phase == "Running", what="Running")
    wait_for(lambda: core.read_namespaced_pod_log("reader", ns) == "ready\n", what="the prompt")
    out = kubectl(cluster, tmp_path, "-n", ns, "attach", "-i", "reader", stdin="one\ntwo\n")
    assert out == "got:one\ngot:two\nbye\n"  # stdinOnce: the container's stdin closes with kubectl's
    wait_for(lambda: core.read_namespaced_pod("reader", ns).status.phase == "Succeeded", what="Succeeded")
    assert core.read_namespaced_pod_log("reader", ns) == "ready\ngot:one\ngot:two\nbye\n"


# ---- the official client ------------------------------------------------------------------------------------


def test_python_client_stream_preloaded(core: client.CoreV1Api, ns: str) -> None:
    running_pod(core, ns, "py")
    out = stream(
        core.connect_get_namespaced_pod_exec,
        "py",
        ns,
        command=["sh", "-c", "echo a; echo b >&2"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
    assert sorted(out.splitlines()) == ["a", "b"]


def test_python_client_interactive_exec(core: client.CoreV1Api, ns: str) -> None:
    running_pod(core, ns, "inter")
    resp = stream(
        core.connect_get_namespaced_pod_exec,
        "inter",
        ns,
        command=["sh", "-c", "while read l; do echo got:$l; done; exit 7"],
        stderr=True,
        stdin=True,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    assert resp.subprotocol == "v5.channel.k8s.io"
    resp.write_stdin("one\n")
    assert resp.readline_stdout(timeout=10) == "got:one"
    resp.write_stdin(b"two\n")
    assert resp.readline_stdout(timeout=10) == "got:two"
    resp.close_channel(0)  # v5: stdin's EOF ends the loop
    resp.run_forever(timeout=10)
    assert resp.returncode == 7


def test_python_client_exec_with_a_terminal(core: client.CoreV1Api, ns: str) -> None:
    running_pod(core, ns, "term")
    resp = stream(
        core.connect_get_namespaced_pod_exec,
        "term",
        ns,
        command=["sh", "-c", "test -t 0 && echo tty; read x; stty size"],
        stderr=True,
        stdin=True,
        stdout=True,
        tty=True,
        _preload_content=False,
    )
    resp.write_channel(4, json.dumps({"Width": 123, "Height": 45}))
    time.sleep(0.2)
    resp.write_stdin("\n")
    resp.run_forever(timeout=10)
    assert resp.returncode == 0  # read_all() below forgets the error channel too
    text = resp.read_all().replace("\r", "")
    assert "tty" in text and "45 123" in text


def test_python_client_attach(core: client.CoreV1Api, ns: str) -> None:
    script = "import time\nfor i in range(50):\n    print(i, flush=True)\n    time.sleep(0.1)\n"
    core.create_namespaced_pod(ns, pod_manifest("talker", command=[sys.executable, "-c", script]))
    wait_for(lambda: core.read_namespaced_pod("talker", ns).status.phase == "Running", what="Running")
    resp = stream(
        core.connect_get_namespaced_pod_attach,
        "talker",
        ns,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    seen = ""
    deadline = time.monotonic() + 10
    while len(seen.split()) < 3 and time.monotonic() < deadline:
        resp.update(timeout=1)
        seen += resp.read_stdout() or ""
    resp.close()
    numbers = [int(n) for n in seen.split()]
    assert len(numbers) >= 3 and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_exec_into_a_finished_container_is_an_error_on_the_error_channel(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(
        ns,
        {
            "metadata": {"name": "two"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {"name": "quick", "image": "busybox:1.36", "command": ["true"]},
                    {"name": "slow", "image": "busybox:1.36", "command": ["sleep", "60"]},
                ],
            },
        },
    )

    def quick_done() -> bool:
        statuses = core.read_namespaced_pod("two", ns).status.container_statuses or []
        return any(s.name == "quick" and s.state.terminated for s in statuses)

    wait_for(quick_done, what="the quick container exited")
    resp = stream(
        core.connect_get_namespaced_pod_exec,
        "two",
        ns,
        container="quick",
        command=["true"],
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
        _preload_content=False,
    )
    resp.run_forever(timeout=10)
    err = json.loads(resp.read_channel(3))
    assert err["reason"] == "InternalError" and err["code"] == 500
    assert err["message"] == 'Internal error occurred: unable to upgrade connection: container not found ("quick")'


# ---- raw protocols and plain-HTTP answers -------------------------------------------------------------------


def raw_ws(cluster: LocalCluster, path: str, protocol: str) -> websocket.WebSocket:
    ws = websocket.WebSocket(sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": cluster.ca_file})
    ws.connect(
        cluster.url.replace("https", "wss") + path,
        header=[f"Authorization: Bearer {cluster.token}"],
        subprotocols=[protocol],
    )
    return ws


def frames(ws: websocket.WebSocket) -> list[tuple[int, bytes]]:
    out = []
    while True:
        opcode, data = ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return out
        out.append((opcode, data))


def test_v4_and_base64_protocols(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    running_pod(core, ns, "raw")
    path = f"/api/v1/namespaces/{ns}/pods/raw/exec?command=sh&command=-c&command=echo+hi;exit+2&stdout=true&stderr=true"
    ws = raw_ws(cluster, path, "v4.channel.k8s.io")
    got = frames(ws)
    assert ws.subprotocol == "v4.channel.k8s.io" and got[0] == (websocket.ABNF.OPCODE_BINARY, b"\x01")
    assert (websocket.ABNF.OPCODE_BINARY, b"\x01hi\n") in got
    status = json.loads(got[-1][1][1:])
    assert got[-1][1][0] == 3 and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "2"}]
    assert (
        status["message"]
        == "command terminated with non-zero exit code: error executing command [sh -c echo hi;exit 2], exit code 2"
    )
    ws = raw_ws(cluster, path, "v4.base64.channel.k8s.io")
    texts = [d.decode() for op, d in frames(ws) if op == websocket.ABNF.OPCODE_TEXT]
    assert "1" + base64.b64encode(b"hi\n").decode() in texts
    assert json.loads(base64.b64decode(texts[-1][1:]))["details"]["causes"][0]["message"] == "2"


def test_plain_http_and_spdy_requests_get_a_400(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    running_pod(core, ns, "plain")
    http = http_pool(cluster)
    base = f"{cluster.url}/api/v1/namespaces/{ns}/pods/plain/exec?command=true&stdout=true"
    auth = {"Authorization": f"Bearer {cluster.token}"}
    r = http.request("GET", base, headers=auth)
    assert r.status == 400 and json.loads(r.data)["message"] == "Upgrade request required"
    r = http.request("POST", base, headers={**auth, "Upgrade": "SPDY/3.1", "Connection": "Upgrade"})
    assert r.status == 400 and "SPDY is not supported" in json.loads(r.data)["message"]
    r = http.request("GET", base.replace("stdout=true", "stdout=false"), headers=auth)
    assert r.status == 400 and json.loads(r.data)["message"] == "you must specify at least 1 of stdin, stdout, stderr"
    with pytest.raises(ApiException) as ei:
        stream(
            core.connect_get_namespaced_pod_exec,
            "missing",
            ns,
            command=["true"],
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
        )
    assert "404" in str(ei.value.reason)


def test_simulate_mode_says_why_it_cannot_exec(tmp_path: Path) -> None:
    from podherd.localcluster.apiserver.server import ClusterConfig

    with LocalCluster(ClusterConfig(mode="simulate", kubeconfig=tmp_path / "kc")) as sim:
        core = client.CoreV1Api(sim.api_client())
        pod = pod_manifest("sim")
        pod["metadata"]["annotations"] = {"podherd.io/simulate-duration": "30"}
        core.create_namespaced_pod("default", pod)
        wait_for(lambda: core.read_namespaced_pod("sim", "default").status.phase == "Running", what="Running")
        resp = stream(
            core.connect_get_namespaced_pod_exec,
            "sim",
            "default",
            command=["true"],
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
            _preload_content=False,
        )
        resp.run_forever(timeout=10)
        err = json.loads(resp.read_channel(3))
        assert (
            err["reason"] == "InternalError"
            and "simulate mode" in err["message"]
            and "--mode process" in err["message"]
        )
        if KUBECTL is not None:
            p = subprocess.run(
                [KUBECTL, "--kubeconfig", str(tmp_path / "kc"), "exec", "sim", "--", "true"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert p.returncode == 1 and "simulate mode" in p.stderr


def test_an_exec_whose_client_leaves_is_killed(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    running_pod(core, ns, "left")
    path = f"/api/v1/namespaces/{ns}/pods/left/exec?command=sh&command=-c&command=echo+$$;+exec+sleep+60&stdout=true"
    ws = raw_ws(cluster, path, "v5.channel.k8s.io")
    pid = 0
    while not pid:
        _op, data = ws.recv_data()
        if data[:1] == b"\x01" and data[1:].strip():
            pid = int(data[1:])
    os.kill(pid, 0)  # running on this machine
    ws.close()

    def gone() -> bool:
        try:
            os.kill(pid, 0)
            # a zombie has been killed and waits to be reaped; it may be reaped while we read
            return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
        except (ProcessLookupError, FileNotFoundError):
            return True

    wait_for(gone, what="the exec'd process killed")
