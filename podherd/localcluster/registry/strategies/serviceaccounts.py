"""The ServiceAccount strategy, and the ServiceAccount controller's one job here: a `default` in every namespace.

Kubernetes' serviceaccounts-controller creates a ServiceAccount `default` in each namespace as it
appears and again whenever it is deleted while the namespace is active; pods that name no account
run as it. Here the namespace strategy asks for it as a companion at create time (`base.companions`)
and this strategy asks for it again after a delete (`replacement`), so it exists as soon as the
namespace does, with no controller loop to wait for. Since 1.24 no token Secret is made for it.
"""

from __future__ import annotations

from podherd.localcluster.registry.strategies.base import JSONDict, Strategy

DEFAULT_ACCOUNT = "default"


def default_account() -> JSONDict:
    return {"metadata": {"name": DEFAULT_ACCOUNT}}


class ServiceAccountStrategy(Strategy):
    def replacement(self, obj: JSONDict) -> JSONDict | None:
        """The object the controller recreates after `obj` was deleted: the `default` account only."""
        return default_account() if (obj.get("metadata") or {}).get("name") == DEFAULT_ACCOUNT else None
