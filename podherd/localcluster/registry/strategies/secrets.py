"""The Secret strategy: stringData folded into data, type defaulted and immutable, key/size/type validation.

Ported from ``pkg/registry/core/secret/strategy.go`` and the v1 conversion (see `configdata`). A
Secret's `type` never changes after create; `immutable: true` freezes its data. Field selectors:
``type`` besides the metadata fields (``AddFieldLabelConversionFunc`` for Secret).
"""

from __future__ import annotations

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.registry.strategies.base import META_FIELDS, JSONDict, Strategy, go_string, json_object
from podherd.localcluster.registry.strategies.configdata import decode_bag, fold_string_data
from podherd.localcluster.validation.configdata import validate_frozen, validate_secret
from podherd.localcluster.validation.fieldcheck import invalid_value


class SecretStrategy(Strategy):
    field_labels = META_FIELDS | {"type"}

    def decode(self, obj: JSONDict) -> JSONDict:
        return fold_string_data(decode_bag("Secret", obj, "data"))

    def validate(self, obj: JSONDict) -> list[Cause]:
        return validate_secret(obj)

    def validate_update(self, old: JSONDict, new: JSONDict) -> list[Cause]:
        errs = []
        if (new.get("type") or "Opaque") != (old.get("type") or "Opaque"):
            errs.append(invalid_value("type", new.get("type"), "field is immutable"))
        return errs + validate_frozen(old, new, ("data",))

    def selectable_fields(self, obj: JSONDict) -> dict[str, str]:
        meta = json_object(obj, "metadata")
        return {
            "type": go_string(obj.get("type")),
            "metadata.name": go_string(meta.get("name")),
            "metadata.namespace": go_string(meta.get("namespace")),
        }
