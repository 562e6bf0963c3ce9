"""The coordination.k8s.io/v1 Lease strategy: lease validation, and no unconditional updates.

Leases are the one kind here whose PUT must carry metadata.resourceVersion (leader election depends
on compare-and-swap); field selectors get the default metadata-only conversion.
"""

from __future__ import annotations

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.registry.strategies.base import JSONDict, Strategy
from podherd.localcluster.validation.objects import validate_lease


class LeaseStrategy(Strategy):
    allow_unconditional_update = False

    def validate(self, obj: JSONDict) -> list[Cause]:
        return validate_lease(obj)
