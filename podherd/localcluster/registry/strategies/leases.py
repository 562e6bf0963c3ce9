"""The coordination.k8s.io/v1 Lease strategy: lease validation, MicroTime canonical form, no unconditional updates.

Leases are the one kind here whose PUT must carry metadata.resourceVersion (leader election depends
on compare-and-swap); field selectors get the default metadata-only conversion. `acquireTime` and
`renewTime` are MicroTime: stored and returned in UTC with exactly six fractional digits, whatever
RFC 3339 form the client sent (see `validation.times`).
"""

from __future__ import annotations

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.registry.strategies.base import JSONDict, Strategy
from podherd.localcluster.validation.objects import validate_lease
from podherd.localcluster.validation.times import micro_time, normalized

LEASE_TIMES = {"acquireTime": micro_time, "renewTime": micro_time}


class LeaseStrategy(Strategy):
    allow_unconditional_update = False

    def validate(self, obj: JSONDict) -> list[Cause]:
        return validate_lease(obj)

    def canonicalize(self, obj: JSONDict) -> JSONDict:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return obj
        return {**obj, "spec": normalized(spec, LEASE_TIMES)}
