"""Which strategy each served kind uses: the one place that maps kinds to their registry behaviour."""

from __future__ import annotations

from podherd.localcluster.apimachinery.kinds import (
    CONFIGMAPS,
    EVENTS,
    LEASES,
    NAMESPACES,
    NODES,
    PODS,
    SECRETS,
    SERVICEACCOUNTS,
    ResourceType,
)
from podherd.localcluster.registry.strategies.base import Strategy
from podherd.localcluster.registry.strategies.configmaps import ConfigMapStrategy
from podherd.localcluster.registry.strategies.events import EventStrategy
from podherd.localcluster.registry.strategies.leases import LeaseStrategy
from podherd.localcluster.registry.strategies.namespaces import NamespaceStrategy
from podherd.localcluster.registry.strategies.nodes import NodeStrategy
from podherd.localcluster.registry.strategies.pods import PodStrategy
from podherd.localcluster.registry.strategies.secrets import SecretStrategy
from podherd.localcluster.registry.strategies.serviceaccounts import ServiceAccountStrategy

_DEFAULT = Strategy()
_BY_RESOURCE: dict[str, Strategy] = {
    PODS.plural: PodStrategy(),
    NAMESPACES.plural: NamespaceStrategy(),
    EVENTS.plural: EventStrategy(),
    LEASES.plural: LeaseStrategy(),
    CONFIGMAPS.plural: ConfigMapStrategy(),
    SECRETS.plural: SecretStrategy(),
    SERVICEACCOUNTS.plural: ServiceAccountStrategy(),
    NODES.plural: NodeStrategy(),
}


def strategy_for(rtype: ResourceType) -> Strategy:
    return strategy_for_resource(rtype.plural)


def strategy_for_resource(plural: str) -> Strategy:
    """The kind's strategy; a resource this cluster does not serve gets the defaults (metadata only)."""
    return _BY_RESOURCE.get(plural, _DEFAULT)
