"""Prometheus metrics for one replica, served on `--metrics-port` (127.0.0.1 unless told otherwise).

Most values already live in the components' stats; at scrape time the replica hands over one
frozen `ReplicaSnapshot` and the collector turns it into metric families, so the hot paths carry
no metric calls and the collector reaches into no component. Loop duration is a real histogram,
observed every loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from podherd.core.executor.cleanup import CleanupStats
from podherd.core.executor.executor import ExecutorStats
from podherd.core.executor.leftovers import LeftoverStats
from podherd.core.executor.watcher import WatcherStats
from podherd.core.ha.sweeper import SweepStats
from podherd.core.kube.health import OK, HealthSnapshot

LOOP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

Health = Callable[[str], tuple[bool, str]]  # probe name ("healthz" | "readyz") -> (ok, text)


@dataclass(frozen=True)
class ReplicaSnapshot:
    """Everything the metrics show, read from the components at one moment."""

    requests: Mapping[tuple[str, str, int], int]  # (verb, resource, HTTP code) -> API requests
    api: HealthSnapshot
    sweeper: SweepStats
    executor: ExecutorStats
    running: int  # attempts this replica follows now
    cleanup: CleanupStats
    leftovers: LeftoverStats
    watches: Mapping[str, WatcherStats]  # by namespace
    heartbeat_failures: int


def _counter(name: str, doc: str, value: float) -> Metric:
    return CounterMetricFamily(name, doc, value=value)


def api_families(s: ReplicaSnapshot) -> Iterator[Metric]:
    api = CounterMetricFamily("podherd_api_requests", "Kubernetes API requests", labels=["verb", "resource", "code"])
    for (verb, resource, code), n in sorted(s.requests.items()):
        api.add_metric([verb, resource, str(code)], n)
    yield api
    yield GaugeMetricFamily(
        "podherd_api_usable", "1 while the Kubernetes API accepts this replica", value=int(s.api.state == OK)
    )
    yield _counter("podherd_api_refusals", "Requests the API refused (connection, TLS, 401, 403)", s.api.refusals)


def adoption_families(s: ReplicaSnapshot) -> Iterator[Metric]:
    claims = CounterMetricFamily("podherd_claims", "Conditional claims of dead replicas' pods", labels=["result"])
    claims.add_metric(["won"], s.sweeper.claims_won)
    claims.add_metric(["lost"], s.sweeper.claims_lost)
    sweeps = CounterMetricFamily("podherd_sweeps", "Adoption sweeps", labels=["result"])
    sweeps.add_metric(["run"], s.sweeper.sweeps)
    sweeps.add_metric(["skipped"], s.sweeper.skipped)
    yield GaugeMetricFamily(
        "podherd_adoption_last_seconds",
        "Duration of the last sweep that took work over",
        value=s.sweeper.last_takeover_seconds,
    )
    yield _counter(
        "podherd_tasks_taken_over", "Running tasks taken over from dead replicas", s.sweeper.tasks_taken_over
    )
    yield claims
    yield sweeps


def executor_families(s: ReplicaSnapshot) -> Iterator[Metric]:
    yield _counter("podherd_pods_deleted", "Pods deleted by this replica", s.cleanup.deleted)
    yield _counter("podherd_pods_labelled_done", "Pods labelled done (kept)", s.cleanup.labelled)
    yield _counter(
        "podherd_cleanup_gave_up", "Cleanups whose tries ran out (the leftover sweep retries them)", s.cleanup.gave_up
    )
    yield _counter(
        "podherd_leftover_pods_retried", "Own finished pods found still there and cleaned up again", s.leftovers.retried
    )
    yield _counter(
        "podherd_tries_handed_back", "Tries given back uncounted (the API refused the create)", s.executor.handed_back
    )
    attempts = CounterMetricFamily("podherd_attempts_finished", "Attempts finished here", labels=["result"])
    attempts.add_metric(["success"], s.executor.succeeded)
    attempts.add_metric(["failed"], s.executor.failed)
    yield attempts
    yield GaugeMetricFamily("podherd_attempts_running", "Attempts this replica is running", value=s.running)


def watch_families(s: ReplicaSnapshot) -> Iterator[Metric]:
    restarts = CounterMetricFamily("podherd_watch_restarts", "Watch streams opened", labels=["namespace"])
    expired = CounterMetricFamily("podherd_watch_expired", "410 Expired seen by watches", labels=["namespace"])
    relists = CounterMetricFamily("podherd_watch_relists", "Full re-lists", labels=["namespace"])
    for ns, w in sorted(s.watches.items()):
        restarts.add_metric([ns], w.restarts)
        expired.add_metric([ns], w.expired)
        relists.add_metric([ns], w.relists)
    yield restarts
    yield expired
    yield relists


def task_families(counts: Mapping[str, int], heartbeat_failures: int) -> Iterator[Metric]:
    tasks = GaugeMetricFamily("podherd_tasks", "Tasks by state (whole database)", labels=["state"])
    for state, n in sorted(counts.items()):
        tasks.add_metric([state], n)
    yield tasks
    yield _counter("podherd_heartbeat_failures", "Heartbeats that failed", heartbeat_failures)


class ReplicaCollector(Collector):
    """Reads a replica's snapshot (and the task counts, when the database answers) when Prometheus scrapes."""

    def __init__(self, snapshot: Callable[[], ReplicaSnapshot], task_counts: Callable[[], Mapping[str, int]]) -> None:
        self.snapshot = snapshot
        self.task_counts = task_counts

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot()
        yield from api_families(s)
        yield from adoption_families(s)
        yield from executor_families(s)
        yield from watch_families(s)
        try:
            counts = self.task_counts()
        except Exception:  # the database is down: the rest of the metrics still answer
            counts = {}
        yield from task_families(counts, s.heartbeat_failures)


class Metrics:
    """The replica's registry plus the loop-duration histogram."""

    def __init__(self, snapshot: Callable[[], ReplicaSnapshot], task_counts: Callable[[], Mapping[str, int]]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(ReplicaCollector(snapshot, task_counts))
        self.loop_seconds = Histogram(
            "podherd_loop_duration_seconds",
            "Duration of one scheduler loop",
            buckets=LOOP_BUCKETS,
            registry=self.registry,
        )
        self._server: ThreadingHTTPServer | None = None

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, port: int, host: str = "127.0.0.1", health: Health | None = None) -> int:
        """Serve /metrics (and /healthz, /readyz when `health` is given) on a daemon thread."""
        self._server = ThreadingHTTPServer((host, port), _handler(self, health))
        threading.Thread(target=self._server.serve_forever, name="podherd-metrics", daemon=True).start()
        return self._server.server_address[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _handler(metrics: Metrics, health: Health | None) -> type[BaseHTTPRequestHandler]:
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

    return Handler
