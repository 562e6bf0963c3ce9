"""Volumes in process mode: configMap, secret, emptyDir, downwardAPI, projected and hostPath as directories,
found through PODHERD_MOUNT_<VOLUME> and PODHERD_MOUNTS, removed with the pod."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.integration.conftest import wait_for

# Prints what the container sees: its mount variables, and every file under each mounted volume.
INSPECT = """
import json, os
mounts = json.loads(os.environ["PODHERD_MOUNTS"])
out = {"env": {k: v for k, v in os.environ.items() if k.startswith("PODHERD_MOUNT")}, "files": {}}
for mount_path, host in mounts.items():
    if os.path.isfile(host):
        out["files"][mount_path] = open(host).read()
        continue
    for root, _dirs, files in os.walk(host):
        for f in files:
            p = os.path.join(root, f)
            out["files"][mount_path + "/" + os.path.relpath(p, host)] = [open(p, "rb").read().decode("latin-1"), oct(os.stat(p).st_mode & 0o777)]
print(json.dumps(out))
"""


def volume_pod(
    name: str, volumes: list[dict[str, Any]], mounts: list[dict[str, Any]], command: list[str] | None = None
) -> dict:
    container = {
        "name": "main",
        "image": "busybox:1.36",
        "command": command or [sys.executable, "-c", INSPECT],
        "volumeMounts": mounts,
    }
    return {
        "metadata": {"name": name, "labels": {"app": "vol", "tier": "x"}, "annotations": {"note": "hi"}},
        "spec": {"restartPolicy": "Never", "volumes": volumes, "containers": [container]},
    }


def finished(core: client.CoreV1Api, ns: str, name: str) -> dict[str, Any]:
    wait_for(
        lambda: core.read_namespaced_pod(name, ns).status.phase in ("Succeeded", "Failed"), what=f"{name} finished"
    )
    assert core.read_namespaced_pod(name, ns).status.phase == "Succeeded", core.read_namespaced_pod_log(name, ns)
    return json.loads(core.read_namespaced_pod_log(name, ns))


def test_config_map_secret_downward_and_empty_dir_volumes(core: client.CoreV1Api, ns: str, tmp_path: Path) -> None:
    core.create_namespaced_config_map(
        ns,
        {
            "metadata": {"name": "app"},
            "data": {"settings.yaml": "a: 1\n", "other": "x"},
            "binaryData": {"blob": "AAEC"},
        },
    )
    core.create_namespaced_secret(
        ns, {"metadata": {"name": "creds"}, "stringData": {"password": "hunter2", "user": "me"}}
    )
    host = tmp_path / "host"
    host.mkdir()
    (host / "h.txt").write_text("from host")
    volumes = [
        {"name": "app-config", "configMap": {"name": "app"}},
        {
            "name": "picked",
            "configMap": {"name": "app", "items": [{"key": "other", "path": "sub/renamed", "mode": 0o600}]},
        },
        {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}},
        {"name": "scratch", "emptyDir": {}},
        {
            "name": "info",
            "downwardAPI": {
                "items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                    {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                    {
                        "path": "mem",
                        "resourceFieldRef": {"containerName": "main", "resource": "limits.memory", "divisor": "1Mi"},
                    },
                ]
            },
        },
        {
            "name": "both",
            "projected": {
                "sources": [
                    {"configMap": {"name": "app", "items": [{"key": "other", "path": "o"}]}},
                    {"secret": {"name": "creds", "items": [{"key": "user", "path": "u"}]}},
                    {"serviceAccountToken": {"path": "token"}},
                ]
            },
        },
        {"name": "hosted", "hostPath": {"path": str(host)}},
    ]
    mounts = [
        {"name": "app-config", "mountPath": "/etc/app"},
        {"name": "picked", "mountPath": "/etc/picked"},
        {"name": "creds", "mountPath": "/secrets", "readOnly": True},
        {"name": "scratch", "mountPath": "/scratch"},
        {"name": "info", "mountPath": "/etc/podinfo"},
        {"name": "both", "mountPath": "/projected"},
        {"name": "hosted", "mountPath": "/host"},
        {"name": "app-config", "mountPath": "/etc/only.yaml", "subPath": "settings.yaml"},
    ]
    pod = volume_pod("vols", volumes, mounts)
    pod["spec"]["containers"][0]["resources"] = {"limits": {"memory": "32Mi"}}
    uid = core.create_namespaced_pod(ns, pod).metadata.uid
    seen = finished(core, ns, "vols")
    env, files = seen["env"], seen["files"]
    assert env["PODHERD_MOUNT_APP_CONFIG"].endswith(f"{uid}/volumes/app-config")  # the first mount of the volume
    assert env["PODHERD_MOUNT_HOSTED"] == str(host)
    assert json.loads(env["PODHERD_MOUNTS"])["/etc/only.yaml"] == env["PODHERD_MOUNT_APP_CONFIG"] + "/settings.yaml"
    assert files["/etc/app/settings.yaml"] == ["a: 1\n", "0o644"] and files["/etc/app/blob"][0] == "\x00\x01\x02"
    assert files["/etc/picked/sub/renamed"] == ["x", "0o600"] and "/etc/picked/settings.yaml" not in files
    assert files["/secrets/password"] == ["hunter2", "0o400"]
    assert files["/etc/podinfo/labels"][0] == 'app="vol"\ntier="x"' and files["/etc/podinfo/name"][0] == "vols"
    assert files["/etc/podinfo/mem"][0] == "32"
    assert files["/projected/o"][0] == "x" and files["/projected/u"][0] == "me" and "/projected/token" not in files
    assert files["/host/h.txt"][0] == "from host" and files["/etc/only.yaml"] == "a: 1\n"
    assert not any(k.startswith("/scratch/") for k in files)
    volume_dir = Path(env["PODHERD_MOUNT_APP_CONFIG"]).parent
    assert volume_dir.is_dir()
    core.delete_namespaced_pod("vols", ns)
    wait_for(lambda: not volume_dir.exists(), what="the pod's volume directory removed")
    assert host.exists()  # a hostPath is never removed


def test_mount_variables_work_in_args_and_empty_dir_is_shared(core: client.CoreV1Api, ns: str) -> None:
    script = 'echo hello > "$1/note"; cat "$1/note"; ls -ld "$1" | cut -c1-10'
    volumes = [{"name": "work", "emptyDir": {}}]
    mounts = [{"name": "work", "mountPath": "/work"}]
    pod = volume_pod("args", volumes, mounts, command=["sh", "-c", script, "sh", "$(PODHERD_MOUNT_WORK)"])
    core.create_namespaced_pod(ns, pod)
    wait_for(lambda: core.read_namespaced_pod("args", ns).status.phase == "Succeeded", what="Succeeded")
    assert core.read_namespaced_pod_log("args", ns) == "hello\ndrwxrwxrwx\n"


def test_a_missing_config_map_is_failed_mount_until_it_appears(core: client.CoreV1Api, ns: str) -> None:
    volumes = [{"name": "cfg", "configMap": {"name": "later", "items": [{"key": "k", "path": "k"}]}}]
    core.create_namespaced_pod(ns, volume_pod("waits", volumes, [{"name": "cfg", "mountPath": "/cfg"}]))

    def mount_events() -> list[str]:
        sel = "involvedObject.name=waits,reason=FailedMount"
        return [e.message for e in core.list_namespaced_event(ns, field_selector=sel).items]

    wait_for(mount_events, what="a FailedMount event")
    assert mount_events() == ['MountVolume.SetUp failed for volume "cfg" : configmap "later" not found']
    pod = core.read_namespaced_pod("waits", ns)
    assert (
        pod.status.phase == "Pending" and pod.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
    )
    core.create_namespaced_config_map(ns, {"metadata": {"name": "later"}, "data": {"other": "1"}})
    wait_for(lambda: "configmap references non-existent config key: k" in " ".join(mount_events()), what="missing key")
    core.patch_namespaced_config_map("later", ns, {"data": {"k": "value"}})
    assert finished(core, ns, "waits")["files"]["/cfg/k"][0] == "value"


def test_optional_sources_may_be_missing(core: client.CoreV1Api, ns: str) -> None:
    volumes = [
        {"name": "maybe", "configMap": {"name": "absent", "optional": True}},
        {"name": "maybe-secret", "secret": {"secretName": "absent", "optional": True}},
    ]
    mounts = [{"name": "maybe", "mountPath": "/a"}, {"name": "maybe-secret", "mountPath": "/b"}]
    core.create_namespaced_pod(ns, volume_pod("optional", volumes, mounts))
    assert finished(core, ns, "optional")["files"] == {}


def test_volume_item_paths_stay_inside_the_volume(core: client.CoreV1Api, ns: str) -> None:
    """Validation here does not check item paths (kube-apiserver refuses '..'); the kubelet never writes outside."""
    core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"k": "v"}})
    volumes = [{"name": "c", "configMap": {"name": "c", "items": [{"key": "k", "path": "../escape"}]}}]
    core.create_namespaced_pod(ns, volume_pod("escape", volumes, [{"name": "c", "mountPath": "/c"}]))
    seen = finished(core, ns, "escape")
    volume = Path(json.loads(seen["env"]["PODHERD_MOUNTS"])["/c"])
    assert seen["files"] == {} and volume.is_dir() and not (volume.parent / "escape").exists()
