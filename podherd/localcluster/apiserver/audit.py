"""The local cluster's audit log: one JSON line per request (the HA and benchmark work count API traffic from it)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO

from aiohttp import web

from podherd.localcluster.apiserver.handlers.common import CREATED_NAME
from podherd.localcluster.apiserver.routing import RequestInfo


class AuditLog:
    """One JSON line per request: time, verb, path, query, code, user agent (+ resource fields)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def write(self, request: web.Request, info: RequestInfo, code: int, started: float) -> None:
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
        self._fh.write(json.dumps(rec, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._fh.close()
