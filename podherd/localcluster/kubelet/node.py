"""The node a kubelet runs: its name, clock and event loop, whether it has stopped, and its pods as stored.

Shared by the kubelet core, the status writer, the event recorder and the run-mode drivers, so that
each of them gets these few facts without holding the kubelet itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.kubelet.state import PodState
from podherd.localcluster.storage.store import Store, now_rfc3339


class Node:
    """What every part of one kubelet may read; only the core changes `stopped` and `loop`."""

    def __init__(self, store: Store, name: str = "local", clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.name = name
        self.clock = clock
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopped = False

    def now(self) -> str:
        """The current time as an RFC 3339 timestamp (what status and event fields carry)."""
        return now_rfc3339(self.clock())

    def current(self, ps: PodState) -> dict[str, Any] | None:
        """The stored pod if it is still this pod (same uid), else None."""
        if ps.gone:
            return None
        pod = self.store.get(PODS.plural, ps.key)
        if pod is None or (pod.get("metadata") or {}).get("uid") != ps.uid:
            return None
        return pod
