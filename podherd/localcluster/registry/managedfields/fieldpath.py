"""Field paths and sets of them, and their ``fieldsV1`` form: structured-merge-diff's `fieldpath`, ported.

A path element is one step into an object: a field name (``f:spec``), the key of an associative list
item (``k:{"name":"c"}``), the value of a set item (``v:"x"``) or an index (``i:0``). Elements are
tuples, so they hash: ``("f", name)``, ``("k", ((key, json), ...))``, ``("v", json)``, ``("i", n)``,
where `json` is the value's canonical JSON text (its identity; ``1``, ``true`` and ``"1"`` differ).

A `Set` is a trie: `members` are the elements whose path is in the set, `children` the subsets under
an element. Its ``fieldsV1`` JSON writes a member as ``"f:x": {}`` and a member that also has
children with a ``".": {}`` entry, in SMD's element order (fields, keys, values, indices), so the
encoding of a set is the byte-for-byte one Kubernetes stores. `path_string` renders paths as
conflict messages show them: ``.spec.containers[name="c"].image``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import orjson

PathElement = tuple[Any, ...]
Path = tuple[PathElement, ...]


def canonical(value: Any) -> str:
    """The identity of a JSON value inside a path element."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def field(name: str) -> PathElement:
    return ("f", name)


def key(pairs: dict[str, Any]) -> PathElement:
    return ("k", tuple(sorted((k, canonical(v)) for k, v in pairs.items())))


def value(v: Any) -> PathElement:
    return ("v", canonical(v))


def _value_order(text: str) -> tuple[Any, ...]:
    """SMD's total order of values: numbers, strings, booleans, lists, maps, null."""
    v = orjson.loads(text)
    if isinstance(v, bool):
        return (2, v)
    if isinstance(v, int | float):
        return (0, v)
    if isinstance(v, str):
        return (1, v)
    if isinstance(v, list):
        return (3, [_value_order(canonical(x)) for x in v])
    if isinstance(v, dict):
        return (4, sorted((k, _value_order(canonical(x))) for k, x in v.items()))
    return (5,)


@functools.lru_cache(maxsize=65536)
def order(pe: PathElement) -> tuple[Any, ...]:
    kind, payload = pe
    if kind == "f":
        return (0, payload)
    if kind == "k":
        return (1, [(name, _value_order(text)) for name, text in payload])
    if kind == "v":
        return (2, _value_order(payload))
    return (3, payload)


def _go_quote(text: str) -> str:
    return orjson.dumps(text).decode()


def _value_string(text: str) -> str:
    """SMD's value.ToString: strings quoted (%q), everything else as Go prints it."""
    v = orjson.loads(text)
    if isinstance(v, str):
        return _go_quote(v)
    if v is None:
        return "null"
    return text if not isinstance(v, bool) else ("true" if v else "false")


def element_string(pe: PathElement) -> str:
    kind, payload = pe
    if kind == "f":
        return "." + payload
    if kind == "k":
        return "[" + ",".join(f"{name}={_value_string(text)}" for name, text in payload) + "]"
    if kind == "v":
        return f"[={_value_string(payload)}]"
    return f"[{payload}]"


def path_string(path: Path) -> str:
    return "".join(element_string(pe) for pe in path)


def serialize_element(pe: PathElement) -> str:
    kind, payload = pe
    if kind == "f":
        return "f:" + payload
    if kind == "k":
        return "k:{" + ",".join(f"{_go_quote(name)}:{text}" for name, text in payload) + "}"
    if kind == "v":
        return "v:" + payload
    return f"i:{payload}"


def parse_element(text: str) -> PathElement | None:
    """The element a fieldsV1 key names; None for an unknown element type (skipped, as SMD does)."""
    kind, sep, rest = text.partition(":")
    if sep != ":" or len(kind) != 1:
        raise ValueError(f"invalid path element {text!r}")
    if kind == "f":
        return ("f", rest)
    if kind == "v":
        return ("v", canonical(orjson.loads(rest)))
    if kind == "k":
        fields = orjson.loads(rest)
        if not isinstance(fields, dict):
            raise ValueError(f"invalid key path element {text!r}")
        return key(fields)
    if kind == "i":
        return ("i", int(rest))
    return None


class Set:
    """A set of paths, as a trie of members and children.

    Sets are immutable once built (only a walk building a new set inserts into it), so operations
    share unchanged subtrees instead of copying them.
    """

    __slots__ = ("children", "members")

    def __init__(self) -> None:
        self.members: set[PathElement] = set()
        self.children: dict[PathElement, Set] = {}

    @classmethod
    def of(cls, *paths: Path) -> Set:
        s = cls()
        for p in paths:
            s.insert(p)
        return s

    def insert(self, path: Path) -> None:
        if not path:
            return
        node = self
        for pe in path[:-1]:
            node = node.children.setdefault(pe, Set())
        node.members.add(path[-1])

    def has(self, path: Path) -> bool:
        node: Set | None = self
        for pe in path[:-1]:
            node = node.children.get(pe) if node is not None else None
        return node is not None and bool(path) and path[-1] in node.members

    def empty(self) -> bool:
        return not self.members and all(c.empty() for c in self.children.values())

    def with_prefix(self, pe: PathElement) -> Set:
        return self.children.get(pe) or Set()

    def copy(self) -> Set:
        out = Set()
        out.members = set(self.members)
        out.children = {pe: c.copy() for pe, c in self.children.items()}
        return out

    def union(self, other: Set) -> Set:
        if other.empty():
            return self
        if self.empty():
            return other
        out = Set()
        out.members = self.members | other.members
        for pe in self.children.keys() | other.children.keys():
            a, b = self.children.get(pe), other.children.get(pe)
            out.children[pe] = a.union(b) if a is not None and b is not None else (a or b or Set())
        return out

    def intersection(self, other: Set) -> Set:
        out = Set()
        out.members = self.members & other.members
        for pe in self.children.keys() & other.children.keys():
            sub = self.children[pe].intersection(other.children[pe])
            if not sub.empty():
                out.children[pe] = sub
        return out

    def difference(self, other: Set) -> Set:
        """Paths of self not in other (members compared element by element, as SMD's Difference)."""
        if other.empty():
            return self
        out = Set()
        out.members = self.members - other.members
        for pe, child in self.children.items():
            sub = child.difference(other.children[pe]) if pe in other.children else child
            if not sub.empty():
                out.children[pe] = sub
        return out

    def without_prefixes(self, prefixes: Set) -> Set:
        """Self minus every path at or under a member of `prefixes` (SMD's RecursiveDifference)."""
        touched = prefixes.members | prefixes.children.keys()
        if not (self.members & touched or self.children.keys() & touched):
            return self
        out = Set()
        out.members = self.members - prefixes.members
        for pe, child in self.children.items():
            if pe in prefixes.members:
                continue
            sub = child.without_prefixes(prefixes.children[pe]) if pe in prefixes.children else child
            if not sub.empty():
                out.children[pe] = sub
        return out

    def paths(self, prefix: Path = ()) -> Iterator[Path]:
        """Every member path: this level's members (in element order), then each child's."""
        for pe in sorted(self.members, key=order):
            yield (*prefix, pe)
        for pe in sorted(self.children, key=order):
            yield from self.children[pe].paths((*prefix, pe))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Set) and set(self.paths()) == set(other.paths())

    def __repr__(self) -> str:
        return f"Set({[path_string(p) for p in self.paths()]})"

    # ---- fieldsV1 ----------------------------------------------------------------------------------

    def to_fields_v1(self, include_self: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if include_self and (self.members or self.children):
            out["."] = {}
        for pe in sorted(self.members | self.children.keys(), key=order):
            child = self.children.get(pe)
            if child is not None and not child.empty():
                out[serialize_element(pe)] = child.to_fields_v1(include_self=pe in self.members)
            elif pe in self.members:
                out[serialize_element(pe)] = {}
        return out

    @classmethod
    def from_fields_v1(cls, fields: Any) -> Set:
        out, _member = _read(fields)
        return out or Set()


def _read(fields: Any) -> tuple[Set | None, bool]:
    """SMD's readIterV1: (the children, whether the node itself is a member). An empty object is a member."""
    if not isinstance(fields, dict):
        raise ValueError("fieldsV1 must be a JSON object")
    children: Set | None = None
    is_member = False
    for name, sub in fields.items():
        if name == ".":
            is_member = True
            continue
        pe = parse_element(name)
        if pe is None:
            continue
        grandchildren, child_member = _read(sub)
        if child_member or grandchildren is not None:
            children = children or Set()
        if child_member:
            assert children is not None
            children.members.add(pe)
        if grandchildren is not None:
            assert children is not None
            children.children[pe] = grandchildren
    if children is None:
        is_member = True
    return children, is_member
