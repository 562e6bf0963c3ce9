"""The replica's heartbeat thread: liveness is not the work loop (DESIGN §4.8).

It runs `beat` (the job row's `latest_heartbeat`) and then every hook (the Lease renewal) each
period, on its own thread with its own short transactions, so a slow or stuck loop never makes a
live replica look dead. A failing hook is logged at debug level: the API's health logs refusals once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger("podherd.scheduler")


class Heartbeat(threading.Thread):
    def __init__(self, beat: Callable[[], None], period: float, hooks: Sequence[Callable[[], None]] = ()) -> None:
        super().__init__(name="podherd-heartbeat", daemon=True)
        self.beat = beat
        self.period = period
        self.hooks = list(hooks)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.period):
            self.once()

    def once(self) -> None:
        self.beat()
        for hook in self.hooks:
            try:
                hook()
            except Exception as e:  # e.g. a Lease renewal while the API is down
                log.debug("heartbeat hook failed: %s", type(e).__name__)
