"""How a container of the process kubelet becomes a process: the base environment and start errors.

* argv is ``command + args`` with ``$(VAR)`` expanded as the kubelet does (`envresolve.expand`).
* The environment starts from :func:`base_env` (``PATH`` and ``HOME`` inherited from the kubelet
  process, ``HOSTNAME`` the pod name); `envresolve` adds the pod's ``envFrom`` and ``env``.
* A failed start is worded as containerd/runc word it (:func:`start_error_message`),
  so that clients matching on those messages behave as against a real node.
"""

from __future__ import annotations

import os
from typing import Any

RUNC_PREFIX = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
    "runc create failed: unable to start container process: "
)
NEVER_STARTED = "1970-01-01T00:00:00Z"  # containerd's zero time: startedAt of a container that never started
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


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


def base_env(pod: dict[str, Any]) -> dict[str, str]:
    """What every container's environment starts with before the pod's own variables (`envresolve`):
    ``PATH`` and ``HOME`` from the kubelet (the image's are unknown: images are not pulled) and
    ``HOSTNAME``, the pod's name, as the runtime sets it."""
    env: dict[str, str] = {
        "PATH": os.environ.get("PATH", DEFAULT_PATH),
        "HOSTNAME": str((pod.get("metadata") or {}).get("name", "")),
    }
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    return env
