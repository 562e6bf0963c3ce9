"""The local cluster's audit log: one JSON line per request (the HA and benchmark work count API traffic from it).

The log names every task pod and namespace, so it is private: the file is created (or tightened)
to 0600, and directories the server creates for it are 0700.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO

from aiohttp import web

from podherd.localcluster.apiserver.handlers.common import CREATED_NAME
from podherd.localcluster.apiserver.routing import RequestInfo


def make_private_dirs(directory: Path) -> None:
    """Create `directory` and any missing parents with mode 0700; existing ones are left as they are."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)  # mkdir's mode is filtered by the umask


class AuditLog:
    """One JSON line per request: time, verb, path, query, code, user agent (+ resource fields), and the
    response body's size in bytes when the whole body was one piece (`responseBytes`; absent for a watch)."""

    def __init__(self, path: Path) -> None:
        make_private_dirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)  # also an existing file, and whatever the umask did
        self._fh: IO[str] = os.fdopen(fd, "a", buffering=1, encoding="utf-8")

    def write(
        self, request: web.Request, info: RequestInfo, code: int, started: float, nbytes: int | None = None
    ) -> None:
        if self._fh.closed:
            return  # a request finishing while the cluster stops
        rec = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started)) + f".{int(started % 1 * 1e6):06d}Z",
            "verb": info.verb,
            "path": request.path,
            "query": request.query_string,
            "code": code,
            "userAgent": request.headers.get("User-Agent", ""),
            "resource": info.resource,
            "subresource": info.subresource,
            "namespace": info.namespace,
            "name": info.name or request.get(CREATED_NAME, ""),
            "group": info.group,
            "latencyMs": round((time.time() - started) * 1000, 3),
        }
        if nbytes is not None:
            rec["responseBytes"] = nbytes
        self._fh.write(json.dumps(rec, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._fh.close()
