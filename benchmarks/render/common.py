"""What every renderer of a generated block shares: loading a results file, its provenance line, cells and tables."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"
Renderer = Callable[[Path, str], str]
"""(results directory, relative path from the document to the results directory) -> block text."""


def load(results: Path, name: str) -> dict[str, Any]:
    """`results/<name>.json`; `name` may name a subdirectory (`throughput-p200/throughput`)."""
    return json.loads((results / f"{name}.json").read_text(encoding="utf-8"))


def provenance(doc: dict[str, Any], name: str, link: str) -> str:
    """Where a block's numbers come from: the file, the exact command, the commit and whether the tree was dirty."""
    m = doc["machine"]
    dirty = {True: " (uncommitted changes)", False: ""}.get(m.get("git_dirty"), " (dirty flag not recorded)")
    return (
        f"<sub>From [`benchmarks/results/{name}.json`]({link}/{name}.json): `{doc['command']}`, "
        + (f"measuring podherd at {doc['profiled']['git_commit']}, " if "profiled" in doc else "")
        + f"git {m['git_commit']}{dirty}, {m['date_utc'][:10]}, {m['nproc']} cores"
        + (f", load average {m['load_average'][0]:.1f} at the start" if m.get("load_average") else "")
        + (", a `--quick` run (not the published sizes)" if doc.get("quick") else "")
        + ".</sub>\n"
    )


def cell(value: Any) -> str:
    """A number as stored (thousands separated), counts by kind as `kind: n` pairs, nothing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "0"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def per(values: Sequence[Any], sep: str = " / ") -> str:
    """The same figure for several runs, in order: `8 / 24`."""
    return sep.join(cell(v) for v in values)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; cells that are not strings go through `cell`."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(c if isinstance(c, str) else cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def paragraphs(*parts: str) -> str:
    """Blocks of text separated by blank lines (a table needs one after it), ending in a newline; empty parts dropped."""
    return "\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"


def bold(text: str) -> str:
    return f"**{text}**"
