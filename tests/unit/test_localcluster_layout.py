"""The embedded cluster's layout rules, checked from source with `ast` (no imports, no I/O but reading files).

`podherd.localcluster` is layered as kube-apiserver is (STYLE.md §4): shared vocabulary and storage at
the bottom, then validation, selectors and the patch engine, the registry above them, the kubelet and
the API server on top. These tests keep it that way: no import cycles (TYPE_CHECKING and
function-local imports included), no import from a higher layer, no module over 400 lines and no
function over 60, a docstring on every module, and sub-package ``__init__`` files that import nothing
(so importing a low layer never drags in a high one).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "podherd.localcluster"
PACKAGE_DIR = ROOT / "podherd" / "localcluster"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Lower rank = lower layer. A module may import from its own sub-package or from a lower rank only.
RANKS = {
    "apimachinery": 0,
    "storage": 0,
    "validation": 1,
    "selectors": 2,
    "patch": 2,
    "registry": 3,
    "kubelet": 4,
    "apiserver": 5,
    "": 6,  # the package root: its lazy public names
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def sources() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported_modules(tree: ast.AST, known: set[str]) -> Iterator[str]:
    """Every module an import statement anywhere in `tree` names (inside functions and TYPE_CHECKING too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                yield candidate if candidate in known else node.module


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    known = set(mods)
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {m for m in imported_modules(tree, known) if m in known and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def layer(module: str) -> str:
    rest = module[len(PACKAGE) :].lstrip(".")
    return rest.split(".", 1)[0]


# ---- the checker itself can fail ----------------------------------------------------------------------


def test_find_cycle_reports_a_cycle_and_accepts_a_dag() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_under_type_checking_and_in_functions_are_seen() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from x.y import Z\n"
        "def f():\n    import x.w\n    from x import v\n"
    )
    assert set(imported_modules(tree, {"x.y", "x.w", "x.v"})) == {"typing", "x.y", "x.w", "x.v"}


# ---- the rules ----------------------------------------------------------------------------------------


def test_no_import_cycles_in_localcluster() -> None:
    assert find_cycle(import_graph(sources())) is None


def test_lower_layers_never_import_higher_ones() -> None:
    graph = import_graph(sources())
    wrong = [
        f"{src} -> {dst}"
        for src, dsts in graph.items()
        for dst in sorted(dsts)
        if layer(src) != layer(dst) and RANKS[layer(dst)] >= RANKS[layer(src)]
    ]
    assert wrong == []


def test_every_module_belongs_to_a_known_layer() -> None:
    assert {layer(m) for m in sources()} <= set(RANKS)


def test_sub_package_inits_import_nothing() -> None:
    """Importing `localcluster.selectors.label` must not load the API server; the root's names are lazy."""
    offenders = []
    for name, path in sources().items():
        if path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed = ("__future__", "typing", "collections.abc")
        for node in tree.body:
            if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.module not in allowed):
                offenders.append(name)
    assert offenders == []


def test_the_core_selector_builder_does_not_import_the_embedded_cluster() -> None:
    tree = ast.parse((ROOT / "podherd" / "core" / "selectors.py").read_text(encoding="utf-8"))
    assert not [m for m in imported_modules(tree, set()) if m.startswith(PACKAGE)]


@pytest.mark.parametrize("name", sorted(sources()))
def test_module_size_and_docstring(name: str) -> None:
    path = sources()[name]
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    assert ast.get_docstring(tree), f"{name} has no module docstring naming its job"
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_public_names_load_on_first_use_only() -> None:
    """In a fresh interpreter: a low layer imports without the server; the package's two names still work."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import podherd.localcluster.selectors.label\n"
        "print('aiohttp' in sys.modules)\n"
        "from podherd.localcluster import ClusterConfig, LocalCluster\n"
        "print(LocalCluster.__name__, ClusterConfig.__name__)\n"
        "import podherd.localcluster as lc\n"
        "print(hasattr(lc, 'NoSuchName'))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["False", "LocalCluster ClusterConfig", "False"]
