"""Hooks the Airflow test harness puts into the Airflow processes it starts (never into task pods).

The harness puts this directory on ``PYTHONPATH`` of each scheduler and of the API server, with

* ``PODHERD_AIRFLOW_PROCESS=<name>`` (``s1``, ``s2``, ``api-server``): `sitecustomize` then gives
  every Kubernetes client the process creates the User-Agent ``podherd-airflow-test (<name>)``, so
  the embedded cluster's audit log tells the schedulers apart. It works for every provider version
  (10.17.0 has no ``[kubernetes_executor] client_factory``) and for the executor's watcher
  subprocess (it inherits the patched class, or re-runs `sitecustomize` when spawned);
* ``AIRFLOW__CORE__HOSTNAME_CALLABLE=podherd_airflow_hooks.hostname``: the scheduler's ``job`` row
  then carries ``hostname = <name>``, which maps a name to its ``job.id`` (the ``airflow-worker``
  label value of the pods it launches).

Standard library only: the same file serves every Airflow venv.
"""

from __future__ import annotations

import os
import socket

PROCESS_ENV = "PODHERD_AIRFLOW_PROCESS"
USER_AGENT_PREFIX = "podherd-airflow-test"


def user_agent(name: str) -> str:
    """The User-Agent of the Airflow process called `name` (the harness parses it back)."""
    return f"{USER_AGENT_PREFIX} ({name})"


def hostname() -> str:
    """``[core] hostname_callable`` for harness processes: their name, else the machine's."""
    return os.environ.get(PROCESS_ENV) or socket.getfqdn()


def _patch(api_client_class: type, agent: str) -> None:
    original = api_client_class.__init__

    def __init__(self: object, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        self.user_agent = agent  # type: ignore[attr-defined]  # a property setting default_headers

    api_client_class.__init__ = __init__  # type: ignore[method-assign]


def install_user_agent() -> None:
    """Give every ``ApiClient`` (sync and asyncio clients) this process's User-Agent."""
    name = os.environ.get(PROCESS_ENV)
    if not name:
        return
    agent = user_agent(name)
    try:
        from kubernetes.client import api_client
    except ImportError:
        return
    _patch(api_client.ApiClient, agent)
    try:
        from kubernetes_asyncio.client import api_client as async_api_client
    except ImportError:
        return
    _patch(async_api_client.ApiClient, agent)
