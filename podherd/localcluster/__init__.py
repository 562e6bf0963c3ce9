"""podherd's embedded Kubernetes cluster: an HTTPS API server that kubectl and client-go use unchanged, plus a kubelet.

Layers, lowest first (each imports only from the ones below it; tests/unit/test_localcluster_layout.py
checks this, and the absence of import cycles):

* ``apimachinery`` (kinds, Status errors) and ``storage`` (versioned store, history, watch);
* ``validation`` (defaulting and per-kind validation);
* ``selectors`` (label and field selector grammar) and ``patch`` (JSON, merge, strategic merge);
* ``registry`` (write, delete and list semantics; per-kind ``strategies``; namespace lifecycle);
* ``kubelet`` (runs pods as processes, or simulates them) and ``apiserver`` (HTTP, handlers, server).

Public names: ``LocalCluster`` and ``ClusterConfig``. They are loaded on first use (PEP 562) rather
than imported here, so that importing a low layer such as ``podherd.localcluster.selectors.label``
does not load the API server, aiohttp and the kubelet with it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ClusterConfig", "LocalCluster"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from podherd.localcluster.apiserver import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
