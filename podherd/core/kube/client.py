"""A thin wrapper over the official `kubernetes` client for podherd's few calls: the `PodAPI` and `LeaseAPI` ports.

Why a wrapper: every call returns plain dicts parsed with orjson from the raw
response (`_preload_content=False`) — model deserialisation costs ~10x more on
big lists — and every call passes one client-side rate limiter and one request
counter. Errors are the client's `ApiException`; 404, 409, 410 and 422 come as their
`kube.errors` kind (`NotFound`, ...), and `kube.classify` sorts any of them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from podherd import __version__
from podherd.core.kube.classify import unusable
from podherd.core.kube.errors import typed
from podherd.core.kube.health import ApiHealth
from podherd.core.kube.ratelimit import TokenBucket

METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class KubeSettings:
    kubeconfig: str | None = None  # None: in-cluster if available, else KUBECONFIG / ~/.kube/config
    context: str | None = None
    qps: float = 50.0
    burst: int = 100
    pool_size: int = 32
    verify_ssl: bool = True


def load_configuration(settings: KubeSettings) -> client.Configuration:
    """Where clients expect (controller-runtime's order): an explicit kubeconfig (flag or $KUBECONFIG) or
    context, else the in-cluster service account when running in a pod, else ~/.kube/config."""
    cfg = client.Configuration()
    explicit = settings.kubeconfig or os.environ.get("KUBECONFIG") or None
    if explicit is None and settings.context is None:
        try:
            config.load_incluster_config(client_configuration=cfg)
        except config.ConfigException:
            config.load_kube_config(client_configuration=cfg)
    else:
        config.load_kube_config(config_file=explicit, context=settings.context, client_configuration=cfg)
    if not settings.verify_ssl:
        cfg.verify_ssl = False
    cfg.connection_pool_maxsize = settings.pool_size
    return cfg


class RequestCounter:
    """Counts requests by (verb, resource, code); read by metrics and benchmarks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, str, int], int] = {}
        self.listeners: list[Callable[[str, str, int], None]] = []

    def add(self, verb: str, resource: str, code: int) -> None:
        with self._lock:
            key = (verb, resource, code)
            self.counts[key] = self.counts.get(key, 0) + 1
        for fn in self.listeners:
            fn(verb, resource, code)


class _AcceptOverride:
    """An ApiClient (the same connection pool and settings) that answers every Accept negotiation with one type.

    How a metadata-only list asks for `PartialObjectMetadataList` on every version of the `kubernetes`
    package: up to 36 (which Airflow's provider pins) the generated methods overwrite an Accept passed
    in `_headers` with their own choice, from 37 on they keep it; both ask `select_header_accept`.
    """

    def __init__(self, api_client: client.ApiClient, accept: str) -> None:
        self._api_client = api_client
        self._accept = accept

    def select_header_accept(self, accepts: list[str]) -> str:
        return self._accept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api_client, name)


class KubeClient:
    """The Kubernetes calls podherd makes. Thread-safe; share one per replica.

    Every answer also feeds `health` (kube/health.py): the replica claims work only while the
    API accepts it. `reload()` rebuilds the connection from where the configuration came from
    (the kubeconfig, or the in-cluster token and CA files), so rotated tokens and a new CA are
    picked up without a restart.
    """

    def __init__(
        self,
        configuration: client.Configuration,
        user_agent: str | None = None,
        qps: float = 50.0,
        burst: int = 100,
        pool_size: int = 32,
        settings: KubeSettings | None = None,
    ) -> None:
        self.pool_size = pool_size
        self.settings = settings
        self.user_agent = user_agent or f"podherd/{__version__}"
        self._connect(configuration)
        self.limiter = TokenBucket(qps, burst)
        self.requests = RequestCounter()
        self.health = ApiHealth()
        self.reloads = 0

    def _connect(self, configuration: client.Configuration) -> None:
        configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize or 0, self.pool_size)
        api_client = client.ApiClient(configuration)
        api_client.user_agent = self.user_agent
        # One assignment each: a request running on another thread keeps the client it started with.
        self.core = client.CoreV1Api(api_client)
        self.core_metadata = client.CoreV1Api(_AcceptOverride(api_client, METADATA_LIST))
        self.coordination = client.CoordinationV1Api(api_client)
        self.api_client = api_client

    @classmethod
    def from_settings(cls, settings: KubeSettings, user_agent: str | None = None) -> KubeClient:
        return cls(load_configuration(settings), user_agent, settings.qps, settings.burst, settings=settings)

    def set_user_agent(self, user_agent: str) -> None:
        self.user_agent = user_agent
        self.api_client.user_agent = user_agent

    def reload(self) -> bool:
        """Re-read the configuration source (kubeconfig or in-cluster files) and reconnect.

        Returns False when there is nothing to re-read (built from a Configuration object) or the
        source cannot be read now; the caller keeps the current connection and probes again later.
        """
        if self.settings is None:
            return False
        try:
            configuration = load_configuration(self.settings)
        except Exception:  # a half-written kubeconfig, a missing token file: try again next probe
            return False
        self._connect(configuration)
        self.reloads += 1
        return True

    def probe(self, namespace: str) -> None:
        """One cheap authenticated and authorised request (list one pod); its answer feeds `health`."""
        self._json("list", "pods", self.core.list_namespaced_pod, namespace, limit=1)

    def close(self) -> None:
        self.api_client.close()

    # ---- plumbing -----------------------------------------------------------------------------
    def _call(self, verb: str, resource: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.limiter.take()
        kwargs.setdefault("_preload_content", False)
        kwargs.setdefault("_request_timeout", (10, 60))
        try:
            resp = fn(*args, **kwargs)
        except ApiException as e:
            self.requests.add(verb, resource, e.status or 0)
            self._judge(e)
            kind = typed(e)
            if kind is e:
                raise
            raise kind from e
        except Exception as e:
            self.requests.add(verb, resource, 0)
            self._judge(e)
            raise
        self.requests.add(verb, resource, resp.status)
        self.health.succeeded()
        return resp

    def _judge(self, e: BaseException) -> None:
        why = unusable(e)
        if why is not None:
            self.health.refused(why)
        elif isinstance(e, ApiException) and isinstance(e.status, int) and 400 <= e.status < 500 and e.status != 429:
            self.health.succeeded()  # an answer such as 404 or 409 shows the API accepts us

    def _json(self, verb: str, resource: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        resp = self._call(verb, resource, fn, *args, **kwargs)
        try:
            return orjson.loads(resp.data)
        finally:
            resp.release_conn()

    # ---- pods ---------------------------------------------------------------------------------
    def create_pod(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("create", "pods", self.core.create_namespaced_pod, namespace, body)

    def get_pod(self, namespace: str, name: str) -> dict[str, Any]:
        return self._json("get", "pods", self.core.read_namespaced_pod, name, namespace)

    def delete_pod(self, namespace: str, name: str, uid: str | None = None, grace_seconds: int | None = None) -> None:
        """Delete one pod; with `uid`, only that incarnation (a recreated pod of the same name is safe)."""
        body: dict[str, Any] = {"propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        if grace_seconds is not None:
            body["gracePeriodSeconds"] = grace_seconds
        self._json("delete", "pods", self.core.delete_namespaced_pod, name, namespace, body=body)

    def pod_log(self, namespace: str, name: str, container: str, tail_lines: int = 20) -> str:
        """The last lines a container wrote (for a failed attempt's details)."""
        resp = self._call(
            "get",
            "pods/log",
            self.core.read_namespaced_pod_log,
            name,
            namespace,
            container=container,
            tail_lines=tail_lines,
        )
        try:
            return resp.data.decode("utf-8", errors="replace")
        finally:
            resp.release_conn()

    def json_patch_pod(self, namespace: str, name: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        """A JSON patch: with a `test` op first it is a compare-and-swap (the loser gets 422)."""
        return self._json(
            "patch", "pods", self.core.patch_namespaced_pod, name, namespace, ops, _content_type=JSON_PATCH
        )

    def merge_patch_pod(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self._json(
            "patch", "pods", self.core.patch_namespaced_pod, name, namespace, patch, _content_type=MERGE_PATCH
        )

    def list_pods(
        self,
        namespace: str,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 500,
        metadata_only: bool = False,
    ) -> tuple[list[dict[str, Any]], str]:
        """All matching pods, paged with `limit`; returns (items, resourceVersion of the snapshot)."""
        items: list[dict[str, Any]] = []
        cont: str | None = None
        rv = ""
        api = self.core_metadata if metadata_only else self.core
        while True:
            kwargs: dict[str, Any] = {
                "label_selector": label_selector,
                "field_selector": field_selector,
                "limit": limit,
            }
            if cont:
                kwargs["_continue"] = cont
            page = self._json("list", "pods", api.list_namespaced_pod, namespace, **kwargs)
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            rv = rv or meta.get("resourceVersion", "")
            cont = meta.get("continue")
            if not cont:
                return items, rv

    def watch_pods(
        self,
        namespace: str,
        label_selector: str,
        resource_version: str,
        timeout_seconds: int,
        read_timeout: float,
    ) -> Iterator[dict[str, Any]]:
        """Stream raw watch events (dicts) until the server ends the watch; errors propagate."""
        resp = self._call(
            "watch",
            "pods",
            self.core.list_namespaced_pod,
            namespace,
            label_selector=label_selector,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=timeout_seconds,
            watch=True,
            _request_timeout=(10, read_timeout),
        )
        try:
            buf = b""
            for chunk in resp.stream(amt=None, decode_content=False):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield orjson.loads(line)
            if buf.strip():
                yield orjson.loads(buf)
        finally:
            resp.release_conn()
            resp.close()

    # ---- leases -------------------------------------------------------------------------------
    def get_lease(self, namespace: str, name: str) -> dict[str, Any]:
        return self._json("get", "leases", self.coordination.read_namespaced_lease, name, namespace)

    def create_lease(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("create", "leases", self.coordination.create_namespaced_lease, namespace, body)

    def replace_lease(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("update", "leases", self.coordination.replace_namespaced_lease, name, namespace, body)

    def list_leases(self, namespace: str, label_selector: str = "") -> list[dict[str, Any]]:
        page = self._json(
            "list", "leases", self.coordination.list_namespaced_lease, namespace, label_selector=label_selector
        )
        return page.get("items") or []

    def delete_lease(self, namespace: str, name: str) -> None:
        self._json("delete", "leases", self.coordination.delete_namespaced_lease, name, namespace)
