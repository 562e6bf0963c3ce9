"""Block from `cluster_bench.json`: the embedded cluster's LIST latency, watch fan-out and bulk load."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from benchmarks.render.common import Renderer, load, paragraphs, provenance, table

PATHS = {"api_patch": "patch path", "store_update": "store writes"}


def page_limit(variant: dict[str, Any]) -> str:
    """` with `limit=N`` as the variant's description names it (the page size is not a parameter of its own)."""
    m = re.search(r"limit=(\d+)", variant["description"])
    return f" with `limit={m.group(1)}`" if m else ""


def summary(results: Path, link: str) -> str:
    """README: LIST latency by variant, events per second to the watchers, pods loaded per second."""
    doc = load(results, "cluster_bench")
    p, v, load_ = doc["params"], doc["list"]["variants"], doc["load"]
    watch = doc["watch"]
    rows = [
        [f"label-selected LIST returning {p['selected']:,} pods, full objects, raw JSON", v["full_raw"]],
        ["the same, metadata-only (`as=PartialObjectMetadataList`)", v["metadata_raw"]],
        ["the same, parsed into the official client's models", v["full_models"]],
        [f"the same, paged{page_limit(v['paged_raw'])} ({v['paged_raw']['requests']} requests)", v["paged_raw"]],
    ]
    lines = [[what, f"{x['median_ms']:,.0f} ms", f"{x['p90_ms']:,.0f} ms", x["ratio_vs_full_raw"]] for what, x in rows]
    fanout = []
    if "api_patch" in watch:
        fanout.append(f"{watch['api_patch']['delivered_events_per_s']:,.0f} events/s through the full patch path")
    if "store_update" in watch:
        fanout.append(f"{watch['store_update']['delivered_events_per_s']:,.0f}/s for store writes alone")
    lags = " and ".join(f"{w['lag_p99_ms']:.1f} ms ({PATHS.get(name, name)})" for name, w in watch.items())
    return paragraphs(
        f"With {load_['pods_stored']:,} pods stored:",
        table(["measurement", "median", "p90", "× raw JSON"], lines),
        f"**Watch fan-out.** Events delivered to {p['watchers']} watchers, {p['events']:,} changes each: "
        + ", and ".join(fanout)
        + f". Lag p99: {lags}.",
        f"**Loading {load_['pods_stored']:,} pods** took {load_['total_seconds']:.1f} s in all: "
        f"{load_['http']['pods_per_s']:,.0f} pods/s one by one over {'HTTPS' if p['tls'] else 'HTTP'}, and "
        f"{load_['in_process']['pods_per_s']:,.0f} pods/s in-process.",
        provenance(doc, "cluster_bench", link),
    )


BLOCKS: dict[str, Renderer] = {"cluster-bench-summary": summary}
