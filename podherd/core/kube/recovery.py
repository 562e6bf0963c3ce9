"""Bring an unusable API connection back without a restart: re-read the configuration, then probe.

Runs on its own thread, so a probe that hangs until its connect timeout never delays the
replica's loop or its heartbeat. While `health` says unusable, at each backoff step it
re-reads where the configuration came from (a rewritten kubeconfig, a rotated service-account
token, a new CA) and sends one cheap authorised request; any success, this probe's or another
request's, makes the API usable again. Bound service-account tokens rotate, which is why the
files are re-read rather than the old credentials retried.
"""

from __future__ import annotations

import logging
import threading

from podherd.core.kube.client import KubeClient

log = logging.getLogger("podherd.api")


class Recovery(threading.Thread):
    def __init__(self, kube: KubeClient, namespace: str) -> None:
        super().__init__(name="podherd-api-recovery", daemon=True)
        self.kube = kube
        self.namespace = namespace
        self.probes = 0
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        self.kube.health.changed.set()

    def run(self) -> None:
        health = self.kube.health
        while not self._stop.is_set():
            if health.ready:
                health.changed.clear()
                if health.ready:  # cleared after the check: a change in between is not lost
                    health.changed.wait(5.0)
                continue
            if not health.probe_due():
                self._stop.wait(min(1.0, max(0.05, health.seconds_to_probe())))
                continue
            self.probe_once()

    def probe_once(self) -> bool:
        """Re-read the configuration and send one request; True if the API accepted it."""
        self.probes += 1
        self.kube.reload()
        try:
            self.kube.probe(self.namespace)
        except Exception as e:  # already judged by the client (health logs state changes once)
            log.debug("API probe failed: %s", type(e).__name__)
            return False
        return True
