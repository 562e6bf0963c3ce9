"""What each volume of a pod holds, as files: configMap, secret, downwardAPI and projected sources (pure).

As the kubelet's volume plugins fill them: every key of the ConfigMap (``data`` as UTF-8 and
``binaryData``) or Secret (``data`` decoded), or only the ``items`` asked for at their ``path``; a
downwardAPI item's value from `downward` (whole ``metadata.labels``/``annotations`` allowed here);
file modes from an item's ``mode``, else the volume's ``defaultMode`` (0644). A missing object that is
not ``optional`` is a `MountError` worded as the kubelet's FailedMount event (``configmap "x" not
found``, ``configmap references non-existent config key: k``), retried until the object appears.
Projected ``serviceAccountToken`` and ``clusterTrustBundle`` sources produce nothing: this cluster
issues no tokens.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from podherd.localcluster.kubelet.downward import DownwardError, container_named, field_value, resource_value

Objects = Callable[[str, str, str], dict[str, Any] | None]  # (resource, namespace, name) -> stored object
Files = dict[str, tuple[bytes, int]]  # relative path -> (content, mode)
DEFAULT_MODE = 0o644


class MountError(Exception):
    """The volume cannot be set up yet; the message is what follows ``MountVolume.SetUp failed for volume``."""


def _bytes_of(obj: dict[str, Any], resource: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if resource == "configmaps":
        out.update({k: v.encode() for k, v in (obj.get("data") or {}).items() if isinstance(v, str)})
        bags = ((obj.get("binaryData") or {}).items(),)
    else:
        bags = ((obj.get("data") or {}).items(),)
    for bag in bags:
        for k, v in bag:
            try:
                out[k] = base64.b64decode(v)
            except (binascii.Error, ValueError, TypeError):
                continue
    return out


def _mode(item: dict[str, Any], default: int) -> int:
    mode = item.get("mode")
    return mode if isinstance(mode, int) and not isinstance(mode, bool) else default


def keyed_files(src: dict[str, Any], resource: str, name: str, ns: str, objects: Objects, default: int) -> Files:
    """The files of a configMap or secret source (a volume's, or one of a projected volume's)."""
    label = "configmap" if resource == "configmaps" else "secret"
    obj = objects(resource, ns, name)
    if obj is None:
        if src.get("optional") is True:
            return {}
        raise MountError(f'{label} "{name}" not found')
    values = _bytes_of(obj, resource)
    items = [i for i in src.get("items") or [] if isinstance(i, dict)]
    if not items:
        return {k: (v, default) for k, v in values.items()}
    files: Files = {}
    for item in items:
        key = str(item.get("key") or "")
        if key not in values:
            if src.get("optional") is True:
                continue
            what = "config" if resource == "configmaps" else "secret"
            raise MountError(f"{label} references non-existent {what} key: {key}")
        files[str(item.get("path") or key)] = (values[key], _mode(item, default))
    return files


def downward_files(src: dict[str, Any], pod: dict[str, Any], allocatable: dict[str, Any], default: int) -> Files:
    files: Files = {}
    for item in src.get("items") or []:
        if not isinstance(item, dict) or not item.get("path"):
            continue
        try:
            if isinstance(item.get("fieldRef"), dict):
                value = field_value(pod, str(item["fieldRef"].get("fieldPath") or ""), whole_maps=True)
            elif isinstance(item.get("resourceFieldRef"), dict):
                ref = item["resourceFieldRef"]
                container = container_named(pod, str(ref.get("containerName") or "")) or {}
                value = resource_value(container, ref, allocatable)
            else:
                continue
        except DownwardError as e:
            raise MountError(str(e)) from None
        files[str(item["path"])] = (value.encode(), _mode(item, default))
    return files


def _default_mode(src: dict[str, Any]) -> int:
    mode = src.get("defaultMode")
    return mode if isinstance(mode, int) and not isinstance(mode, bool) else DEFAULT_MODE


def volume_files(
    volume: dict[str, Any], pod: dict[str, Any], objects: Objects, allocatable: dict[str, Any]
) -> Files | None:
    """The files of one volume; None for a volume that is a plain directory (emptyDir and unknown types)."""
    ns = str((pod.get("metadata") or {}).get("namespace") or "")
    if isinstance(volume.get("configMap"), dict):
        src = volume["configMap"]
        return keyed_files(src, "configmaps", str(src.get("name") or ""), ns, objects, _default_mode(src))
    if isinstance(volume.get("secret"), dict):
        src = volume["secret"]
        return keyed_files(src, "secrets", str(src.get("secretName") or ""), ns, objects, _default_mode(src))
    if isinstance(volume.get("downwardAPI"), dict):
        src = volume["downwardAPI"]
        return downward_files(src, pod, allocatable, _default_mode(src))
    if isinstance(volume.get("projected"), dict):
        return projected_files(volume["projected"], pod, objects, allocatable)
    return None


def projected_files(proj: dict[str, Any], pod: dict[str, Any], objects: Objects, allocatable: dict[str, Any]) -> Files:
    ns = str((pod.get("metadata") or {}).get("namespace") or "")
    default = _default_mode(proj)
    files: Files = {}
    for source in proj.get("sources") or []:
        if not isinstance(source, dict):
            continue
        if isinstance(source.get("configMap"), dict):
            src = source["configMap"]
            files.update(keyed_files(src, "configmaps", str(src.get("name") or ""), ns, objects, default))
        elif isinstance(source.get("secret"), dict):
            src = source["secret"]
            files.update(keyed_files(src, "secrets", str(src.get("name") or ""), ns, objects, default))
        elif isinstance(source.get("downwardAPI"), dict):
            files.update(downward_files(source["downwardAPI"], pod, allocatable, default))
    return files
