"""Kubernetes label and field selectors, ported from apimachinery.

Why a port rather than a regex: the local API server has to accept, reject and
canonicalise exactly what a real kube-apiserver does (`pkg/labels/selector.go`,
`pkg/fields/selector.go`), including the odd corners: ``x in ()`` means {""},
``in``/``notin`` are keywords only in operator position, a NUL byte ends the
label-selector input, ``=`` alone is an empty field selector. Parsing happens
once per request (and is cached); matching is precompiled into closures because
one LIST may test a selector against 50,000 objects.

Known divergence: Go sorts requirements with the unstable ``sort.Sort``; we sort
stably. The two only differ in ``String()`` for 13+ requirements that repeat a key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


class SelectorError(ValueError):
    """A selector apimachinery would reject; ``str()`` is the detail message."""


# --------------------------------------------------------------------------- validation
# k8s.io/apimachinery/pkg/util/validation, hand-written (linear, no regex backtracking).

_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_NAME_CHARS = _ALNUM | frozenset("-_.")
_DNS_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_DNS_CHARS = _DNS_ALNUM | {"-"}
_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)
_VALUE_MSG = "a valid label must be an empty string or " + _NAME_MSG.removeprefix("must ")
_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_FMT = f"{_DNS_LABEL_FMT}(\\.{_DNS_LABEL_FMT})*"
_DNS_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """validation.RegexError, including its odd ``'a',  or 'b', `` punctuation."""
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"


def _blen(s: str) -> int:
    """Length in bytes, as Go's len() counts it."""
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def _is_name(s: str) -> bool:
    return bool(s) and s[0] in _ALNUM and s[-1] in _ALNUM and all(c in _NAME_CHARS for c in s)


def _is_dns_label(p: str) -> bool:
    return bool(p) and p[0] in _DNS_ALNUM and p[-1] in _DNS_ALNUM and all(c in _DNS_CHARS for c in p)


def _qualified_name_errors(value: str) -> list[str]:
    """validation.IsQualifiedName: optional DNS-subdomain prefix plus a 63-char name."""
    name_err = _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc")
    parts = value.split("/")
    if len(parts) > 2:
        return [
            f"a qualified name {name_err} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    errs: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if _blen(prefix) > 253:
                errs.append("prefix part must be no more than 253 characters")
            if not all(_is_dns_label(p) for p in prefix.split(".")):
                errs.append("prefix part " + _regex_error(_DNS_MSG, _DNS_FMT, "example.com"))
    if not name:
        errs.append("name part must be non-empty")
    elif _blen(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _is_name(name):
        errs.append("name part " + name_err)
    return errs


def _label_value_errors(value: str) -> list[str]:
    """validation.IsValidLabelValue: empty, or a name of at most 63 characters."""
    errs = ["must be no more than 63 characters"] if _blen(value) > 63 else []
    if value and not _is_name(value):
        errs.append(_regex_error(_VALUE_MSG, f"({_NAME_FMT})?", "MyValue", "my_value", "12345"))
    return errs


def go_quote(s: str) -> str:
    """Go's %q closely enough for error texts (identical for printable ASCII)."""
    return json.dumps(s, ensure_ascii=False)


def _invalid(path: str, value: str | list[str], detail: str) -> str:
    """field.Invalid(path, value, detail).Error()."""
    shown = "[]string{" + ", ".join(map(go_quote, value)) + "}" if isinstance(value, list) else go_quote(value)
    return f"{path}: Invalid value: {shown}: {detail}"


def _parse_int64(s: str) -> int | None:
    """strconv.ParseInt(s, 10, 64): optional sign, ASCII digits, int64 range; else None."""
    body = s[1:] if s[:1] in ("+", "-") else s
    if not (body.isascii() and body.isdigit()) or len(body.lstrip("0")) > 19:
        return None
    n = int(body.lstrip("0") or "0") * (-1 if s[0] == "-" else 1)
    return n if -(2**63) <= n < 2**63 else None


# --------------------------------------------------------------------------- label selectors

_OPERATORS = ("in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!")  # validRequirementOperators order
_SYMBOLS = {"=": "=", "==": "==", "!=": "!=", "in": " in ", "notin": " notin ", "gt": ">", "lt": "<"}
_MISSING: Any = object()
_EMPTY: Mapping[str, str] = {}
_Matcher = Callable[[Mapping[str, str]], bool]


def _compile(key: str, op: str, values: tuple[str, ...]) -> _Matcher:
    """A closure equivalent to Requirement.Matches, so matching costs one call and a dict lookup."""
    missing = _MISSING
    if op in ("exists", "!"):
        return (lambda ls: key in ls) if op == "exists" else (lambda ls: key not in ls)
    if op in ("=", "==", "in"):  # present and value in set
        if len(values) == 1:
            v = values[0]
            return lambda ls: ls.get(key, missing) == v
        vs = frozenset(values)
        return lambda ls: ls.get(key, missing) in vs
    if op in ("!=", "notin"):  # absent, or value not in set
        vs = frozenset(values)
        return lambda ls: ls.get(key, missing) not in vs
    bound = _parse_int64(values[0]) if op in ("gt", "lt") and len(values) == 1 else None
    if bound is None:
        return lambda ls: False
    sign = 1 if op == "gt" else -1

    def compare(ls: Mapping[str, str]) -> bool:
        raw = ls.get(key, missing)
        n = None if raw is missing else _parse_int64(raw)
        return n is not None and (n - bound) * sign > 0

    return compare


@dataclass(frozen=True)
class Requirement:
    """One ANDed term of a label selector. Build through `requirement()` to get validation."""

    key: str
    operator: str
    values: tuple[str, ...] = ()
    _match: _Matcher = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        values = tuple(sorted(set(self.values)))
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "_match", _compile(self.key, self.operator, values))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Requirement, (self.key, self.operator, self.values))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self._match(labels)

    def __str__(self) -> str:
        if self.operator in ("exists", "!"):
            return ("!" if self.operator == "!" else "") + self.key
        inner = ",".join(self.values)
        if self.operator in ("in", "notin"):
            inner = f"({inner})"
        return self.key + _SYMBOLS.get(self.operator, "") + inner


@dataclass(frozen=True)
class LabelSelector:
    """An AND of requirements, kept sorted by key like apimachinery's parser does."""

    requirements: tuple[Requirement, ...] = ()
    _matchers: tuple[_Matcher, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        reqs = tuple(sorted(self.requirements, key=lambda r: r.key))
        object.__setattr__(self, "requirements", reqs)
        object.__setattr__(self, "_matchers", tuple(r._match for r in reqs))

    def __reduce__(self) -> tuple[Any, ...]:
        return (LabelSelector, (self.requirements,))

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if labels is None:
            labels = _EMPTY
        for match in self._matchers:  # noqa: SIM110 - a plain loop beats all(<genexpr>) on the hot path
            if not match(labels):
                return False
        return True

    def empty(self) -> bool:
        return not self.requirements

    def requires_exact_match(self, key: str) -> str | None:
        """RequiresExactMatch: the single value `key` must have, or None (useful for indexes)."""
        for r in self.requirements:
            if r.key == key:
                return r.values[0] if r.operator in ("=", "==", "in") and len(r.values) == 1 else None
        return None

    def __str__(self) -> str:
        return ",".join(map(str, self.requirements))


def _check_requirement(key: str, op: str, vals: list[str]) -> None:
    """labels.NewRequirement's validation, raising the aggregated field errors."""
    errs: list[str] = []
    if key_errs := _qualified_name_errors(key):
        errs.append(_invalid("key", key, "; ".join(key_errs)))
    if op in ("in", "notin") and not vals:
        errs.append(_invalid("values", vals, "for 'in', 'notin' operators, values set can't be empty"))
    elif op in ("=", "==", "!=") and len(vals) != 1:
        errs.append(_invalid("values", vals, "exact-match compatibility requires one single value"))
    elif op in ("exists", "!") and vals:
        errs.append(_invalid("values", vals, "values set must be empty for exists and does not exist"))
    elif op in ("gt", "lt"):
        if len(vals) != 1:
            errs.append(_invalid("values", vals, "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(vals):
            if _parse_int64(v) is None:
                errs.append(_invalid(f"values[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer"))
    elif op not in _OPERATORS:
        supported = ", ".join(map(go_quote, _OPERATORS))
        errs.append(f"operator: Unsupported value: {go_quote(op)}: supported values: {supported}")
    for i, v in enumerate(vals):
        if value_errs := _label_value_errors(v):
            errs.append(_invalid(f"values[{i}][{key}]", v, "; ".join(value_errs)))
    if errs:  # utilerrors.Aggregate: one message as is, several deduplicated in brackets
        unique = list(dict.fromkeys(errs))
        raise SelectorError(unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]")


def requirement(key: str, operator: str, values: Iterable[str] = ()) -> Requirement:
    """Validated constructor (labels.NewRequirement); raises SelectorError."""
    if isinstance(values, str):
        raise TypeError("values must be an iterable of strings, not a single str")
    vals = list(values)
    _check_requirement(key, operator, vals)
    return Requirement(key, operator, tuple(vals))


# Token kinds: an operator or keyword token is its own literal; identifiers and the end differ.
_IDENT, _EOS = "<identifier>", "<end>"
_SPECIAL = frozenset("=!(),><")
_SPACE = frozenset(" \t\r\n")
_STOP = _SPECIAL | _SPACE | {"\0"}
_BINARY = {"in": "in", "notin": "notin", "=": "=", "==": "==", "!=": "!=", ">": "gt", "<": "lt"}
_BINARY_NAMES = ", ".join(_BINARY.values())


def _scan(s: str) -> list[tuple[str, str]]:
    """Lexer.Lex until the end. Go's read() returns NUL at the end of input, so a real NUL
    byte ends the input at a token boundary and is silently swallowed right after a token."""
    n, pos = len(s), 0
    items: list[tuple[str, str]] = []
    while True:
        while pos < n and s[pos] in _SPACE:
            pos += 1
        if pos >= n or s[pos] == "\0":
            items.append((_EOS, ""))
            return items
        start = pos
        if s[pos] in _SPECIAL:  # longest match among ! != = == ( ) , > <
            pos += 2 if s[pos : pos + 2] in ("==", "!=") else 1
            lit = tok = s[start:pos]
        else:
            while pos < n and s[pos] not in _STOP:
                pos += 1
            lit = s[start:pos]
            tok = lit if lit in ("in", "notin") else _IDENT
        if pos < n and s[pos] == "\0":
            pos += 1
        items.append((tok, lit))


class _Parser:
    """labels.Parser: recursive descent over the scanned tokens. `in`/`notin` are identifiers
    except where an operator is expected (the Values vs KeyAndOperator contexts)."""

    def __init__(self, text: str) -> None:
        self.items = _scan(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        tok, lit = self.items[self.pos]
        return (_IDENT if tok in ("in", "notin") else tok), lit

    def take(self) -> tuple[str, str]:
        self.pos += 1
        tok, lit = self.items[self.pos - 1]
        return (_IDENT if tok in ("in", "notin") else tok), lit

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.peek()
            if tok == _EOS:
                return reqs
            if tok not in (_IDENT, "!"):
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.parse_requirement())
            except SelectorError as e:
                raise SelectorError(f"unable to parse requirement: {e}") from None
            tok, lit = self.take()
            if tok == _EOS:
                return reqs
            if tok != ",":
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            if (after := self.peek())[0] not in (_IDENT, "!"):
                raise SelectorError(f"found '{after[1]}', expected: identifier after ','")

    def parse_requirement(self) -> Requirement:
        tok, key = self.take()
        negated = tok == "!"
        if negated:
            tok, key = self.take()
        if tok != _IDENT:
            raise SelectorError(f"found '{key}', expected: identifier")
        if key_errs := _qualified_name_errors(key):
            raise SelectorError(_invalid("<nil>", key, "; ".join(key_errs)))
        if negated or self.peek()[0] in (_EOS, ","):
            return requirement(key, "!" if negated else "exists")
        tok, lit = self.items[self.pos]  # KeyAndOperator context: in/notin stay keywords
        self.pos += 1
        if tok not in _BINARY:
            raise SelectorError(f"found '{lit}', expected: {_BINARY_NAMES}")
        op = _BINARY[tok]
        return requirement(key, op, sorted(self.value_set() if op in ("in", "notin") else self.exact_value()))

    def value_set(self) -> set[str]:
        tok, lit = self.take()
        if tok != "(":
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok == ")":  # "()"
            self.take()
            return {""}
        if tok not in (_IDENT, ","):
            raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")
        values: set[str] = set()
        while True:  # parseIdentifiersList
            tok, item = self.take()
            if tok == _IDENT:
                values.add(item)
                nxt, nxt_lit = self.peek()
                if nxt == ")":
                    break
                if nxt != ",":
                    raise SelectorError(f"found '{nxt_lit}', expected: ',' or ')'")
            elif tok == ",":
                # "(," ",)" and ",," each contribute "". Old apimachinery consumed the second comma
                # of ",," here, which rejected "(a,,)"; current versions (and the vectors) do not.
                if not values or self.peek()[0] in (")", ","):
                    values.add("")
                if self.peek()[0] == ")":
                    break
            else:
                raise SelectorError(f"found '{item}', expected: ',', or identifier")
        if self.take()[0] != ")":
            raise SelectorError(f"found '{lit}', expected: ')'")
        return values

    def exact_value(self) -> set[str]:
        if self.peek()[0] in (_EOS, ","):
            return {""}
        tok, lit = self.take()
        if tok != _IDENT:
            raise SelectorError(f"found '{lit}', expected: identifier")
        return {lit}


@lru_cache(maxsize=512)
def parse_label_selector(text: str) -> LabelSelector:
    """labels.Parse for the `labelSelector` query parameter; raises SelectorError (errors are not cached)."""
    return LabelSelector(tuple(_Parser(text).parse()))


# --------------------------------------------------------------------------- field selectors


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
