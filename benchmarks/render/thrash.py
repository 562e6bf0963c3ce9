"""Blocks from `thrash.json`: the churn and claim-race tables per adoption policy, and the one-line headline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.render.common import Renderer, bold, cell, load, paragraphs, per, provenance, table

POLICIES = {"exclude-self": "(Airflow 10.15)", "alive-scoped": "(the seed)", "podherd": ""}
CHURN = {
    "PATCH/min": "patch_per_min", "DELETE/min": "delete_per_min", "redundant writes": "redundant_writes",
    "writes to alive owners": "writes_to_alive_owners", "extra claims": "extra_claims",
    "failed writes": "failed_total", "pods left": "pods_left", "takeover first s": "takeover_first_s",
    "takeover complete s": "takeover_complete_s",
}  # fmt: skip
RACE = {
    "successful claims": "successful_claims", "extra claims (double wins)": "extra_claims",
    "writes to alive owners": "writes_to_alive_owners", "failed writes": "failed_writes",
    "DELETEs": "delete_requests", "pods left": "pods_left",
}  # fmt: skip
BOLD = {"redundant_writes", "successful_claims", "extra_claims"}  # podherd's figures that matter most


def workload(doc: dict[str, Any]) -> str:
    s = doc["runs"][0]["spec"]
    return (
        f"Workload per run: {s['rate']:g} tasks/s for {s['duration']:g} s (+{s['drain']:g} s drain), each task "
        f"{s['task_seconds']:g} s, parallelism {s['parallelism']}; one replica `kill -9`ed at {s['kill_at']:.0%} of "
        f"the feed; sweep every {s['sweep_interval']:g} s; dead after {s['threshold']:g} s without a heartbeat "
        f"(every {s['heartbeat']:g} s); API latency +{s['latency_ms']:g} ms."
    )


def highlight(policy: str, key: str, value: Any) -> str:
    return bold(cell(value)) if policy == "podherd" and key in BOLD else cell(value)


def span(ns: list[int]) -> str:
    return f"{min(ns):,}" + (f"-{max(ns):,}" if max(ns) != min(ns) else "")


def tasks_line(doc: dict[str, Any]) -> str:
    """How the churn runs' tasks ended, counted from the database."""
    states: dict[str, list[int]] = {}
    for r in doc["runs"]:
        for state, n in r["tasks"].items():
            states.setdefault(state, []).append(n)
    ended = ", ".join(f"{state} {span(ns)}" for state, ns in states.items())
    return f"Tasks per churn run: {span([r['tasks_submitted'] for r in doc['runs']])} submitted; at the end {ended}."


def tables(results: Path, link: str) -> str:
    """docs/performance.md: the churn table, the claim-race table, how the tasks ended."""
    doc = load(results, "thrash")
    runs = doc["runs"]
    churn = [
        [r["spec"]["policy"], r["spec"]["replicas"], *(highlight(r["spec"]["policy"], k, r[k]) for k in CHURN.values())]
        for r in runs
    ]
    out = [workload(doc), table(["policy", "R", *CHURN], churn), tasks_line(doc)]
    raced = [r for r in runs if "race" in r]
    if raced:
        rows = [
            [r["spec"]["policy"], r["race"]["survivors"], r["race"]["pods"]]
            + [highlight(r["spec"]["policy"], k, r["race"][k]) for k in RACE.values()]
            for r in raced
        ]
        out += [
            "**Claim race.** After each run with R ≥ 3, a second scenario: a replica is killed holding "
            f"{raced[0]['race']['pods']:,} completed pods; once it is dead for everyone, R − 1 survivors start "
            "together, so their first sweeps claim the same pods at the same time.",
            table(["policy", "survivors", "completed pods", *RACE], rows),
        ]
    return paragraphs(*out, provenance(doc, "thrash", link))


def by_policy(runs: list[dict[str, Any]], value: Callable[[dict[str, Any]], Any], policies: Any = POLICIES) -> str:
    """`policy (what it is) a / b` per policy, one figure per replica count in ascending order; podherd's bold."""
    out = []
    for p in policies:
        got = [value(r) for r in sorted(runs, key=lambda r: r["spec"]["replicas"]) if r["spec"]["policy"] == p]
        if got:
            name = f"`{p}` {POLICIES[p]}".rstrip()
            out.append(f"{name} {bold(per(got)) if p == 'podherd' else per(got)}")
    return "; ".join(out)


def headline(doc: dict[str, Any]) -> tuple[str, str]:
    """(what ran, what it showed) for the summary table: per policy, one figure per replica count."""
    runs = doc["runs"]
    counts = sorted({r["spec"]["replicas"] for r in runs})
    s = runs[0]["spec"]
    what = (
        f"**thrash**: {s['rate']:g} tasks/s for {s['duration']:g} s, one replica `kill -9`ed at {s['kill_at']:.0%} "
        f"of the feed (R={' / R='.join(str(n) for n in counts)})"
    )
    shown = [
        f"Writes to live replicas' pods: {by_policy(runs, lambda r: r['writes_to_alive_owners'])}.",
        "Takeover (first claim after the kill, s): "
        f"{by_policy(runs, lambda r: r['takeover_first_s'], ('podherd', 'alive-scoped'))}.",
        "Every run leaves 0 pods."
        if not any(r["pods_left"] for r in runs)
        else f"Pods left: {by_policy(runs, lambda r: r['pods_left'])}.",
    ]
    if any("race" in r for r in runs):
        race = by_policy(runs, lambda r: r.get("race", {}).get("extra_claims"))
        shown.append(f"Claim race, extra claims (double wins): {race}.")
    return what, " ".join(shown)


BLOCKS: dict[str, Renderer] = {"thrash-tables": tables}
