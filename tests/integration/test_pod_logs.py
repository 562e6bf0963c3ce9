"""pods/log with the kubelet's options, through kubectl logs and the official client.

timestamps (RFC3339Nano with nine digits, one per record), sinceSeconds, sinceTime (whole seconds),
limitBytes, tailLines, previous (the instance before a restart; a 400 for a container that never
restarted), and follow with all of them, resumed with sinceTime as KubernetesPodOperator does.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from podherd.localcluster.apiserver.server import LocalCluster, http_pool
from tests.integration.conftest import pod_manifest, wait_for
from tests.integration.kubectl_cli import kubectl, needs_kubectl, run_kubectl

STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (.*)")


def py(script: str) -> list[str]:
    return [sys.executable, "-c", script]


def stamped(text: str) -> list[tuple[datetime, str]]:
    out = []
    for line in text.splitlines():
        m = STAMP.fullmatch(line)
        assert m, f"not a timestamped line: {line!r}"
        whole, nanos = m.group(1)[:19], m.group(1)[20:29]
        t = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC, microsecond=int(nanos[:6]))
        out.append((t, m.group(2)))
    return out


def phase(core: client.CoreV1Api, ns: str, name: str) -> str:
    return core.read_namespaced_pod(name, ns).status.phase


@needs_kubectl
def test_kubectl_logs_timestamps_since_time_limit_bytes_and_tail(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    script = "import time\nprint('early', flush=True)\ntime.sleep(2.2)\nprint('late')\nprint('0123456789' * 3)"
    core.create_namespaced_pod(ns, pod_manifest("times", command=py(script)))
    wait_for(lambda: phase(core, ns, "times") == "Succeeded", what="pod Succeeded")
    lines = stamped(kubectl(cluster, tmp_path, "-n", ns, "logs", "times", "--timestamps"))
    assert [text for _, text in lines] == ["early", "late", "0123456789" * 3]
    assert (lines[1][0] - lines[0][0]).total_seconds() >= 2
    since = lines[1][0].replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = kubectl(cluster, tmp_path, "-n", ns, "logs", "times", f"--since-time={since}")
    assert out == "late\n" + "0123456789" * 3 + "\n"
    assert kubectl(cluster, tmp_path, "-n", ns, "logs", "times", "--limit-bytes=8") == "early\nla"
    tail = kubectl(cluster, tmp_path, "-n", ns, "logs", "times", "--tail=1", "--timestamps", "--limit-bytes=40")
    assert STAMP.fullmatch(tail[:31] + "x") and tail.endswith(" 012345678")  # the prefix counts against the limit


@needs_kubectl
def test_kubectl_logs_since_seconds(cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path) -> None:
    script = "import time\nprint('old', flush=True)\ntime.sleep(3)\nprint('new', flush=True)\ntime.sleep(30)"
    core.create_namespaced_pod(ns, pod_manifest("recent", command=py(script)))
    wait_for(lambda: phase(core, ns, "recent") == "Running", what="pod Running")
    wait_for(lambda: "new" in core.read_namespaced_pod_log("recent", ns), timeout=30, what="the second line")
    assert kubectl(cluster, tmp_path, "-n", ns, "logs", "recent", "--since=2s") == "new\n"
    assert kubectl(cluster, tmp_path, "-n", ns, "logs", "recent", "--since=1h") == "old\nnew\n"
    core.delete_namespaced_pod("recent", ns, grace_period_seconds=0)


@needs_kubectl
def test_kubectl_logs_previous(cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran-once"
    script = f"import os, sys\nif os.path.exists({str(marker)!r}):\n    print('second')\nelse:\n"
    script += f"    open({str(marker)!r}, 'w').close(); print('first'); sys.exit(1)"
    core.create_namespaced_pod(ns, pod_manifest("again", command=py(script), restartPolicy="OnFailure"))
    core.create_namespaced_pod(ns, pod_manifest("once", command=["echo", "only"]))
    wait_for(lambda: phase(core, ns, "again") == "Succeeded", timeout=30, what="the restarted pod Succeeded")
    status = core.read_namespaced_pod("again", ns).status.container_statuses[0]
    assert status.restart_count == 1 and status.last_state.terminated.exit_code == 1
    assert kubectl(cluster, tmp_path, "-n", ns, "logs", "again") == "second\n"
    assert kubectl(cluster, tmp_path, "-n", ns, "logs", "again", "-p") == "first\n"
    assert kubectl(cluster, tmp_path, "-n", ns, "logs", "again", "--previous", "--timestamps").endswith(" first\n")
    wait_for(lambda: phase(core, ns, "once") == "Succeeded", what="pod Succeeded")
    p = run_kubectl(cluster, tmp_path, "-n", ns, "logs", "once", "-p")
    assert p.returncode == 1
    assert 'previous terminated container "main" in pod "once" not found' in p.stderr


def raw_log(cluster: LocalCluster, ns: str, name: str, query: str) -> bytes:
    """GET pods/NAME/log?QUERY over HTTPS (the official client has no sinceTime parameter)."""
    r = http_pool(cluster).request(
        "GET",
        f"{cluster.url}/api/v1/namespaces/{ns}/pods/{name}/log?{query}",
        headers={"Authorization": f"Bearer {cluster.token}"},
    )
    assert r.status == 200, r.data
    return r.data


def test_follow_with_timestamps_then_resume_with_since_time(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str
) -> None:
    """KubernetesPodOperator reads `follow=true&timestamps=true` and, after a break, resumes from the last
    time it saw (sinceTime on the wire, or sinceSeconds computed from it through the official client)."""
    script = "import time\nfor i in range(8):\n    print(f'line {i}', flush=True)\n    time.sleep(0.4)\n"
    core.create_namespaced_pod(ns, pod_manifest("stream", command=py(script)))
    wait_for(lambda: phase(core, ns, "stream") in ("Running", "Succeeded"), what="started")
    resp = core.read_namespaced_pod_log("stream", ns, follow=True, timestamps=True, _preload_content=False)
    first: list[str] = []
    for raw in resp.stream(amt=64, decode_content=False):
        first += [line for line in raw.decode().splitlines() if line]
        if len(first) >= 2:
            break
    resp.release_conn()
    last_time, last_text = stamped(first[-1])[-1]
    since = last_time.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    resumed = stamped(raw_log(cluster, ns, "stream", f"follow=true&timestamps=true&sinceTime={since}").decode())
    assert all(t >= last_time.replace(microsecond=0) for t, _ in resumed)  # whole seconds: some lines again
    texts = [text for _, text in resumed]
    assert texts[-1] == "line 7" and last_text in texts and texts == [f"line {i}" for i in range(8)][-len(texts) :]
    seconds = max(int((datetime.now(UTC) - last_time).total_seconds()) + 1, 1)
    again = core.read_namespaced_pod_log("stream", ns, follow=True, timestamps=True, since_seconds=seconds)
    assert [text for _, text in stamped(again)][-1] == "line 7"


def test_follow_stops_at_the_byte_limit(core: client.CoreV1Api, ns: str) -> None:
    script = "import time\nfor i in range(50):\n    print('x' * 9, flush=True)\n    time.sleep(0.05)\n"
    core.create_namespaced_pod(ns, pod_manifest("capped", command=py(script)))
    wait_for(lambda: phase(core, ns, "capped") in ("Running", "Succeeded"), what="started")
    out = core.read_namespaced_pod_log("capped", ns, follow=True, limit_bytes=25, _preload_content=False).data
    assert out == b"xxxxxxxxx\nxxxxxxxxx\nxxxxx"


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        ({"tail_lines": -1}, 422, "tailLines: Invalid value: -1: must be greater than or equal to 0"),
        ({"limit_bytes": 0}, 422, "limitBytes: Invalid value: 0: must be greater than 0"),
        ({"since_seconds": 0}, 422, "sinceSeconds: Invalid value: 0: must be greater than 0"),
        ({"previous": True}, 400, 'previous terminated container "main" in pod "val" not found'),
    ],
)
def test_bad_log_options(core: client.CoreV1Api, ns: str, query: dict, code: int, fragment: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("val", command=["echo", "x"]))
    wait_for(lambda: phase(core, ns, "val") == "Succeeded", what="pod Succeeded")
    with pytest.raises(ApiException) as ei:
        core.read_namespaced_pod_log("val", ns, **query)
    st = json.loads(ei.value.body)
    assert ei.value.status == code and fragment in st["message"]
    if code == 422:
        assert st["reason"] == "Invalid" and st["details"]["kind"] == "PodLogOptions"


def test_since_time_and_since_seconds_together_are_422(cluster: LocalCluster, ns: str) -> None:
    r = http_pool(cluster).request(
        "GET",
        f"{cluster.url}/api/v1/namespaces/{ns}/pods/any/log?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z",
        headers={"Authorization": f"Bearer {cluster.token}"},
    )
    assert r.status == 404  # the pod is looked up first
    core = client.CoreV1Api(cluster.api_client())
    core.create_namespaced_pod(ns, pod_manifest("both", command=["echo", "x"]))
    r = http_pool(cluster).request(
        "GET",
        f"{cluster.url}/api/v1/namespaces/{ns}/pods/both/log?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z",
        headers={"Authorization": f"Bearer {cluster.token}"},
    )
    st = json.loads(r.data)
    assert r.status == 422 and st["details"]["causes"] == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
        }
    ]
