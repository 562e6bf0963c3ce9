"""Kubernetes label and field selectors, ported from apimachinery: the import point.

Why a port rather than a regex: the local API server has to accept, reject and
canonicalise exactly what a real kube-apiserver does (`pkg/labels/selector.go`,
`pkg/fields/selector.go`). Label selectors live in `podherd.labelselector`, field
selectors in `podherd.fieldselector`, and the shared error type and quoting in
`podherd.selectorerrors`; import them from here.
"""

from __future__ import annotations

from podherd.fieldselector import FieldSelector, FieldTerm, parse_field_selector
from podherd.labelselector import LabelSelector, Requirement, parse_label_selector, requirement
from podherd.selectorerrors import SelectorError, go_quote

__all__ = [
    "FieldSelector",
    "FieldTerm",
    "LabelSelector",
    "Requirement",
    "SelectorError",
    "go_quote",
    "parse_field_selector",
    "parse_label_selector",
    "requirement",
]
