"""The local kubelet against the real store/api/deleter, in process and simulate mode (API.md §6, §9, §10).

Each test builds its own Store/Api/Deleter/LogStore/Kubelet inside `asyncio.run` and polls the store with a
deadline for the states it expects.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.kubelet.core import Kubelet
from podherd.localcluster.kubelet.logs import LogStore
from podherd.localcluster.registry.deletion import DeleteOptions, Deleter
from podherd.localcluster.registry.store import Api
from podherd.localcluster.storage.store import Event, Store

PY = sys.executable
NS = "default"
CONTAINER_ID = re.compile(r"^containerd://[0-9a-f]{64}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class Cluster:
    def __init__(self, mode: str = "process", **kw: Any) -> None:
        self.store = Store()
        self.api = Api(self.store)
        self.deleter = Deleter(self.api)
        self.logs = LogStore()
        self.kubelet = Kubelet(self.api, self.deleter, self.logs, mode=mode, **kw)
        self.history: list[Event] = []
        self.store.subscribe(lambda ev: self.history.append(ev) if ev.resource == "pods" else None)

    def create(self, name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
        meta = spec.pop("metadata", {})
        body = {
            "metadata": {"name": name, **meta},
            "spec": {"restartPolicy": "Never", "containers": containers, **spec},
        }
        return self.api.create(PODS, NS, body)

    def pod(self, name: str) -> dict[str, Any] | None:
        return self.store.get("pods", (NS, name))

    def phase(self, name: str) -> str | None:
        p = self.pod(name)
        return None if p is None else p.get("status", {}).get("phase")

    def container(self, name: str, idx: int = 0, init: bool = False) -> dict[str, Any]:
        p = self.pod(name)
        assert p is not None, f"pod {name} is gone"
        return p["status"]["initContainerStatuses" if init else "containerStatuses"][idx]

    def waiting_reason(self, name: str) -> str:
        statuses = ((self.pod(name) or {}).get("status") or {}).get("containerStatuses") or [{}]
        return statuses[0].get("state", {}).get("waiting", {}).get("reason", "")

    def restarts(self, name: str) -> int:
        statuses = ((self.pod(name) or {}).get("status") or {}).get("containerStatuses") or [{}]
        return statuses[0].get("restartCount", 0)

    def log(self, pod: str, container: str = "c") -> str:
        return self.logs.read(NS, pod, container).decode()

    def events(self, pod: str) -> list[dict[str, Any]]:
        return [e for _k, e in self.store.items("events", NS) if e["involvedObject"]["name"] == pod]

    def statuses_of(self, name: str) -> list[dict[str, Any]]:
        return [ev.obj.get("status", {}) for ev in self.history if ev.key == (NS, name) and ev.type != "DELETED"]

    async def wait(self, pred: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = pred()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.02)

    async def wait_phase(self, name: str, phase: str, timeout: float = 20.0) -> dict[str, Any]:
        await self.wait(
            lambda: self.phase(name) == phase, f"pod {name} phase {phase} (now {self.phase(name)})", timeout
        )
        p = self.pod(name)
        assert p is not None
        return p

    async def wait_gone(self, name: str, timeout: float = 20.0) -> None:
        await self.wait(lambda: self.pod(name) is None, f"pod {name} removed", timeout)


def with_cluster(mode: str = "process", **kw: Any) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., None]]:
    """Run an async test body with a started kubelet; always stop it afterwards."""

    def deco(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            async def main() -> None:
                c = Cluster(mode, **kw)
                await c.kubelet.start()
                try:
                    await fn(c, *args, **kwargs)
                finally:
                    await c.kubelet.stop()

            asyncio.run(main())

        # pytest must not see the injected first parameter
        wrapper.__signature__ = _drop_first_param(fn)  # type: ignore[attr-defined]
        return wrapper

    return deco


def _drop_first_param(fn: Callable[..., Any]) -> Any:
    import inspect

    sig = inspect.signature(fn)
    return sig.replace(parameters=list(sig.parameters.values())[1:])


def py(code: str, name: str = "c", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "python:3.11", "command": [PY, "-c", code], **extra}


# ---- process mode: the happy path and status shape ---------------------------------------------------
@with_cluster()
async def test_hello_succeeds_with_logs_and_real_status_shape(c: Cluster) -> None:
    c.create("hello", [py("print('hi')")])
    pod = await c.wait_phase("hello", "Succeeded")
    assert c.log("hello") == "hi\n"
    assert pod["spec"]["nodeName"] == "local"
    st = pod["status"]
    assert list(st) == [
        "phase",
        "conditions",
        "hostIP",
        "hostIPs",
        "podIP",
        "podIPs",
        "startTime",
        "containerStatuses",
        "qosClass",
    ]
    assert (st["hostIP"], st["podIP"]) == ("127.0.0.1", "127.0.0.1")
    assert st["hostIPs"] == st["podIPs"] == [{"ip": "127.0.0.1"}]
    assert TIMESTAMP.match(st["startTime"])
    conds = [(x["type"], x["status"], x.get("reason")) for x in st["conditions"]]
    assert conds == [
        ("PodReadyToStartContainers", "False", None),
        ("Initialized", "True", "PodCompleted"),
        ("Ready", "False", "PodCompleted"),
        ("ContainersReady", "False", "PodCompleted"),
        ("PodScheduled", "True", None),
    ]
    cs = st["containerStatuses"][0]
    term = cs["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    assert TIMESTAMP.match(term["startedAt"]) and TIMESTAMP.match(term["finishedAt"])
    assert CONTAINER_ID.match(term["containerID"]) and cs["containerID"] == term["containerID"]
    assert (cs["ready"], cs["started"], cs["restartCount"], cs["lastState"]) == (False, False, 0, {})
    assert cs["image"] == "python:3.11" and re.fullmatch(
        r"docker\.io/library/python@sha256:[0-9a-f]{64}", cs["imageID"]
    )

    # the transitions: Pending/ContainerCreating -> Running -> Succeeded
    seen = c.statuses_of("hello")
    phases = [s.get("phase") for s in seen]
    assert phases[0] == "Pending" and phases[-1] == "Succeeded"
    creating = next(s for s in seen if s.get("containerStatuses"))
    assert creating["phase"] == "Pending"
    assert creating["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert "podIP" not in creating and creating["hostIP"] == "127.0.0.1"
    running = next(s for s in seen if s.get("phase") == "Running")
    rcs = running["containerStatuses"][0]
    assert set(rcs["state"]) == {"running"} and rcs["ready"] is True and rcs["started"] is True
    assert [x["status"] for x in running["conditions"]] == ["True"] * 5

    evs = {e["reason"]: e for e in c.events("hello")}
    assert {"Scheduled", "Pulled", "Created", "Started"} <= set(evs)
    assert evs["Scheduled"]["message"] == "Successfully assigned default/hello to local"
    started = evs["Started"]
    assert started["source"] == {"component": "kubelet", "host": "local"}
    assert (started["reportingComponent"], started["type"], started["count"]) == ("kubelet", "Normal", 1)
    assert started["involvedObject"]["fieldPath"] == "spec.containers{c}"
    assert started["involvedObject"]["uid"] == pod["metadata"]["uid"]
    assert started["eventTime"] is None
    assert evs["Pulled"]["message"] == 'Container image "python:3.11" already present on machine'


@with_cluster()
async def test_exit_code_3_fails_with_reason_error(c: Cluster) -> None:
    c.create("three", [py("import sys; print('bye'); sys.exit(3)")])
    await c.wait_phase("three", "Failed")
    term = c.container("three")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (3, "Error")
    ready = next(x for x in c.pod("three")["status"]["conditions"] if x["type"] == "Ready")  # type: ignore[index]
    assert (ready["status"], ready["reason"]) == ("False", "PodFailed")
    assert c.log("three") == "bye\n"


@with_cluster()
async def test_init_containers_run_in_order_before_main(c: Cluster, tmp_path: Path) -> None:
    out = tmp_path / "order.txt"
    append = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + chr(10))"
    c.create(
        "init",
        [{**py(append, "main"), "args": [str(out), "main"]}],
        initContainers=[{**py(append, "i1"), "args": [str(out), "i1"]}, {**py(append, "i2"), "args": [str(out), "i2"]}],
    )
    pod = await c.wait_phase("init", "Succeeded")
    assert out.read_text() == "i1\ni2\nmain\n"
    inits = pod["status"]["initContainerStatuses"]
    assert [(s["name"], s["state"]["terminated"]["reason"], s["ready"]) for s in inits] == [
        ("i1", "Completed", True),
        ("i2", "Completed", True),
    ]
    first = next(s for s in c.statuses_of("init") if s.get("containerStatuses"))
    assert first["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert first["initContainerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    init_cond = next(x for x in first["conditions"] if x["type"] == "Initialized")
    assert (init_cond["status"], init_cond["reason"]) == ("False", "ContainersNotInitialized")
    assert init_cond["message"] == "containers with incomplete status: [i1 i2]"
    assert any(e["involvedObject"].get("fieldPath") == "spec.initContainers{i1}" for e in c.events("init"))


@with_cluster()
async def test_failed_init_container_with_never_fails_pod_and_skips_main(c: Cluster) -> None:
    c.create("badinit", [py("print('main ran')")], initContainers=[py("raise SystemExit(2)", "i")])
    pod = await c.wait_phase("badinit", "Failed")
    assert pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 2
    assert pod["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert c.log("badinit") == ""


@with_cluster()
async def test_missing_executable_is_start_error_128(c: Cluster) -> None:
    c.create("nocmd", [{"name": "c", "image": "busybox", "command": ["no-such-binary-podherd"]}])
    await c.wait_phase("nocmd", "Failed")
    term = c.container("nocmd")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (128, "StartError")
    assert 'exec: "no-such-binary-podherd": executable file not found in $PATH' in term["message"]
    assert any(e["reason"] == "Failed" and e["type"] == "Warning" for e in c.events("nocmd"))


@with_cluster()
async def test_invalid_image_stays_pending_with_invalid_image_name(c: Cluster) -> None:
    c.create("badimg", [{"name": "c", "image": "Not A/Valid::Image", "command": [PY, "-c", "pass"]}])
    await c.wait(lambda: c.waiting_reason("badimg") == "InvalidImageName", "InvalidImageName")
    assert c.phase("badimg") == "Pending"
    waiting = c.container("badimg")["state"]["waiting"]
    assert waiting["message"] == (
        'Failed to apply default image tag "Not A/Valid::Image": couldn\'t parse image name '
        '"Not A/Valid::Image": invalid reference format'
    )
    reasons = {e["reason"] for e in c.events("badimg")}
    assert {"InspectFailed", "Failed"} <= reasons
    # never started: a graceful delete removes it at once
    c.deleter.delete(PODS, NS, "badimg", DeleteOptions())
    await c.wait_gone("badimg")


@with_cluster()
async def test_env_working_dir_and_var_expansion(c: Cluster, tmp_path: Path) -> None:
    code = "import os, sys; print(os.environ['FOO'], os.environ['BAR'], os.environ['POD'], os.getcwd(), sys.argv[1])"
    c.create(
        "env",
        [
            {
                **py(code),
                "args": ["$(FOO)-$$(FOO)"],
                "workingDir": str(tmp_path),
                "env": [
                    {"name": "FOO", "value": "foo"},
                    {"name": "BAR", "value": "$(FOO)bar"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                ],
            }
        ],
    )
    await c.wait_phase("env", "Succeeded")
    assert c.log("env") == f"foo foobar env {tmp_path} foo-$(FOO)\n"


@with_cluster()
async def test_missing_working_dir_is_start_error(c: Cluster, tmp_path: Path) -> None:
    c.create("nowd", [{**py("pass"), "workingDir": str(tmp_path / "nope")}])
    await c.wait_phase("nowd", "Failed")
    term = c.container("nowd")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (128, "StartError")
    assert "chdir to cwd" in term["message"] and "no such file or directory" in term["message"]


@with_cluster()
async def test_missing_configmap_is_create_container_config_error(c: Cluster) -> None:
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]
    c.create("cfg", [{**py("pass"), "env": env}])
    await c.wait(lambda: c.waiting_reason("cfg") == "CreateContainerConfigError", "CreateContainerConfigError")
    assert c.container("cfg")["state"]["waiting"]["message"] == 'configmap "cm" not found'
    assert c.phase("cfg") == "Pending"


# ---- graceful delete -----------------------------------------------------------------------------------
@with_cluster()
async def test_graceful_delete_sigterm_143_then_removed(c: Cluster) -> None:
    c.create("sleeper", [py("print('up', flush=True); import time; time.sleep(30)")])
    uid = c.pod("sleeper")["metadata"]["uid"]  # type: ignore[index]
    await c.wait_phase("sleeper", "Running")
    await c.wait(lambda: c.log("sleeper") == "up\n", "the process to print")
    assert c.kubelet.running_count() == 1
    t0 = time.monotonic()
    out = c.deleter.delete(PODS, NS, "sleeper", DeleteOptions())
    assert out["metadata"]["deletionGracePeriodSeconds"] == 30
    await c.wait_gone("sleeper", timeout=10)
    assert time.monotonic() - t0 < 10
    last = c.statuses_of("sleeper")[-1]
    term = last["containerStatuses"][0]["state"]["terminated"]
    assert (last["phase"], term["exitCode"], term["reason"]) == ("Failed", 143, "Error")
    deleted = [ev for ev in c.history if ev.key == (NS, "sleeper") and ev.type == "DELETED"]
    assert len(deleted) == 1 and deleted[0].obj["metadata"]["uid"] == uid
    assert "Killing" in {e["reason"] for e in c.events("sleeper")}
    assert c.logs.read(NS, "sleeper", "c") == b""  # logs dropped once the pod is gone
    assert c.kubelet.running_count() == 0


@with_cluster()
async def test_sigterm_ignored_is_sigkilled_after_grace(c: Cluster) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    )
    c.create("stubborn", [py(code)])
    await c.wait(lambda: c.log("stubborn") == "ready\n", "the SIGTERM handler to be installed")
    t0 = time.monotonic()
    c.deleter.delete(PODS, NS, "stubborn", DeleteOptions(grace_period=1))
    await c.wait_gone("stubborn", timeout=10)
    assert time.monotonic() - t0 >= 0.9
    term = c.statuses_of("stubborn")[-1]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "Error")


@with_cluster(kill_grace_cap=0.5)
async def test_kill_grace_cap_shortens_the_grace_period(c: Cluster) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    )
    c.create("capped", [py(code)], terminationGracePeriodSeconds=60)
    await c.wait(lambda: c.log("capped") == "ready\n", "the SIGTERM handler to be installed")
    c.deleter.delete(PODS, NS, "capped", DeleteOptions())
    await c.wait_gone("capped", timeout=5)
    assert c.statuses_of("capped")[-1]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 137


@with_cluster()
async def test_delete_of_finished_pod_and_recreate_same_name(c: Cluster) -> None:
    c.create("again", [py("print('one')")])
    await c.wait_phase("again", "Succeeded")
    c.deleter.delete(PODS, NS, "again", DeleteOptions())  # terminal: removed at once by the API
    assert c.pod("again") is None
    c.create("again", [py("print('two')")])
    await c.wait_phase("again", "Succeeded")
    assert c.log("again") == "two\n"


@with_cluster()
async def test_grandchild_holding_stdout_does_not_block_exit(c: Cluster) -> None:
    code = "import subprocess; subprocess.Popen(['sleep', '30']); print('parent done', flush=True)"
    t0 = time.monotonic()
    c.create("grand", [py(code)])
    await c.wait_phase("grand", "Succeeded", timeout=10)
    assert time.monotonic() - t0 < 8
    assert c.log("grand") == "parent done\n"


# ---- restarts, deadline -------------------------------------------------------------------------------
@with_cluster()
async def test_on_failure_restarts_until_success(c: Cluster, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    code = (
        "import os, sys\n"
        "p = sys.argv[1]\n"
        "if os.path.exists(p): print('second'); sys.exit(0)\n"
        "open(p, 'w').close(); print('first'); sys.exit(1)\n"
    )
    c.create("flaky", [{**py(code), "args": [str(marker)]}], restartPolicy="OnFailure")
    pod = await c.wait_phase("flaky", "Succeeded")
    cs = pod["status"]["containerStatuses"][0]
    assert cs["restartCount"] == 1
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["state"]["terminated"]["exitCode"] == 0
    assert c.log("flaky") == "second\n"
    crash = [s for s in c.statuses_of("flaky") if s.get("containerStatuses")]
    backoff = [
        s for s in crash if s["containerStatuses"][0]["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"
    ]
    assert backoff, "a CrashLoopBackOff status was written between the runs"
    assert backoff[0]["phase"] == "Running"
    assert backoff[0]["containerStatuses"][0]["restartCount"] == 1
    assert "BackOff" in {e["reason"] for e in c.events("flaky")}


@with_cluster()
async def test_always_restarts_even_on_success_and_delete_stops_it(c: Cluster) -> None:
    c.create("loop", [py("print('tick')")], restartPolicy="Always")
    await c.wait(lambda: c.restarts("loop") >= 1, "a restart")
    assert c.phase("loop") == "Running"
    c.deleter.delete(PODS, NS, "loop", DeleteOptions())
    await c.wait_gone("loop")
    last = c.statuses_of("loop")[-1]
    assert last["phase"] in ("Succeeded", "Failed")


@with_cluster()
async def test_active_deadline_exceeded(c: Cluster) -> None:
    c.create("slow", [py("import time; time.sleep(30)")], activeDeadlineSeconds=1)
    pod = await c.wait_phase("slow", "Failed", timeout=10)
    st = pod["status"]
    assert st["reason"] == "DeadlineExceeded"
    assert st["message"] == "Pod was active on the node longer than the specified deadline"
    term = st["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (143, "Error")
    assert c.kubelet.running_count() == 0
    assert c.pod("slow") is not None  # a deadline does not delete the pod


# ---- robustness -----------------------------------------------------------------------------------------
@with_cluster()
async def test_malformed_pod_is_failed_without_crashing_the_kubelet(c: Cluster) -> None:
    # bypass validation: written straight into the store
    c.store.create(
        "pods",
        (NS, "junk"),
        {
            "metadata": {"name": "junk", "namespace": NS, "uid": "u-junk"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "command": "not-a-list"}]},
            "status": {"phase": "Pending"},
        },
    )
    c.store.create("pods", (NS, "nospec"), {"metadata": {"name": "nospec", "namespace": NS, "uid": "u-nospec"}})
    pod = await c.wait_phase("junk", "Failed")
    assert "command must be a list of strings" in pod["status"]["message"]
    c.store.delete("pods", (NS, "nospec"))  # a pod the kubelet never took: no error
    c.create("fine", [py("print('ok')")])
    await c.wait_phase("fine", "Succeeded")


@with_cluster()
async def test_pods_of_other_nodes_are_ignored(c: Cluster) -> None:
    c.create("elsewhere", [py("print('no')")], nodeName="node-b")
    c.create("here", [py("print('yes')")])
    await c.wait_phase("here", "Succeeded")
    assert c.phase("elsewhere") == "Pending"
    assert "containerStatuses" not in c.pod("elsewhere")["status"]  # type: ignore[index]


def test_start_picks_up_existing_pods_and_stop_kills_processes() -> None:
    async def main() -> None:
        c = Cluster()
        c.create(
            "early", [py("print('hello', flush=True); import os, time; print(os.getpid(), flush=True); time.sleep(60)")]
        )
        await c.kubelet.start()
        try:
            await c.wait(lambda: len(c.log("early").split()) == 2, "the process to start")
            pid = int(c.log("early").split()[1])
            assert c.kubelet.running_count() == 1
        finally:
            await c.kubelet.stop()
        assert c.kubelet.running_count() == 0
        await c.wait(lambda: not _alive(pid), f"process {pid} to exit")

    asyncio.run(main())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# ---- simulate mode ---------------------------------------------------------------------------------------
@with_cluster(mode="simulate")
async def test_simulate_2000_pods(c: Cluster) -> None:
    n = 2000
    t0 = time.monotonic()
    for i in range(n):
        c.create(
            f"sim-{i}",
            [{"name": "c", "image": "busybox"}],
            metadata={"annotations": {"podherd.io/simulate-duration": "0.5"}},
        )
    created = time.monotonic() - t0

    def done() -> bool:
        return (
            all(c.phase(f"sim-{i}") == "Succeeded" for i in range(0, n, 97))
            and sum(1 for _k, p in c.store.items("pods", NS) if p["status"]["phase"] == "Succeeded") == n
        )

    await c.wait(done, f"{n} simulated pods to succeed", timeout=60)
    wall = time.monotonic() - t0
    print(
        f"\nsimulate: {n} pods (duration 0.5 s) created in {created:.2f}s, all Succeeded after {wall:.2f}s "
        f"= {n / wall:.0f} pods/s end to end; {len(c.history)} pod writes"
    )
    p = c.pod("sim-0")
    assert p is not None
    cs = p["status"]["containerStatuses"][0]
    assert cs["state"]["terminated"]["exitCode"] == 0 and CONTAINER_ID.match(cs["containerID"])
    # three writes per pod: bind+ContainerCreating, Running, terminated
    writes = [ev for ev in c.history if ev.key == (NS, "sim-0") and ev.type == "MODIFIED"]
    assert [w.obj["status"]["phase"] for w in writes] == ["Pending", "Running", "Succeeded"]
    assert writes[0].obj["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert writes[0].obj["spec"]["nodeName"] == "local"
    assert not list(c.store.items("events", NS))  # events are off by default in simulate mode
    assert c.kubelet.running_count() == 0


@with_cluster(mode="simulate")
async def test_simulate_exit_code_and_waiting_reason(c: Cluster) -> None:
    c.create(
        "bad",
        [{"name": "c", "image": "busybox"}],
        metadata={"annotations": {"podherd.io/simulate-duration": "0.1", "podherd.io/simulate-exit-code": "7"}},
    )
    c.create(
        "pull",
        [{"name": "c", "image": "nope/nope:1"}],
        metadata={"annotations": {"podherd.io/simulate-waiting-reason": "ErrImagePull"}},
    )
    c.create(
        "badann",
        [{"name": "c", "image": "busybox"}],
        metadata={"annotations": {"podherd.io/simulate-duration": "soon"}},
    )
    await c.wait_phase("bad", "Failed")
    term = c.container("bad")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (7, "Error")
    await c.wait(lambda: "containerStatuses" in (c.pod("pull") or {}).get("status", {}), "pull status")
    waiting = c.container("pull")["state"]["waiting"]
    assert waiting["reason"] == "ErrImagePull" and "nope/nope:1" in waiting["message"]
    assert c.phase("pull") == "Pending"
    pod = await c.wait_phase("badann", "Failed")
    assert "simulate-duration" in pod["status"]["message"]


@with_cluster(mode="simulate", events=True)
async def test_simulate_graceful_delete_and_deadline(c: Cluster) -> None:
    ann = {"podherd.io/simulate-duration": "30"}
    c.create("long", [{"name": "c", "image": "busybox"}], metadata={"annotations": ann})
    c.create("dl", [{"name": "c", "image": "busybox"}], metadata={"annotations": ann}, activeDeadlineSeconds=1)
    await c.wait_phase("long", "Running")
    c.deleter.delete(PODS, NS, "long", DeleteOptions())
    await c.wait_gone("long")
    last = c.statuses_of("long")[-1]
    assert last["phase"] == "Failed"
    assert last["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 143
    pod = await c.wait_phase("dl", "Failed", timeout=10)
    assert pod["status"]["reason"] == "DeadlineExceeded"
    assert {"Scheduled", "Started", "Killing"} <= {e["reason"] for e in c.events("long")}


@with_cluster(mode="simulate")
async def test_simulate_on_failure_restarts(c: Cluster) -> None:
    ann = {"podherd.io/simulate-duration": "0", "podherd.io/simulate-exit-code": "1"}
    c.create("crash", [{"name": "c", "image": "busybox"}], metadata={"annotations": ann}, restartPolicy="OnFailure")
    await c.wait(lambda: c.restarts("crash") >= 2, "two restarts", timeout=10)
    cs = c.container("crash")
    assert c.phase("crash") == "Running"
    assert cs["lastState"]["terminated"]["exitCode"] == 1


# ---- restart of the kubelet, state dir --------------------------------------------------------------------
def test_state_dir_pid_files_and_orphans_of_a_crashed_kubelet_are_killed(tmp_path: Path) -> None:
    import subprocess

    from podherd.localcluster.kubelet.runtime.supervisor import proc_start_time

    pid_dir = tmp_path / "kubelet-pids"
    pid_dir.mkdir()
    orphan = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"], start_new_session=True)
    unrelated = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        (pid_dir / str(orphan.pid)).write_text(f"{proc_start_time(orphan.pid)}\ndefault/old/c\n")
        (pid_dir / str(unrelated.pid)).write_text("1\ndefault/stale/c\n")  # start time does not match: left alone

        async def main() -> None:
            c = Cluster(state_dir=tmp_path)
            await c.kubelet.start()
            try:
                assert orphan.wait(timeout=5) == -9
                assert unrelated.poll() is None
                assert not (pid_dir / str(orphan.pid)).exists()
                c.create("tracked", [py("import time; print('up', flush=True); time.sleep(60)")])
                await c.wait(lambda: c.log("tracked") == "up\n", "the process to start")
                assert len(list(pid_dir.iterdir())) == 1
            finally:
                await c.kubelet.stop()
            assert list(pid_dir.iterdir()) == []

        asyncio.run(main())
    finally:
        for p in (orphan, unrelated):
            p.kill()
            p.wait()


def test_pod_that_was_running_before_a_kubelet_restart_is_failed() -> None:
    async def main() -> None:
        c = Cluster()
        c.create("lost", [py("pass")], nodeName="local")
        pod = c.pod("lost")
        assert pod is not None
        status = {
            **pod["status"],
            "phase": "Running",
            "containerStatuses": [{"name": "c", "state": {"running": {"startedAt": "2025-01-01T00:00:00Z"}}}],
        }
        c.store.update("pods", (NS, "lost"), {**pod, "status": status})
        await c.kubelet.start()
        try:
            pod = await c.wait_phase("lost", "Failed")
            assert "containers were lost" in pod["status"]["message"]
            assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "ContainerStatusUnknown"
        finally:
            await c.kubelet.stop()

    asyncio.run(main())


@with_cluster()
async def test_events_for_unknown_or_odd_pods_do_not_raise(c: Cluster) -> None:
    c.kubelet._on_event(Event("MODIFIED", "pods", (NS, "ghost"), 1, {"metadata": {"uid": "nope"}}, None))
    c.kubelet._on_event(Event("DELETED", "pods", (NS, "ghost"), 2, {}, None))
    c.kubelet._on_event(Event("ADDED", "pods", (NS, "ghost"), 3, {"metadata": {}, "spec": "x"}, None))
    c.create("after", [py("print('fine')")])
    await c.wait_phase("after", "Succeeded")


@with_cluster()
async def test_scheduling_gates_hold_binding_until_removed(c: Cluster) -> None:
    c.create("gated", [py("print('released')")], schedulingGates=[{"name": "example.com/wait"}])
    c.create("marker", [py("print('m')")])
    await c.wait_phase("marker", "Succeeded")  # the kubelet has been busy meanwhile
    pod = c.pod("gated")
    assert pod is not None and not pod["spec"].get("nodeName") and "containerStatuses" not in pod["status"]
    c.store.update("pods", (NS, "gated"), {**pod, "spec": {**pod["spec"], "schedulingGates": []}})
    await c.wait_phase("gated", "Succeeded")
    assert c.log("gated") == "released\n"


@with_cluster()
async def test_force_delete_kills_the_process_and_drops_logs(c: Cluster) -> None:
    c.create("forced", [py("import os, time; print(os.getpid(), flush=True); time.sleep(60)")])
    await c.wait(lambda: c.log("forced").strip().isdigit(), "the process to print its pid")
    pid = int(c.log("forced"))
    c.deleter.delete(PODS, NS, "forced", DeleteOptions(grace_period=0))
    assert c.pod("forced") is None
    assert not c.logs.has(NS, "forced", "c")
    await c.wait(lambda: not _alive(pid) and c.kubelet.running_count() == 0, f"process {pid} to be killed")
    assert not c.logs.has(NS, "forced", "c")  # the runner did not re-create the dropped log
