"""podherd's layout rules, checked from source with `ast` (no imports, no I/O but reading files).

One core, two front-ends beside it (DESIGN §2.1): `podherd.core` imports neither the standalone
scheduler and its database, nor the CLI, nor the embedded cluster, nor the standalone
configuration; the standalone front-end does not import the CLI. Across all of `podherd`: no import
cycle (TYPE_CHECKING and function-local imports included), no module over 400 lines, no function
over 60, and a docstring on every module naming its job.
"""

from __future__ import annotations

import ast

import pytest

from tests.unit.layout import (
    MAX_MODULE_LINES,
    find_cycle,
    import_graph,
    imported_modules,
    long_functions,
    sources,
)

# What the core may import of podherd itself: itself, the package root (its version) and the shared time formats.
CORE_MAY_IMPORT = ("podherd.core", "podherd.timefmt")


def podherd_imports(name: str, known: set[str]) -> set[str]:
    tree = ast.parse(sources()[name].read_text(encoding="utf-8"))
    return {m for m in imported_modules(tree, known) if m == "podherd" or m.startswith("podherd.")}


def outside(imports: set[str], allowed: tuple[str, ...]) -> set[str]:
    return {m for m in imports if m != "podherd" and not any(m == a or m.startswith(a + ".") for a in allowed)}


# ---- the checker itself can fail ----------------------------------------------------------------------


def test_outside_flags_an_import_of_the_database_from_the_core() -> None:
    tree = ast.parse("from podherd.standalone.db import queries\nfrom podherd.core.labels import x\nimport podherd\n")
    found = {m for m in imported_modules(tree, set()) if m.startswith("podherd")}
    assert outside(found, CORE_MAY_IMPORT) == {"podherd.standalone.db"}


def test_long_functions_counts_the_signature_too() -> None:
    body = "def f(\n" + "    a: int,\n" * 58 + ") -> None:\n    pass\n"
    assert long_functions(ast.parse(body)) == ["f (61 lines)"]


# ---- the rules ----------------------------------------------------------------------------------------


def test_the_core_imports_neither_the_database_nor_the_scheduler_nor_the_cli() -> None:
    known = set(sources())
    wrong = {
        name: sorted(outside(podherd_imports(name, known), CORE_MAY_IMPORT))
        for name in known
        if name == "podherd.core" or name.startswith("podherd.core.")
    }
    assert {name: bad for name, bad in wrong.items() if bad} == {}


def test_the_standalone_front_end_does_not_import_the_cli() -> None:
    known = set(sources())
    wrong = [
        f"{name} -> {m}"
        for name in known
        if name.startswith("podherd.standalone")
        for m in podherd_imports(name, known)
        if m.startswith(("podherd.cli", "podherd.commands"))
    ]
    assert wrong == []


def test_no_import_cycles_in_podherd() -> None:
    assert find_cycle(import_graph(sources())) is None


@pytest.mark.parametrize("name", sorted(sources()))
def test_module_size_and_docstring(name: str) -> None:
    text = sources()[name].read_text(encoding="utf-8")
    tree = ast.parse(text)
    assert ast.get_docstring(tree), f"{name} has no module docstring naming its job"
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    assert long_functions(tree) == []
