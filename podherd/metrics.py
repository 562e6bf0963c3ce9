"""Prometheus metrics for one replica, served on `--metrics-port` (127.0.0.1 unless told otherwise).

Most values already live in the components' stats objects; a custom collector
reads them at scrape time, so the hot paths carry no metric calls. Loop
duration is a real histogram, observed every loop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from podherd.standalone.replica import Replica

LOOP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ReplicaCollector(Collector):
    """Reads a replica's counters when Prometheus scrapes."""

    def __init__(self, replica: Replica) -> None:
        self.replica = replica

    def collect(self) -> Iterator[Any]:
        r = self.replica
        api = CounterMetricFamily(
            "podherd_api_requests", "Kubernetes API requests", labels=["verb", "resource", "code"]
        )
        for (verb, resource, code), n in sorted(r.kube.requests.counts.items()):
            api.add_metric([verb, resource, str(code)], n)
        yield api
        sweeper = getattr(r, "sweeper", None)
        claims = CounterMetricFamily("podherd_claims", "Conditional claims of dead replicas' pods", labels=["result"])
        sweeps = CounterMetricFamily("podherd_sweeps", "Adoption sweeps", labels=["result"])
        if sweeper is not None:
            claims.add_metric(["won"], sweeper.stats.claims_won)
            claims.add_metric(["lost"], sweeper.stats.claims_lost)
            sweeps.add_metric(["run"], sweeper.stats.sweeps)
            sweeps.add_metric(["skipped"], sweeper.stats.skipped)
            yield GaugeMetricFamily(
                "podherd_adoption_last_seconds",
                "Duration of the last sweep that took work over",
                value=sweeper.stats.last_takeover_seconds,
            )
            yield CounterMetricFamily(
                "podherd_tasks_taken_over",
                "Running tasks taken over from dead replicas",
                value=sweeper.stats.tasks_taken_over,
            )
        yield claims
        yield sweeps
        ex = r.executor
        if ex is None:
            return
        yield CounterMetricFamily(
            "podherd_pods_deleted", "Pods deleted by this replica", value=ex.cleaner.stats.deleted
        )
        yield CounterMetricFamily(
            "podherd_pods_labelled_done", "Pods labelled done (kept)", value=ex.cleaner.stats.labelled
        )
        yield CounterMetricFamily(
            "podherd_cleanup_gave_up",
            "Cleanups whose tries ran out (the leftover sweep retries them)",
            value=ex.cleaner.stats.gave_up,
        )
        yield CounterMetricFamily(
            "podherd_leftover_pods_retried",
            "Own finished pods found still there and cleaned up again",
            value=ex.leftovers.stats.retried,
        )
        yield CounterMetricFamily(
            "podherd_tries_handed_back",
            "Tries given back uncounted (the API refused the create)",
            value=ex.stats.handed_back,
        )
        health = r.kube.health.snapshot()
        yield GaugeMetricFamily(
            "podherd_api_usable", "1 while the Kubernetes API accepts this replica", value=int(health.state == "ok")
        )
        yield CounterMetricFamily(
            "podherd_api_refusals", "Requests the API refused (connection, TLS, 401, 403)", value=health.refusals
        )
        restarts = CounterMetricFamily("podherd_watch_restarts", "Watch streams opened", labels=["namespace"])
        expired = CounterMetricFamily("podherd_watch_expired", "410 Expired seen by watches", labels=["namespace"])
        relists = CounterMetricFamily("podherd_watch_relists", "Full re-lists", labels=["namespace"])
        for ns, w in sorted(ex.watchers.items()):
            restarts.add_metric([ns], w.stats.restarts)
            expired.add_metric([ns], w.stats.expired)
            relists.add_metric([ns], w.stats.relists)
        yield restarts
        yield expired
        yield relists
        attempts = CounterMetricFamily("podherd_attempts_finished", "Attempts finished here", labels=["result"])
        attempts.add_metric(["success"], ex.stats.succeeded)
        attempts.add_metric(["failed"], ex.stats.failed)
        yield attempts
        yield GaugeMetricFamily("podherd_attempts_running", "Attempts this replica is running", value=len(ex.attempts))
        try:
            from podherd.standalone.db import queries

            counts = queries.count_tasks_by_state(r.engine)
        except Exception:
            counts = {}
        tasks = GaugeMetricFamily("podherd_tasks", "Tasks by state (whole database)", labels=["state"])
        for state, n in sorted(counts.items()):
            tasks.add_metric([state], n)
        yield tasks
        yield CounterMetricFamily(
            "podherd_heartbeat_failures", "Heartbeats that failed", value=r.stats.heartbeat_failures
        )


class Metrics:
    """The replica's registry plus the loop-duration histogram."""

    def __init__(self, replica: Replica) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(ReplicaCollector(replica))
        self.loop_seconds = Histogram(
            "podherd_loop_duration_seconds",
            "Duration of one scheduler loop",
            buckets=LOOP_BUCKETS,
            registry=self.registry,
        )
        self._server: ThreadingHTTPServer | None = None

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, port: int, host: str = "127.0.0.1", health: Any = None) -> int:
        """Serve /metrics (and /healthz, /readyz when `health` is given) on a daemon thread."""
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    body, ctype, code = metrics.render(), CONTENT_TYPE_LATEST, 200
                elif health is not None and self.path in ("/healthz", "/readyz"):
                    ok, text = health(self.path[1:])
                    body, ctype, code = text.encode(), "text/plain; charset=utf-8", 200 if ok else 503
                else:
                    body, ctype, code = b"not found\n", "text/plain", 404
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, name="podherd-metrics", daemon=True).start()
        return self._server.server_address[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
