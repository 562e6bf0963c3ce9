"""Label and field selectors against apimachinery's own test vectors, plus properties.

The vectors live outside the repo (`<repo>/../shared/k8s`); a missing file is a
collection error, never a skip.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podherd.localcluster.selectors.errors import SelectorError
from podherd.localcluster.selectors.field import FieldSelector, FieldTerm, parse_field_selector
from podherd.localcluster.selectors.label import LabelSelector, Requirement, parse_label_selector, requirement


def spec_dir() -> Path:
    """Find `shared/k8s` next to the repo root (or next to any ancestor, for worktrees)."""
    repo = Path(__file__).resolve().parents[2]
    for base in (repo.parent, *repo.parent.parents):
        candidate = base / "shared" / "k8s"
        if (candidate / "label_selector_vectors.json").is_file():
            return candidate
    raise FileNotFoundError(f"no shared/k8s vectors beside {repo} or its ancestors")


def _load(name: str) -> dict[str, Any]:
    return json.loads((spec_dir() / name).read_text())


LABEL_DOC = _load("label_selector_vectors.json")
FIELD_DOC = _load("field_selector_vectors.json")
# The vectors name Gt/Lt by their symbols; selection.Operator spells them "gt"/"lt".
VECTOR_OPS = {">": "gt", "<": "lt"}


def _kind(v: dict[str, Any]) -> str:
    if "matches" in v:
        return "match"
    return "error" if v.get("error") is True else "ok" if v.get("error") is False else "unknown"


def _cases(doc: dict[str, Any], kind: str) -> list[Any]:
    return [pytest.param(v, id=f"{i}:{v['selector'][:40]!r}") for i, v in enumerate(doc["vectors"]) if _kind(v) == kind]


# --------------------------------------------------------------------------- label vectors


def test_every_label_vector_has_a_known_kind() -> None:
    kinds = [_kind(v) for v in LABEL_DOC["vectors"]]
    assert "unknown" not in kinds
    assert {"match", "error", "ok"} <= set(kinds)
    for v in LABEL_DOC["vectors"]:
        for r in v.get("requirements", []):
            assert r["operator"] in LABEL_DOC["_about"]["operators"]


@pytest.mark.parametrize("vector", _cases(LABEL_DOC, "error"))
def test_label_vector_rejected(vector: dict[str, Any]) -> None:
    with pytest.raises(SelectorError):
        parse_label_selector(vector["selector"])


@pytest.mark.parametrize("vector", _cases(LABEL_DOC, "ok"))
def test_label_vector_parses(vector: dict[str, Any]) -> None:
    sel = parse_label_selector(vector["selector"])
    if "canonical" in vector:
        assert str(sel) == vector["canonical"]
    if "requirements" in vector:
        expected = [
            (r["key"], VECTOR_OPS.get(r["operator"], r["operator"]), tuple(r["values"])) for r in vector["requirements"]
        ]
        assert [(r.key, r.operator, r.values) for r in sel.requirements] == expected
    assert str(parse_label_selector(str(sel))) == str(sel)


@pytest.mark.parametrize("vector", _cases(LABEL_DOC, "match"))
def test_label_vector_matches(vector: dict[str, Any]) -> None:
    sel = parse_label_selector(vector["selector"])
    assert sel.matches(vector["labels"]) is vector["matches"]


# --------------------------------------------------------------------------- field vectors


def test_every_field_vector_has_a_known_kind() -> None:
    kinds = [_kind(v) for v in FIELD_DOC["vectors"]]
    assert "unknown" not in kinds
    assert {"match", "error", "ok"} <= set(kinds)


@pytest.mark.parametrize("vector", _cases(FIELD_DOC, "error"))
def test_field_vector_rejected(vector: dict[str, Any]) -> None:
    with pytest.raises(SelectorError):
        parse_field_selector(vector["selector"])


@pytest.mark.parametrize("vector", _cases(FIELD_DOC, "ok"))
def test_field_vector_parses(vector: dict[str, Any]) -> None:
    sel = parse_field_selector(vector["selector"])
    assert str(parse_field_selector(str(sel))) == str(sel)


@pytest.mark.parametrize("vector", _cases(FIELD_DOC, "match"))
def test_field_vector_matches(vector: dict[str, Any]) -> None:
    sel = parse_field_selector(vector["selector"])
    assert sel.matches(vector["fields"]) is vector["matches"]


# --------------------------------------------------------------------------- label: hand-written


@pytest.mark.parametrize(
    "key",
    ["a", "Z", "1", "a.b-c_D", "x" * 63, "example.com/x", "a" * 253 + "/x", "0.1.2.domain/99", "k8s.io/Some_Name"],
)
def test_valid_keys(key: str) -> None:
    assert parse_label_selector(key).requirements == (Requirement(key, "exists"),)
    assert requirement(key, "!") == Requirement(key, "!")


@pytest.mark.parametrize(
    "key",
    [
        "x" * 64,  # name part > 63
        "a" * 254 + "/x",  # prefix > 253
        "-a",
        "a-",
        "a/b/c",  # two slashes
        "/a",  # empty prefix
        "a/",  # empty name
        "Example.com/a",  # prefix must be lowercase
        "exa_mple.com/a",
        "a..b/c",
        "ünïcode",
        "a~b",
    ],
)
def test_invalid_keys(key: str) -> None:
    with pytest.raises(SelectorError, match="unable to parse requirement"):
        parse_label_selector(key)
    with pytest.raises(SelectorError):
        requirement(key, "exists")


@pytest.mark.parametrize("value", ["", "v" * 63, "a.b_c-D", "1", "in", "notin"])
def test_valid_values(value: str) -> None:
    assert parse_label_selector(f"x={value}").requirements == (Requirement("x", "=", (value,)),)


@pytest.mark.parametrize("value", ["v" * 64, "-a", "a_", "a||y", "a/b", "é"])
def test_invalid_values(value: str) -> None:
    with pytest.raises(SelectorError, match="unable to parse requirement"):
        parse_label_selector(f"x={value}")
    with pytest.raises(SelectorError):
        parse_label_selector(f"x in (a,{value})")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("x>0", True),
        ("x>9223372036854775807", True),
        ("x<01", True),
        ("x>9223372036854775808", False),  # overflows int64
        ("x>-1", False),  # parses as int64, but "-1" is not a valid label value
        ("x>+1", False),
        ("x>1.5", False),
        ("x>", False),  # "" is not an integer
    ],
)
def test_gt_lt_values(text: str, ok: bool) -> None:
    if ok:
        parse_label_selector(text)
    else:
        with pytest.raises(SelectorError):
            parse_label_selector(text)


@pytest.mark.parametrize(
    ("labels", "gt1", "lt1"),
    [
        ({"x": "2"}, True, False),
        ({"x": "0002"}, True, False),
        ({"x": "+5"}, True, False),  # strconv.ParseInt accepts a sign
        ({"x": "-5"}, False, True),
        ({"x": "1"}, False, False),
        ({"x": "v2"}, False, False),  # not an int: false for both
        ({"x": " 5"}, False, False),
        ({"x": "5_0"}, False, False),
        ({"x": "\u0665"}, False, False),  # a non-ASCII digit is not an int to Go
        ({"x": "99999999999999999999"}, False, False),  # out of int64 range
        ({"x": ""}, False, False),
        ({}, False, False),
    ],
)
def test_gt_lt_matching(labels: dict[str, str], gt1: bool, lt1: bool) -> None:
    assert parse_label_selector("x>1").matches(labels) is gt1
    assert parse_label_selector("x<1").matches(labels) is lt1


def test_in_and_notin_are_keywords_only_in_operator_position() -> None:
    assert parse_label_selector("in in (notin)").requirements == (Requirement("in", "in", ("notin",)),)
    assert parse_label_selector("notin notin (in)").requirements == (Requirement("notin", "notin", ("in",)),)
    assert parse_label_selector("in").requirements == (Requirement("in", "exists"),)
    assert parse_label_selector("!notin").requirements == (Requirement("notin", "!"),)
    assert parse_label_selector("x in(a)").requirements == (Requirement("x", "in", ("a",)),)
    with pytest.raises(SelectorError):
        parse_label_selector("x in")
    with pytest.raises(SelectorError):
        parse_label_selector("x inn (a)")


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("x in ()", ("",)),
        ("x in ( )", ("",)),
        ("x in (a,)", ("", "a")),
        ("x in (,a)", ("", "a")),
        ("x in (a,,)", ("", "a")),
        ("x in (a,,b)", ("", "a", "b")),
        ("x in (,)", ("",)),
        ("x in (b,a,b)", ("a", "b")),
    ],
)
def test_empty_values_in_lists(text: str, values: tuple[str, ...]) -> None:
    (req,) = parse_label_selector(text).requirements
    assert req.values == values


def test_empty_value_semantics() -> None:
    in_empty = parse_label_selector("x in ()")
    assert in_empty.matches({"x": ""}) and not in_empty.matches({}) and not in_empty.matches({"x": "a"})
    notin_empty = parse_label_selector("x notin ()")
    assert notin_empty.matches({}) and notin_empty.matches({"x": "a"}) and not notin_empty.matches({"x": ""})
    assert str(parse_label_selector("x in (a,,)")) == "x in (,a)"
    assert parse_label_selector("x=,y").matches({"x": "", "y": "1"})
    assert parse_label_selector("x!=a").matches({}), "!= matches an absent key"
    assert not parse_label_selector("x").matches({"y": "x"})
    assert parse_label_selector("x").matches({"x": ""})


@pytest.mark.parametrize(
    "text",
    [
        "x,",
        "x,,y",
        ",x",
        "x=a b",
        "x in (a b)",
        "x in a",
        "x in (a",
        "!",
        "!!x",
        "!x=a",
        "x!",
        "x==a==b",
        "x<=1",
        "(x)",
    ],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(SelectorError):
        parse_label_selector(text)


def test_nul_ends_the_input_like_go_read() -> None:
    # Go's Lexer.read() returns 0 at end of input, so a NUL byte at a token boundary ends it.
    assert str(parse_label_selector("x \x00 garbage ((")) == "x"
    assert str(parse_label_selector("x\x00,y")) == "x,y"


def test_requirements_sorted_stably_by_key() -> None:
    sel = parse_label_selector("b,a=1,a")
    assert str(sel) == "a=1,a,b"
    assert [r.key for r in sel.requirements] == ["a", "a", "b"]
    assert str(LabelSelector((Requirement("z", "exists"), Requirement("y", "!")))) == "!y,z"


def test_requirement_builder_validates() -> None:
    assert requirement("x", "in", ["b", "a", "b"]).values == ("a", "b")
    assert str(requirement("x", "notin", [""])) == "x notin ()"
    assert str(requirement("x", "gt", ["5"])) == "x>5"
    assert str(requirement("x", "==", ["a"])) == "x==a"
    for key, op, values in [
        ("x", "in", []),
        ("x", "=", ["a", "b"]),
        ("x", "!=", []),
        ("x", "exists", ["a"]),
        ("x", "gt", ["1", "2"]),
        ("x", "lt", ["abc"]),
        ("x", ">", ["1"]),  # the symbol is not a selection.Operator
        ("x", "~", ["1"]),
    ]:
        with pytest.raises(SelectorError):
            requirement(key, op, values)
    with pytest.raises(TypeError):
        requirement("x", "in", "abc")


def test_selector_api_details() -> None:
    empty = parse_label_selector("")
    assert empty.empty() and str(empty) == "" and empty.matches({"a": "b"}) and empty.matches(None)
    assert parse_label_selector("!x").matches(None)
    assert not parse_label_selector("x").matches(None)
    sel = parse_label_selector("app in (web),tier=db,env in (a,b)")
    assert not sel.empty()
    assert sel.requires_exact_match("app") == "web"
    assert sel.requires_exact_match("tier") == "db"
    assert sel.requires_exact_match("env") is None
    assert sel.requires_exact_match("missing") is None
    assert pickle.loads(pickle.dumps(sel)) == sel
    clone = copy.deepcopy(sel)
    assert clone == sel and clone.matches({"app": "web", "tier": "db", "env": "a"})
    assert Requirement("x", "in", ("b", "a", "a")).values == ("a", "b")


def test_error_message_shapes() -> None:
    with pytest.raises(SelectorError) as info:
        parse_label_selector("x=a||y")
    assert str(info.value).startswith("unable to parse requirement: ")
    with pytest.raises(SelectorError) as info:
        parse_label_selector(",x")
    assert "found ','" in str(info.value)
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- field: hand-written


def test_field_escapes() -> None:
    sel = parse_field_selector(r"a=x\,y\=z\\w")
    assert sel.terms == (FieldTerm("a", "=", "x,y=z\\w"),)
    assert str(sel) == r"a=x\,y\=z\\w"
    assert sel.matches({"a": "x,y=z\\w"})
    for bad in [r"a=\a", "a=b\\", "a=b=c", "a==b=c", "a", "a in (b)", r"a=\,,b"]:
        with pytest.raises(SelectorError):
            parse_field_selector(bad)
    with pytest.raises(SelectorError, match="invalid field selector"):
        parse_field_selector(r"a=\n")


def test_field_parsing_details() -> None:
    assert str(parse_field_selector(",x=a,,y=b,")) == "x=a,y=b"  # empty terms are skipped
    assert parse_field_selector("=").empty()  # field and value both empty: dropped
    assert parse_field_selector("!=").empty()
    assert parse_field_selector("=a").terms == (FieldTerm("", "=", "a"),)
    assert parse_field_selector("x = a").terms == (FieldTerm("x ", "=", " a"),)  # no trimming
    assert parse_field_selector("x==a").terms == (FieldTerm("x", "==", "a"),)
    assert str(parse_field_selector("x==a")) == "x=a"
    assert str(parse_field_selector("b=1,a!=2")) == "a!=2,b=1"  # raw terms are sorted
    with pytest.raises(SelectorError):
        parse_field_selector("x!==a")  # splits at "!=", leaving a bare "=" in the value


def test_field_matching() -> None:
    assert parse_field_selector("x=").matches({})
    assert not parse_field_selector("x!=").matches({})
    assert parse_field_selector("x!=a").matches({})
    sel = parse_field_selector("metadata.name=p,status.phase!=Failed")
    assert sel.matches({"metadata.name": "p", "status.phase": "Running"})
    assert not sel.matches({"metadata.name": "p", "status.phase": "Failed"})
    assert not sel.matches({"metadata.name": "q"})
    assert sel.requires_exact_match("metadata.name") == "p"
    assert sel.requires_exact_match("status.phase") is None
    assert FieldSelector().empty() and FieldSelector().matches({})
    assert pickle.loads(pickle.dumps(sel)) == sel


# --------------------------------------------------------------------------- properties

KEYS = ["a", "b", "x", "in", "notin", "example.com/k", "K_1"]
VALUES = ["", "a", "b", "1", "2", "10", "-3", "+4", "v2", "in", "0"]
SPACE = st.sampled_from(["", " ", "  ", "\t", "\n"])
JUNK = st.sampled_from([*"=!(),<> \tab~|\\/-_.\x00é", "in", "notin", ",,", "()"])


@st.composite
def requirement_texts(draw: st.DrawFn) -> str:
    key = draw(st.sampled_from(KEYS))
    sp = draw(SPACE)
    form = draw(st.integers(0, 4))
    if form == 0:
        return key
    if form == 1:
        return f"!{sp}{key}"
    if form == 2:
        op = draw(st.sampled_from(["=", "==", "!="]))
        return f"{key}{sp}{op}{sp}{draw(st.sampled_from(VALUES))}"
    if form == 3:
        return f"{key}{sp}{draw(st.sampled_from(['>', '<']))}{draw(st.sampled_from(['0', '1', '7', '10']))}"
    vals = draw(st.lists(st.sampled_from(VALUES), max_size=4))
    return f"{key} {draw(st.sampled_from(['in', 'notin']))}{sp}({','.join(vals)})"


@st.composite
def selector_texts(draw: st.DrawFn) -> str:
    text = ",".join(draw(st.lists(requirement_texts(), max_size=5)))
    if draw(st.integers(0, 3)) == 0 and text:  # sometimes corrupt it to reach the error paths
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(JUNK) + text[i:]
    return text


LABEL_MAPS = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=5)


def _go_int(s: str) -> int | None:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        return None
    n = int(s)
    return n if -(2**63) <= n < 2**63 else None


def _oracle(sel: LabelSelector, labels: dict[str, str]) -> bool:
    """The semantics table of API.md §1, written naively."""
    for r in sel.requirements:
        present, value = r.key in labels, labels.get(r.key)
        if r.operator == "exists":
            ok = present
        elif r.operator == "!":
            ok = not present
        elif r.operator in ("=", "==", "in"):
            ok = present and value in r.values
        elif r.operator in ("!=", "notin"):
            ok = not present or value not in r.values
        else:
            n, bound = _go_int(value or ""), int(r.values[0])
            ok = present and n is not None and (n > bound if r.operator == "gt" else n < bound)
        if not ok:
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=st.sampled_from(list("xyab12=!(),<> \t\r\n\x00-_./"))), selector_texts()))
def test_label_parser_only_raises_selector_error(text: str) -> None:
    try:
        sel = parse_label_selector(text)
    except SelectorError:
        return
    assert isinstance(sel, LabelSelector)


@settings(max_examples=400, deadline=None)
@given(selector_texts(), st.lists(LABEL_MAPS, min_size=1, max_size=4))
def test_label_canonical_round_trip(text: str, label_maps: list[dict[str, str]]) -> None:
    try:
        sel = parse_label_selector(text)
    except SelectorError:
        return
    canonical = str(sel)
    again = parse_label_selector(canonical)
    assert str(again) == canonical
    assert again.requirements == sel.requirements
    for labels in label_maps:
        assert sel.matches(labels) == again.matches(labels) == _oracle(sel, labels)


FIELD_NAMES = ["a", "b", "metadata.name", ""]
FIELD_VALUES = ["", "x", "a,b", "c=d", "e\\f", "in"]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(), st.text(alphabet=st.sampled_from(list("ab=!,\\ x"))), st.just("")),
    st.lists(st.dictionaries(st.sampled_from(FIELD_NAMES), st.sampled_from(FIELD_VALUES)), min_size=1, max_size=3),
)
def test_field_parser_round_trip(text: str, field_maps: list[dict[str, str]]) -> None:
    try:
        sel = parse_field_selector(text)
    except SelectorError:
        return
    again = parse_field_selector(str(sel))
    assert str(parse_field_selector(str(again))) == str(again)
    for fields in field_maps:
        assert sel.matches(fields) == again.matches(fields)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(FIELD_NAMES[:3]), st.sampled_from(["=", "!="]), st.text()), max_size=4))
def test_field_values_survive_escaping(terms: list[tuple[str, str, str]]) -> None:
    sel = FieldSelector(tuple(FieldTerm(f, op, v) for f, op, v in terms))
    parsed = parse_field_selector(str(sel))
    assert sorted(parsed.terms, key=str) == sorted(sel.terms, key=str)
