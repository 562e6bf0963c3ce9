"""Blocks from `sweep_cost.json`: one completed-pod sweep three ways per namespace size, and the headline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.render.common import Renderer, bold, cell, load, paragraphs, provenance, table

WAYS = {"models": "(a) pre-#35599", "metadata": "(b) metadata-only", "podherd": "(c) podherd"}
COLUMNS = {
    "pods returned": "items", "median ms": "median_ms", "bytes received": "bytes",
    "tracemalloc peak MB": "tracemalloc_peak_mb", "peak RSS growth MB": "rss_growth_mb",
}  # fmt: skip


def ratios(size: dict[str, Any]) -> list[Any]:
    r = size["ratio_a_over_c"]
    return [r["time"], r["bytes"], r["tracemalloc_peak"]]


def why(size: dict[str, Any]) -> str:
    """The (a)/(c) bytes ratio as the product of the two fixes, and what (a) costs, at one size."""
    a, b, c = (size["ways"][w] for w in WAYS)
    per_pod = (a["bytes"] / a["items"]) / (b["bytes"] / b["items"]) if a["items"] and b["items"] else None
    fewer = b["items"] / c["items"] if c["items"] else None
    return (
        f"At {size['pods']:,} pods, the bytes ratio is the product of the two fixes: metadata only sends "
        f"{cell(round(per_pod, 1) if per_pod else None)}× fewer bytes per pod ((a) against (b)), and the alive set "
        f"in the selector returns {cell(round(fewer, 1) if fewer else None)}× fewer pods ((b) against (c): only the "
        f"dead replica's). One pre-#35599 sweep there takes {a['median_ms'] / 1000:.1f} s and grows the client's "
        f"peak RSS by {a['rss_growth_mb']:,.0f} MB; the anchor ran it on its scheduling loop every sweep interval."
    )


def tables(results: Path, link: str) -> str:
    """docs/performance.md: every way at every size, the (a)/(c) ratios, and the product of the two fixes."""
    doc = load(results, "sweep_cost")
    sizes = doc["sizes"]
    rows = [
        [s["pods"], WAYS[w], *(s["ways"][w][k] for k in COLUMNS.values())]
        for s in sizes
        for w in WAYS
        if w in s["ways"]
    ]
    return paragraphs(
        f"Time: median of {doc['repeats']} sweeps after a warm-up.",
        table(["pods", "way", *COLUMNS], rows),
        table(
            ["pods", "(a)/(c) time", "(a)/(c) bytes", "(a)/(c) peak memory"], [[s["pods"], *ratios(s)] for s in sizes]
        ),
        why(sizes[-1]),
        provenance(doc, "sweep_cost", link),
    )


def headline(doc: dict[str, Any]) -> tuple[str, str]:
    sizes = doc["sizes"]
    big, small = sizes[-1], sizes[0]
    what = (
        f"**sweep cost**: one completed-pod sweep in a namespace of {big['pods']:,} pods, most owned by live replicas"
    )
    t, b, m = (cell(x) for x in ratios(big))
    shown = (
        "The pre-#35599 way (full list into client models) against podherd's (alive-scoped selector, phase field "
        f"selectors, metadata-only raw JSON): {bold(f'{t}× the time, {b}× the bytes, {m}× the peak memory')}."
    )
    if small is not big:
        shown += f" At {small['pods']:,} pods: " + ", ".join(f"{cell(x)}×" for x in ratios(small)) + "."
    return what, shown


BLOCKS: dict[str, Renderer] = {"sweep-cost-tables": tables}
