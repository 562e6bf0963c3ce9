"""The ConfigMap strategy: key and size validation, `immutable`, binaryData decoded as base64.

Ported from ``pkg/registry/core/configmap/strategy.go``: no status, no generation, immediate delete,
field selectors on metadata only.
"""

from __future__ import annotations

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.registry.strategies.base import JSONDict, Strategy
from podherd.localcluster.registry.strategies.configdata import decode_bag
from podherd.localcluster.validation.configdata import validate_config_map, validate_frozen


class ConfigMapStrategy(Strategy):
    def decode(self, obj: JSONDict) -> JSONDict:
        return decode_bag("ConfigMap", obj, "binaryData")

    def validate(self, obj: JSONDict) -> list[Cause]:
        return validate_config_map(obj)

    def validate_update(self, old: JSONDict, new: JSONDict) -> list[Cause]:
        return validate_frozen(old, new, ("data", "binaryData"))
