"""Pod volumes in process mode: a directory per volume, and the variables that tell a process where they are.

A process cannot see a volume at its ``mountPath`` (there is no mount namespace: it runs on this
machine's filesystem, and writing to ``/etc/config`` would be writing to the host's), so each
volume is a directory ``<root>/<pod uid>/volumes/<volume>`` (root: the kubelet's state dir, else a
private temporary directory), filled before the pod's containers start (`volumesources`), removed
when the pod is removed or the kubelet stops. ``hostPath`` volumes are the host path itself. A
container finds its mounts through its environment:

* ``PODHERD_MOUNT_<VOLUME>``: the directory (or, with ``subPath``, the file or directory inside it)
  of the volume a volumeMount names; ``<VOLUME>`` is the volume name upper-cased with every
  character other than a letter or digit as ``_`` (``app-config`` → ``PODHERD_MOUNT_APP_CONFIG``).
  If a container mounts one volume twice, the first mount wins;
* ``PODHERD_MOUNTS``: a JSON object from each ``mountPath`` to that host path, for the general case.

Both can be used in ``command``/``args`` as ``$(PODHERD_MOUNT_CONFIG)/settings.yaml``. The files
are written once, when the pod starts: later changes to the ConfigMap or Secret are not propagated.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from podherd.localcluster.kubelet.volumesources import Files, MountError, Objects, volume_files

ENV_PREFIX = "PODHERD_MOUNT_"
ENV_ALL = "PODHERD_MOUNTS"


def env_name(volume: str) -> str:
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", volume).upper()


def _inside(base: Path, rel: str) -> Path | None:
    """`base/rel` if it stays inside `base` (volume item paths and subPaths are relative, without ..)."""
    target = (base / rel).resolve()
    return target if target == base.resolve() or base.resolve() in target.parents else None


class VolumeError(Exception):
    """A volume that cannot be set up yet: `volume` names it, the message says why (FailedMount)."""

    def __init__(self, volume: str, message: str) -> None:
        super().__init__(f'MountVolume.SetUp failed for volume "{volume}" : {message}')
        self.volume = volume


class VolumeDirs:
    """The volume directories of one kubelet's pods."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._temp: Path | None = None

    def _base(self) -> Path:
        if self.root is not None:
            return self.root
        if self._temp is None:
            self._temp = Path(tempfile.mkdtemp(prefix="podherd-kubelet-volumes-"))
        return self._temp

    def pod_dir(self, uid: str) -> Path:
        return self._base() / uid / "volumes"

    def set_up(self, pod: dict[str, Any], objects: Objects, allocatable: dict[str, Any]) -> None:
        """Create every volume of the pod (again: a retry rewrites them); VolumeError for one not ready yet."""
        uid = str(pod["metadata"]["uid"])
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            if not isinstance(volume, dict) or not volume.get("name") or "hostPath" in volume:
                continue
            name = str(volume["name"])
            try:
                files = volume_files(volume, pod, objects, allocatable)
            except MountError as e:
                raise VolumeError(name, str(e)) from None
            target = self.pod_dir(uid) / name
            if files is None:
                target.mkdir(parents=True, exist_ok=True)  # emptyDir: kept as it is across retries
                target.chmod(0o777)
            else:
                _write(target, files)

    def host_path(self, pod: dict[str, Any], mount: dict[str, Any]) -> str | None:
        """Where a volumeMount's content is on this machine; None for a volume the pod does not have."""
        volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or [] if isinstance(v, dict)}
        volume = volumes.get(mount.get("name"))
        if volume is None:
            return None
        if isinstance(volume.get("hostPath"), dict):
            base = Path(str(volume["hostPath"].get("path") or "/"))
        else:
            base = self.pod_dir(str(pod["metadata"]["uid"])) / str(volume["name"])
        sub = str(mount.get("subPath") or "")
        target = _inside(base, sub) if sub else base
        return str(target) if target is not None else None

    def mount_env(self, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
        """The variables that locate the container's volume mounts (see the module docstring)."""
        env: dict[str, str] = {}
        by_path: dict[str, str] = {}
        for mount in container.get("volumeMounts") or []:
            if not isinstance(mount, dict):
                continue
            path = self.host_path(pod, mount)
            if path is None:
                continue
            env.setdefault(env_name(str(mount.get("name"))), path)
            by_path[str(mount.get("mountPath") or "")] = path
        if by_path:
            env[ENV_ALL] = json.dumps(by_path, sort_keys=True)
        return env

    def remove(self, uid: str) -> None:
        """The pod is gone: its volumes go with it."""
        if self.root is not None or self._temp is not None:  # no volume yet: no directory to make first
            shutil.rmtree(self._base() / uid, ignore_errors=True)

    def close(self) -> None:
        """The kubelet stops: a private temporary root is removed whole."""
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None


def _write(target: Path, files: Files) -> None:
    """The volume's files, fresh: what a previous attempt wrote is replaced."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    target.chmod(0o755)
    for rel, (content, mode) in files.items():
        path = _inside(target, rel)
        if path is None or path == target.resolve():
            continue  # validation refuses such paths; never write outside the volume
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.chmod(path, mode & 0o777)
