"""Block from several results files: one headline row per scheduler benchmark (README and docs/performance.md)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.render import sweep_cost, thrash, throughput
from benchmarks.render.common import Renderer, load, paragraphs, provenance, table


def benchmarks(results: Path, link: str) -> str:
    """thrash, sweep cost and throughput (with the stressed run) in one table, each row from its own file."""
    docs = {name: load(results, name) for name in ("thrash", "sweep_cost", throughput.DEFAULT, throughput.STRESSED)}
    rows = [
        thrash.headline(docs["thrash"]),
        sweep_cost.headline(docs["sweep_cost"]),
        throughput.headline(docs[throughput.DEFAULT], docs[throughput.STRESSED]),
    ]
    sources = "<br>\n".join(provenance(doc, name, link) for name, doc in docs.items())
    return paragraphs(table(["benchmark", "result"], rows), sources)


BLOCKS: dict[str, Renderer] = {"benchmarks-summary": benchmarks}
