"""The kubeconfig that points kubectl and client libraries at a local cluster, written readable by the owner only."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

NAME = "podherd-local"


def kubeconfig_dict(server_url: str, token: str, ca_pem: bytes | None) -> dict[str, Any]:
    """One cluster, user and context, all named `podherd-local`, with namespace `default`."""
    cluster: dict[str, str] = {"server": server_url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NAME, "cluster": cluster}],
        "users": [{"name": NAME, "user": {"token": token}}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME, "namespace": "default"}}],
        "current-context": NAME,
        "preferences": {},
    }


def write_private_yaml(path: Path, doc: dict[str, Any]) -> Path:
    """Write `doc` as YAML with mode 0600 (it carries the bearer token), also over an existing file.

    Directories it has to create are 0700, whatever the umask."""
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
    os.chmod(path, 0o600)
    return path
