"""Kubernetes field selectors, ported from apimachinery ``pkg/fields/selector.go``.

Why a port: the local API server must parse and canonicalise ``fieldSelector`` exactly
as kube-apiserver does, down to its escaping rules (a backslash escapes only a backslash,
a comma or an equals sign) and its quirks (``=`` alone is an empty selector). Which
fields each resource exposes is `podherd.localcluster.registry.fields`' business, not this one's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from podherd.localcluster.selectors.errors import SelectorError

_VALID_ESCAPED = re.compile(r"(?:[^\\,=]|\\[\\,=])*")  # parse-time only, never per match
_ESCAPED_CHAR = re.compile(r"\\(.)", re.DOTALL)


def _unescape(value: str) -> str:
    """fields.UnescapeValue: only \\\\ \\, \\= are escapes; a bare , or = is an error."""
    end = m.end() if (m := _VALID_ESCAPED.match(value)) else 0
    if end < len(value):
        if value[end] == "\\":
            raise SelectorError(f"invalid field selector: invalid escape sequence: {value[end : end + 2]}")
        # Go prints the rune with %v, i.e. as its code point
        raise SelectorError(f"invalid field selector: unescaped character in value: {ord(value[end])}")
    return _ESCAPED_CHAR.sub(r"\1", value)


def _split_terms(text: str) -> list[str]:
    """fields.splitTerms: split on commas that are not backslash-escaped."""
    terms: list[str] = []
    start, in_slash = 0, False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    return [*terms, text[start:]] if text else []


def _split_term(term: str) -> tuple[str, str, str] | None:
    """fields.splitTerm: split at the first `!=`, `==` or `=` (checked in that order)."""
    for i, c in enumerate(term):
        if c == "=" or (c == "!" and term.startswith("=", i + 1)):
            op = term[i : i + 2] if term[i : i + 2] in ("!=", "==") else "="
            return term[:i], op, term[i + len(op) :]
    return None


@dataclass(frozen=True)
class FieldTerm:
    """`field op value`; the value is stored unescaped."""

    field: str
    operator: str  # "=", "==" or "!="
    value: str

    def __str__(self) -> str:  # hasTerm.String() prints "=" for both "=" and "=="
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")  # fields.EscapeValue
        return f"{self.field}{'!=' if self.operator == '!=' else '='}{escaped}"


@dataclass(frozen=True)
class FieldSelector:
    """An AND of field terms; a missing field compares as ""."""

    terms: tuple[FieldTerm, ...] = ()
    _checks: tuple[tuple[str, str, bool], ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", tuple(self.terms))
        object.__setattr__(self, "_checks", tuple((t.field, t.value, t.operator == "!=") for t in self.terms))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FieldSelector, (self.terms,))

    def matches(self, fields: Mapping[str, str]) -> bool:
        for name, value, negated in self._checks:  # noqa: SIM110 - hot path, see LabelSelector.matches
            if (fields.get(name, "") == value) == negated:
                return False
        return True

    def empty(self) -> bool:
        return not self.terms

    def requires_exact_match(self, name: str) -> str | None:
        """RequiresExactMatch: the value an `=` term demands for `name`, or None (for indexes)."""
        return next((t.value for t in self.terms if t.field == name and t.operator != "!="), None)

    def __str__(self) -> str:
        return ",".join(map(str, self.terms))


@lru_cache(maxsize=512)
def parse_field_selector(text: str) -> FieldSelector:
    """fields.ParseSelector for the `fieldSelector` query parameter; raises SelectorError."""
    terms: list[FieldTerm] = []
    for part in sorted(_split_terms(text)):  # Go sorts the raw terms
        if not part:
            continue
        if (split := _split_term(part)) is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, value = split[0], split[1], _unescape(split[2])
        if lhs or value:  # Transform() drops a term whose field and value are both empty
            terms.append(FieldTerm(lhs, op, value))
    return FieldSelector(tuple(terms))
