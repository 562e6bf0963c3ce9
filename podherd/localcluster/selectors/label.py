"""Kubernetes label selectors, ported from apimachinery ``pkg/labels/selector.go``.

Why a port rather than a regex: the local API server has to accept, reject and
canonicalise exactly what a real kube-apiserver does, including the odd corners:
``x in ()`` means {""}, ``in``/``notin`` are keywords only in operator position, and
a NUL byte ends the input. Parsing happens once per request (and is cached);
matching is precompiled into closures because one LIST may test a selector against
50,000 objects. Key and value syntax comes from `podherd.localcluster.validation.names`, the
same checks object validation uses.

Known divergence: Go sorts requirements with the unstable ``sort.Sort``; we sort
stably. The two only differ in ``String()`` for 13+ requirements that repeat a key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from podherd.localcluster.selectors.errors import SelectorError, go_quote
from podherd.localcluster.validation.names import label_value_errors, qualified_name_errors


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
    if key_errs := qualified_name_errors(key):
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
        if value_errs := label_value_errors(v):
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
        if key_errs := qualified_name_errors(key):
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
