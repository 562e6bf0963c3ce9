"""The local cluster's composition root: `ClusterConfig`, and `LocalCluster`, which wires and runs the parts.

`LocalCluster` builds storage, the registry, the handlers, the application (`app`) and the kubelet,
and runs them in the foreground (`podherd cluster up`) or in a background thread of the caller's
process (tests, `podherd run`). It binds to 127.0.0.1 by default and requires a bearer token on every
request but the health probes. `ClusterConfig.gc_tuning` (default on) tunes the process's GC while
the cluster runs (`gctuning`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from podherd.localcluster.apiserver.admin import AdminEndpoints, RequestCounts
from podherd.localcluster.apiserver.app import ApiApp
from podherd.localcluster.apiserver.audit import AuditLog
from podherd.localcluster.apiserver.faults import Faults
from podherd.localcluster.apiserver.gctuning import GC_THRESHOLDS, GC_TUNING, GcTuning
from podherd.localcluster.apiserver.handlers.dispatch import ResourceHandlers
from podherd.localcluster.apiserver.kubeconfig import kubeconfig_dict, write_private_yaml
from podherd.localcluster.apiserver.tls import ServingCerts, make_serving_certs
from podherd.localcluster.apiserver.wire import listen
from podherd.localcluster.kubelet.core import Kubelet
from podherd.localcluster.kubelet.logs import LogStore
from podherd.localcluster.registry.deletion import Deleter
from podherd.localcluster.registry.store import Api
from podherd.localcluster.storage.store import Store

__all__ = ["GC_THRESHOLDS", "GC_TUNING", "ClusterConfig", "GcTuning", "LocalCluster", "http_pool"]

log = logging.getLogger("podherd.localcluster")


@dataclass
class ClusterConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    mode: str = "process"  # kubelet mode: process | simulate | none
    audit_log: Path | None = None
    state_dir: Path | None = None
    kubeconfig: Path | None = None
    faults: Faults = field(default_factory=Faults)
    bookmark_interval: float = 60.0
    history_limit: int = 50_000
    kill_grace_cap: float | None = None  # cap pods' termination grace (tests)
    kubelet_events: bool | None = None
    tls: bool = True  # client-go sends credentials only over TLS; plain HTTP is for benchmarks of Python clients
    gc_tuning: bool = True  # process-wide GC thresholds + freeze while the cluster runs (module docstring)


class LocalCluster:
    """Everything one local cluster needs; start() in a thread or run() in the foreground."""

    def __init__(self, config: ClusterConfig | None = None) -> None:
        self.config = config or ClusterConfig()
        self.store = Store(history_limit=self.config.history_limit)
        self.api = Api(self.store)
        self.deleter = Deleter(self.api)
        self.logs = LogStore()
        self.faults = self.config.faults
        self.handlers = ResourceHandlers(
            self.store,
            self.api,
            self.deleter,
            self.logs,
            self.config.bookmark_interval,
            self.faults,
            streams=lambda: self.kubelet.streams if self.kubelet is not None else None,
        )
        self.audit = AuditLog(self.config.audit_log) if self.config.audit_log else None
        self.kubelet: Kubelet | None = None
        self.port = self.config.port
        self.loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.request_counts: RequestCounts = {}
        admin = AdminEndpoints(self.store, self.faults, self.handlers, self.request_counts, self._restart_fault_tasks)
        self.app = ApiApp(
            self.config.token,
            self.faults,
            self.handlers,
            admin,
            self.request_counts,
            self.audit,
            lambda: f"{self.config.host}:{self.port}",
        )
        self.certs: ServingCerts | None = None
        self._tls_dir: Path | None = None
        self._gc_tuned = False

    # ---- addresses ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{self.config.host}:{self.port}"

    @property
    def ca_file(self) -> str | None:
        return str(self.certs.ca_file) if self.certs is not None else None

    @property
    def token(self) -> str:
        return self.config.token

    def kubeconfig_dict(self) -> dict[str, Any]:
        return kubeconfig_dict(self.url, self.token, self.certs.ca_pem() if self.certs is not None else None)

    def write_kubeconfig(self, path: Path) -> Path:
        """Write a kubeconfig with the bearer token, readable by the owner only (0600)."""
        return write_private_yaml(path, self.kubeconfig_dict())

    def make_app(self) -> web.Application:
        return self.app.make_app()

    # ---- background work -----------------------------------------------------------------------
    def _restart_fault_tasks(self) -> None:
        for t in self._tasks:
            if getattr(t, "_podherd_fault", False):
                t.cancel()
        self._tasks = [t for t in self._tasks if not getattr(t, "_podherd_fault", False)]
        if self.faults.drop_watches_every:
            self._spawn(self._every(self.faults.drop_watches_every, self.handlers.drop_watches), fault=True)
        if self.faults.compact_every:
            self._spawn(self._every(self.faults.compact_every, self.store.compact), fault=True)

    def _spawn(self, coro: Coroutine[Any, Any, None], fault: bool = False) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        task._podherd_fault = fault  # type: ignore[attr-defined]
        self._tasks.append(task)

    async def _every(self, period: float, fn: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                fn()
            except Exception:
                log.exception("periodic task failed")

    # ---- lifecycle ----------------------------------------------------------------------------
    async def start_async(self) -> None:
        self.loop = asyncio.get_running_loop()
        if self.config.mode in ("process", "simulate"):
            self.kubelet = Kubelet(
                self.api,
                self.deleter,
                self.logs,
                mode=self.config.mode,
                state_dir=self.config.state_dir,
                events=self.config.kubelet_events,
                kill_grace_cap=self.config.kill_grace_cap,
            )
            await self.kubelet.start()
        elif self.config.mode != "none":
            raise ValueError(f"unknown kubelet mode {self.config.mode!r}: expected process, simulate or none")
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False, shutdown_timeout=1)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        self.port = sock.getsockname()[1]
        ssl_context = None
        if self.config.tls:
            self._tls_dir = Path(tempfile.mkdtemp(prefix="podherd-tls-"))
            self.certs = make_serving_certs(self._tls_dir, self.config.host)
            ssl_context = self.certs.server_context()
        assert self._runner.server is not None
        self._listener = await listen(self._runner.server, sock, ssl_context)
        self._spawn(self._every(1.0, self.deleter.finalize_namespaces))
        self._restart_fault_tasks()
        if self.config.kubeconfig:
            self.write_kubeconfig(self.config.kubeconfig)
        if self.config.gc_tuning and not self._gc_tuned:  # after startup, so the freeze holds its objects
            GC_TUNING.acquire()
            self._gc_tuned = True

    async def stop_async(self) -> None:
        if self._gc_tuned:  # first, so a failing step below cannot leave the process tuned
            self._gc_tuned = False
            GC_TUNING.release()
        for t in self._tasks:
            t.cancel()
        self._tasks.clear()
        self.handlers.drop_watches()
        if self.kubelet is not None:
            await self.kubelet.stop()
        if self._listener is not None:
            self._listener.close()  # stop accepting; the runner's cleanup closes open connections
        if self._runner is not None:
            await self._runner.cleanup()
        if self.audit is not None:
            self.audit.close()
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)

    def start(self) -> LocalCluster:
        """Run the cluster on a background thread of this process; returns once it serves."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as e:  # reported to the starting thread
                failure.append(e)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_async())
            loop.close()

        self._thread = threading.Thread(target=main, name="podherd-localcluster", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self.loop is not None and self._thread is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=30)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run `fn(*args)` on the cluster's loop thread and return its result (tests, admin)."""
        assert self.loop is not None

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def api_client(self, user_agent: str | None = None) -> Any:
        """An official `kubernetes` ApiClient pointed at this cluster."""
        from kubernetes import client

        cfg = client.Configuration()
        cfg.host = self.url
        cfg.api_key = {"authorization": self.token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
        if self.ca_file:
            cfg.ssl_ca_cert = self.ca_file
        api = client.ApiClient(cfg)
        if user_agent:
            api.user_agent = user_agent
        return api


def http_pool(cluster: LocalCluster) -> Any:
    """A urllib3 pool that trusts the cluster's CA (for raw HTTP in tests and tools)."""
    import urllib3

    return urllib3.PoolManager(ca_certs=cluster.ca_file) if cluster.ca_file else urllib3.PoolManager()


async def serve_forever(cluster: LocalCluster, on_ready: Any = None) -> None:
    """Foreground mode: run until SIGINT/SIGTERM, then stop pods and the server cleanly."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await cluster.start_async()
    if on_ready is not None:
        on_ready(cluster)
    await stop.wait()
    await cluster.stop_async()
