"""How a container of the process kubelet becomes a process: argv, environment, start errors.

* argv is ``command + args`` with ``$(VAR)`` expanded as the kubelet does (:func:`expand`).
* The environment is ``PATH`` and ``HOME`` inherited from the kubelet process,
  ``HOSTNAME`` (the pod name), then the container's ``env`` (plain ``value``
  and ``fieldRef``); ``configMapKeyRef``/``secretKeyRef`` and ``envFrom`` refer to
  objects this cluster does not have: non-optional ones raise :class:`ConfigError`
  (``CreateContainerConfigError``) like a missing ConfigMap/Secret would.
* A failed start is worded as containerd/runc word it (:func:`start_error_message`),
  so that clients matching on those messages behave as against a real node.
"""

from __future__ import annotations

import os
from typing import Any

from podherd.localcluster.kubelet.state import HOST_IP, POD_IP

RUNC_PREFIX = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
    "runc create failed: unable to start container process: "
)
NEVER_STARTED = "1970-01-01T00:00:00Z"  # containerd's zero time: startedAt of a container that never started
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ConfigError(Exception):
    """The container's configuration cannot be resolved: CreateContainerConfigError."""


def start_error_message(detail: str) -> str:
    return f"{RUNC_PREFIX}{detail}: unknown"


def exec_error_detail(argv0: str, err: OSError) -> str:
    """What runc says when exec fails."""
    if isinstance(err, FileNotFoundError):
        if "/" in argv0:
            return f'exec: "{argv0}": stat {argv0}: no such file or directory'
        return f'exec: "{argv0}": executable file not found in $PATH'
    if isinstance(err, PermissionError):
        return f'exec: "{argv0}": permission denied'
    return f'exec: "{argv0}": {(err.strerror or str(err)).lower()}'


def expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's $(VAR) expansion: known names are replaced, $$ escapes, anything else is kept."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "$" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2 : end]
                    out.append(env.get(name, f"$({name})"))
                    i = end + 1
                    continue
                out.append("$(")
                i += 2
                continue
            out.append("$" + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _field_ref(pod: dict[str, Any], path: str) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName") or "local",
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": HOST_IP,
        "status.hostIPs": HOST_IP,
        "status.podIP": POD_IP,
        "status.podIPs": POD_IP,
    }
    if path in simple:
        return str(simple[path] or "")
    for prefix, source in (("metadata.labels", meta.get("labels")), ("metadata.annotations", meta.get("annotations"))):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((source or {}).get(path[len(prefix) + 2 : -2], ""))
    raise ConfigError(f'unsupported fieldRef fieldPath "{path}"')


def _ref_missing(ref: dict[str, Any]) -> bool:
    """A ConfigMap/Secret reference: this cluster stores none, so it is missing unless optional."""
    return not ref.get("optional")


def container_env(pod: dict[str, Any], c: dict[str, Any]) -> dict[str, str]:
    """The process environment of container `c` (see the module docstring)."""
    env: dict[str, str] = {
        "PATH": os.environ.get("PATH", DEFAULT_PATH),
        "HOSTNAME": str((pod.get("metadata") or {}).get("name", "")),
    }
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    for src in c.get("envFrom") or []:
        if not isinstance(src, dict):
            continue
        for kind, label in (("configMapRef", "configmap"), ("secretRef", "secret")):
            ref = src.get(kind)
            if isinstance(ref, dict) and _ref_missing(ref):
                raise ConfigError(f'{label} "{ref.get("name", "")}" not found')
    own: dict[str, str] = {}
    for e in c.get("env") or []:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            continue
        name = e["name"]
        vf = e.get("valueFrom")
        if isinstance(vf, dict):
            if isinstance(vf.get("fieldRef"), dict):
                value = _field_ref(pod, str(vf["fieldRef"].get("fieldPath", "")))
            elif isinstance(vf.get("configMapKeyRef"), dict) or isinstance(vf.get("secretKeyRef"), dict):
                kind = "configMapKeyRef" if "configMapKeyRef" in vf else "secretKeyRef"
                ref = vf[kind]
                if _ref_missing(ref):
                    label = "configmap" if kind == "configMapKeyRef" else "secret"
                    raise ConfigError(f'{label} "{ref.get("name", "")}" not found')
                continue
            else:
                raise ConfigError(f'env "{name}": only value and fieldRef are supported by the podherd local kubelet')
        else:
            value = expand(str(e.get("value") or ""), {**env, **own})
        own[name] = value
    env.update(own)
    return env
