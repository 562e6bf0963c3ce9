"""Blocks from `throughput.json` and `throughput-p200/throughput.json`: podherd against the bare client, and why
the ratio at the default parallelism is near 1 by construction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.render.common import Renderer, bold, cell, load, paragraphs, provenance, table

DEFAULT, STRESSED = "throughput", "throughput-p200/throughput"
COLUMNS = {
    "tasks/min": "tasks_per_min_sustained", "makespan s": "makespan_s", "all pods deleted s": "all_deleted_s",
    "peak pods": "peak_pods", "API writes/task": "api_writes_per_task", "event→DB p50 ms": "latency_p50_ms",
    "p99 ms": "latency_p99_ms", "loop p99 ms (≤)": "loop_p99_ms_max", "peak RSS MB": "peak_rss_mb_max",
    "CPU s/1k tasks": "cpu_s_per_1k_tasks",
}  # fmt: skip
RATIOS = {"× limit": "ratio_tasks_per_min", "× limit end to end": "ratio_end_to_end"}


def setup(doc: dict[str, Any]) -> str:
    return (
        f"{doc['tasks']:,} tasks per run, simulated durations uniform 0.1-1 s (mean {doc['mean_task_s']} s), "
        f"parallelism {doc['parallelism']} and a client rate limit of {doc['qps']:g} QPS per replica."
    )


def slots(doc: dict[str, Any]) -> str:
    """Why the tasks/min ratio is near 1 at this parallelism: both clients are capped by the slots."""
    p, mean = doc["parallelism"], doc["mean_task_s"]
    return (
        f"Near 1 by construction: at parallelism {p} both clients are capped by the slots. The limit client keeps "
        f"R × {p} pods in flight and each podherd replica runs at most {p} at a time, so with a mean task of "
        f"{mean} s neither can pass about {p / mean * 60:,.0f} tasks/min per replica ({p} / {mean} × 60). The ratio "
        "shows that podherd keeps up with its slots, not how much faster it could go"
    )


def rows(doc: dict[str, Any], stressed: bool) -> list[list[Any]]:
    out = []
    for r in doc["runs"]:
        p, lim = r["podherd"], r["limit"]
        ratios = [cell(r.get(k)) for k in RATIOS.values()]
        ratios[1 if stressed else 0] = bold(ratios[1 if stressed else 0])
        out.append([f"podherd R={r['replicas']}", *(p.get(k) for k in COLUMNS.values()), *ratios])
        out.append([f"limit, {lim['window']:,} in flight", *(lim.get(k) for k in COLUMNS.values()), 1.0, 1.0])
    return out


def cpu_note(doc: dict[str, Any]) -> str:
    """Results written before replica CPU was counted from readiness include start-up: say so."""
    old = any("startup_cpu_seconds" not in rep for r in doc["runs"] for rep in r["podherd"]["per_replica"])
    return (
        "podherd's CPU in this file includes each replica's start-up: it predates counting from readiness, "
        "so it is not comparable with the limit's (regenerate it with the command below)."
        if old
        else ""
    )


def tables(results: Path, link: str) -> str:
    """docs/performance.md: the run at the default parallelism, and why its ratio is near 1."""
    doc = load(results, DEFAULT)
    return paragraphs(
        setup(doc),
        table(["run", *COLUMNS, *RATIOS], rows(doc, stressed=False)),
        slots(doc) + "; the run at a higher parallelism below is the one that stresses it.",
        cpu_note(doc),
        provenance(doc, DEFAULT, link),
    )


def stressed(results: Path, link: str) -> str:
    """docs/performance.md: the run at a parallelism where the slots no longer bound the rate."""
    doc = load(results, STRESSED)
    by_r = {r["replicas"]: r for r in doc["runs"]}
    ends = ", ".join(f"{cell(r['ratio_end_to_end'])}× (R={n})" for n, r in by_r.items())
    peaks = ", ".join(f"{r['podherd']['peak_pods']:,} (R={n})" for n, r in by_r.items())
    limits = ", ".join(f"{r['limit']['peak_pods']:,}" for r in by_r.values())
    summary = (
        f"Until the last pod is deleted (end to end) podherd is at {ends} of the limit. The most pods that existed "
        f"at once (running, or finished and awaiting deletion): {peaks} for podherd; {limits} for the limit."
    )
    table_ = table(["run", *COLUMNS, *RATIOS], rows(doc, stressed=True))
    return paragraphs(setup(doc), table_, summary, cpu_note(doc), provenance(doc, STRESSED, link))


def headline(doc: dict[str, Any], stress: dict[str, Any] | None) -> tuple[str, str]:
    """(what ran, what it showed) for the summary table, the slot cap next to the ratio."""
    what = f"**throughput**: {doc['tasks']:,} tasks, simulate kubelet, SQLite, parallelism {doc['parallelism']}"
    runs = []
    for r in doc["runs"]:
        p = r["podherd"]
        rate = f"{cell(p['tasks_per_min_sustained'])} tasks/min, {cell(r['ratio_tasks_per_min'])}×"
        runs.append(f"R={r['replicas']}: {bold(rate)} the limit, event→DB p99 {cell(p['latency_p99_ms'])} ms")
    writes = sorted({r["podherd"]["api_writes_per_task"] for r in doc["runs"]})
    shown = (
        "Against the physical limit (a bare create+delete client measured in the same run): "
        + "; ".join(runs)
        + f". {' to '.join(cell(w) for w in writes)} API writes per task. {slots(doc)}."
    )
    if stress:
        ends = ", ".join(f"{cell(r['ratio_end_to_end'])}× (R={r['replicas']})" for r in stress["runs"])
        shown += (
            f" The run at parallelism {stress['parallelism']} stresses it: until the last pod is deleted, podherd is "
            f"at {ends} of the limit."
        )
    return what, shown


BLOCKS: dict[str, Renderer] = {"throughput-table": tables, "throughput-p200-table": stressed}
