"""The embedded cluster's layout rules, checked from source with `ast` (no imports, no I/O but reading files).

`podherd.localcluster` is layered as kube-apiserver is (STYLE.md §4): shared vocabulary and storage at
the bottom, then validation, selectors and the patch engine, the registry above them, the kubelet and
the API server on top. These tests keep it that way: no import cycles (TYPE_CHECKING and
function-local imports included), no import from a higher layer, and sub-package ``__init__`` files
that import nothing (so importing a low layer never drags in a high one). Module and function sizes
and module docstrings are checked for all of podherd in test_layout.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.unit import layout
from tests.unit.layout import PODHERD_DIR, find_cycle, import_graph, imported_modules

PACKAGE = "podherd.localcluster"
PACKAGE_DIR = PODHERD_DIR / "localcluster"

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


def sources() -> dict[str, Path]:
    return layout.sources(PACKAGE_DIR)


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
    tree = ast.parse((PODHERD_DIR / "core" / "selectors.py").read_text(encoding="utf-8"))
    assert not [m for m in imported_modules(tree, set()) if m.startswith(PACKAGE)]


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
