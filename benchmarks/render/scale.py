"""Block from `scale.json`: memory, load, sweep and takeover per size, and the candidate limits.

Registered only once `benchmarks/results/scale.json` is committed (a full run takes most of an hour);
until then `tests/integration/test_bench_scripts.py` renders a tiny run's file with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.render.common import RESULTS, Renderer, cell, load, paragraphs, provenance, table

LOAD = {
    "replica MB /10k pods": "replica_mb_per_10k", "watch cache MB /10k": "watch_cache_mb_per_10k",
    "survivor MB /10k taken over": "takeover_mb_per_10k", "peak RSS MB": "replica_peak_rss_mb",
    "API server MB /10k": "server_mb_per_10k", "all Running s": "server_all_running_s",
    "DB caught up s": "db_all_running_s", "creates/s": "creates_per_s", "watch lag p99 ms": "watch_lag_p99_ms",
    "DB write p99 ms": "db_write_p99_ms", "other processes' CPU, cores": "others_cpu_cores",
}  # fmt: skip
TAKEOVER = {
    "sweep ms": "sweep_ms", "sweep bytes": "sweep_bytes", "sweep requests": "sweep_requests",
    "re-list of 1 namespace ms": "relist_ms", "orphans": "orphans", "kill to first claim s": "first_claim_s",
    "kill to last claim s": "last_claim_s", "claims/s": "claims_per_s",
}  # fmt: skip


def verdict(ev: dict[str, Any]) -> str:
    parts = []
    for key, what in (("first_to_slow", "slow podherd down"), ("first_to_break", "break it as deployed")):
        hit = ev[key]
        parts.append(
            f"First to {what}: {' and '.join(hit['limits'])}, at {hit['pods']:,} pods."
            if hit
            else f"No limit that would {what} was hit at these sizes."
        )
    if ev["step_stopped"]:
        parts.append(f"The {ev['step_stopped']['pods']:,}-pod step did not finish: {ev['step_stopped']['why']}")
    return " ".join(parts)


def summary(results: Path, link: str) -> str:
    """docs/performance.md: per size, memory and load, then sweep and takeover; each limit; the verdict."""
    doc = load(results, "scale")
    rows = doc["summary"]
    live = [(r.get("invariants") or {}).get("writes_to_live_owners") for r in rows]
    limits = doc["limits"]
    setup = (
        f"{len(doc['namespaces'])} namespaces, 3 replicas ({doc['db']}), pods Running for the whole step; the victim "
        f"holds min({doc['orphans']:,}, N/3) pods and is killed -9 once all are Running. Liveness: heartbeat "
        f"{doc['heartbeat']:g} s, dead after {doc['threshold']:g} s."
    )
    return paragraphs(
        setup,
        table(["pods", *LOAD], [[r["pods"], *(r[k] for k in LOAD.values())] for r in rows]),
        table(
            ["pods", *TAKEOVER, "writes to live owners"],
            [[r["pods"], *(r[k] for k in TAKEOVER.values()), w] for r, w in zip(rows, live, strict=True)],
        ),
        table(
            ["limit", "hit when", *(f"{r['pods']:,}" for r in rows), "first hit at"],
            [
                [
                    lim["name"],
                    lim["threshold"],
                    *(cell(lim["values"].get(str(r["pods"]))) for r in rows),
                    lim["first_hit_at"],
                ]
                for lim in limits["limits"]
            ],
        ),
        verdict(limits),
        provenance(doc, "scale", link),
    )


BLOCKS: dict[str, Renderer] = {"scale-summary": summary} if (RESULTS / "scale.json").is_file() else {}
