"""kubelet.volumesources and kubelet.volumes' naming: what a volume holds, and how a process finds it (pure parts)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from podherd.localcluster.kubelet.volumes import VolumeDirs, env_name
from podherd.localcluster.kubelet.volumesources import MountError, volume_files

POD: dict[str, Any] = {
    "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "annotations": {"b": "2", "a": "1"}},
    "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "500m"}}}]},
}
OBJECTS = {
    ("configmaps", "ns", "cm"): {
        "data": {"a": "1", "b": "2"},
        "binaryData": {"bin": base64.b64encode(b"\xff").decode()},
    },
    ("secrets", "ns", "s"): {"data": {"pw": base64.b64encode(b"secret").decode()}},
}


def files(volume: dict[str, Any]) -> Any:
    return volume_files(volume, POD, lambda r, n, name: OBJECTS.get((r, n, name)), {"cpu": "2"})


def test_sources() -> None:
    assert files({"configMap": {"name": "cm", "defaultMode": 0o640}}) == {
        "a": (b"1", 0o640),
        "b": (b"2", 0o640),
        "bin": (b"\xff", 0o640),
    }
    assert files({"secret": {"secretName": "s", "items": [{"key": "pw", "path": "d/pw", "mode": 0o600}]}}) == {
        "d/pw": (b"secret", 0o600)
    }
    down = {
        "downwardAPI": {
            "items": [
                {"path": "ann", "fieldRef": {"fieldPath": "metadata.annotations"}},
                {
                    "path": "cpu",
                    "resourceFieldRef": {"containerName": "c", "resource": "requests.cpu", "divisor": "1m"},
                },
            ]
        }
    }
    assert files(down) == {"ann": (b'a="1"\nb="2"', 0o644), "cpu": (b"500", 0o644)}
    assert files({"emptyDir": {}}) is None and files({"persistentVolumeClaim": {"claimName": "x"}}) is None
    projected = {
        "projected": {
            "defaultMode": 0o444,
            "sources": [
                {"configMap": {"name": "cm", "items": [{"key": "a", "path": "a"}]}},
                {"serviceAccountToken": {"path": "t"}},
            ],
        }
    }
    assert files(projected) == {"a": (b"1", 0o444)}


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ({"configMap": {"name": "nope"}}, 'configmap "nope" not found'),
        ({"secret": {"secretName": "nope"}}, 'secret "nope" not found'),
        (
            {"configMap": {"name": "cm", "items": [{"key": "zz", "path": "zz"}]}},
            "configmap references non-existent config key: zz",
        ),
        (
            {"secret": {"secretName": "s", "items": [{"key": "zz", "path": "zz"}]}},
            "secret references non-existent secret key: zz",
        ),
        (
            {"downwardAPI": {"items": [{"path": "x", "fieldRef": {"fieldPath": "spec.nope"}}]}},
            'unsupported fieldPath: "spec.nope"',
        ),
    ],
)
def test_not_ready(volume: dict[str, Any], message: str) -> None:
    with pytest.raises(MountError) as ei:
        files(volume)
    assert str(ei.value) == message


def test_optional_missing_sources_are_empty() -> None:
    assert files({"configMap": {"name": "nope", "optional": True}}) == {}
    assert files({"configMap": {"name": "cm", "optional": True, "items": [{"key": "zz", "path": "zz"}]}}) == {}


def test_env_names_and_host_paths(tmp_path: Path) -> None:
    assert env_name("app-config.v2") == "PODHERD_MOUNT_APP_CONFIG_V2"
    dirs = VolumeDirs(tmp_path)
    pod = {**POD, "spec": {"volumes": [{"name": "v", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/data"}}]}}
    c = {
        "volumeMounts": [
            {"name": "v", "mountPath": "/m", "subPath": "a/b"},
            {"name": "h", "mountPath": "/d"},
            {"name": "v", "mountPath": "/esc", "subPath": "../x"},
        ]
    }
    env = dirs.mount_env(pod, c)
    assert env["PODHERD_MOUNT_V"] == str(tmp_path / "u1" / "volumes" / "v" / "a" / "b")
    assert env["PODHERD_MOUNT_H"] == "/data"
    assert "/esc" not in env["PODHERD_MOUNTS"]  # a subPath leaving the volume locates nothing
