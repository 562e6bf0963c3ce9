"""Field selectors on the registry side: the field-label conversion and the fields an object exposes (API.md §2).

Two halves, as in the real server: `check_field_selector` is the field-label conversion a LIST/WATCH
runs before touching storage (unknown field → 400, aliases such as `spec.host` → `spec.nodeName`),
and `selectable_fields` is the kind's `ToSelectableFields`, the map a selector is matched against.
Which fields a kind has is its strategy's business (`strategies/`); this module applies them.
"""

from __future__ import annotations

from typing import Any

from podherd.localcluster.apimachinery.errors import ApiError, bad_request
from podherd.localcluster.registry.strategies.base import META_FIELDS
from podherd.localcluster.registry.strategies.catalog import strategy_for_resource
from podherd.localcluster.selectors.errors import go_quote
from podherd.localcluster.selectors.field import FieldSelector, FieldTerm

__all__ = ["check_field_selector", "selectable_fields"]


def check_field_selector(resource: str, selector: FieldSelector) -> FieldSelector:
    """Run the kind's field-label conversion over every term; raise 400 like the apiserver.

    Kinds without a registered conversion (leases, configmaps, ...) fall back to
    runtime.DefaultMetaV1FieldSelectorConversion, which has a different message.
    """
    strategy = strategy_for_resource(resource)
    allowed = strategy.field_labels
    terms: list[FieldTerm] = []
    for term in selector.terms:
        name = strategy.field_aliases.get(term.field, term.field)
        if allowed is None:
            if name not in META_FIELDS:
                raise _unknown_default(term.field)
        elif name not in allowed:
            raise bad_request(f"field label not supported: {term.field}")
        terms.append(term if name == term.field else FieldTerm(name, term.operator, term.value))
    return FieldSelector(tuple(terms))


def _unknown_default(name: str) -> ApiError:
    only = f"{go_quote('metadata.name')}, {go_quote('metadata.namespace')}"
    return bad_request(f"{go_quote(name)} is not a known field selector: only {only}")


def selectable_fields(resource: str, obj: dict[str, Any]) -> dict[str, str]:
    """The registry's ToSelectableFields for `resource` (plural), from the v1 JSON object."""
    return strategy_for_resource(resource).selectable_fields(obj)
