"""The Airflow benchmark's report: the summary table (also the docs' generated block), details, plot.

Pure apart from `plot` (matplotlib writes a file): results dict in, text out. Columns are the
executors in the order podherd, provider 10.25.0, provider 10.17.0 (whichever ran), so podherd's
figure stands beside each provider's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ORDER = ("podherd", "provider-10.25", "provider-10.17")
HEADS = {"podherd": "podherd", "provider-10.25": "provider 10.25.0", "provider-10.17": "provider 10.17.0"}


def columns(results: Mapping[str, Any]) -> list[str]:
    ran = set(results.get("executors", {})) | set((results.get("sweep") or {}).get("executors", {}))
    return [k for k in ORDER if k in ran]


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, Mapping) or key not in d:
            return None
        d = d[key]
    return d


def _n(v: Any, digits: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _pair(a: Any, b: Any, digits: int = 1) -> str:
    return f"{_n(a, digits)} / {_n(b, digits)}"


def verbs(per_task: Mapping[str, float] | None) -> str:
    """`5.1: delete 3.0, create 1.0, list 0.9` (verbs under 0.05 per task left out)."""
    if not per_task:
        return "-"
    shown = sorted(((v, k) for k, v in per_task.items() if v >= 0.05), key=lambda vk: (-vk[0], vk[1]))
    return f"{sum(per_task.values()):.1f}: " + ", ".join(f"{k} {v:.1f}" for v, k in shown)


def _scenario(results: Mapping[str, Any], key: str, scenario: str) -> Any:
    s = _get(results, "executors", key, scenario)
    return None if s is None or "error" in s else s


Cell = Callable[[Mapping[str, Any], str], str]

ROWS: list[tuple[str, str, Cell]] = [
    (
        "steady state",
        "cross-scheduler PATCH / DELETE",
        lambda r, k: _pair(_get(_scenario(r, k, "steady"), "cross_writes", "patch"), _get(_scenario(r, k, "steady"), "cross_writes", "delete")),
    ),
    ("steady state", "API requests per task, by verb", lambda r, k: verbs(_get(_scenario(r, k, "steady"), "requests_per_task"))),
    ("steady state", "scheduler CPU s per task", lambda r, k: _n(_get(_scenario(r, k, "steady"), "cpu_s_per_task"), 2)),
    ("steady state", "pods left", lambda r, k: _n(_get(_scenario(r, k, "steady"), "pods_left"))),
    (
        "kill -9",
        "first claim / all its tasks done, s after the kill",
        lambda r, k: _pair(_get(_scenario(r, k, "kill"), "first_claim_s"), _get(_scenario(r, k, "kill"), "victim_tasks_done_s")),
    ),
    (
        "kill -9",
        "duplicate runs / pods left",
        lambda r, k: _pair(_get(_scenario(r, k, "kill"), "tasks_run_twice_or_more"), _get(_scenario(r, k, "kill"), "pods_left")),
    ),
    ("database trouble", "writes to live schedulers' pods: during the outage / whole scenario", lambda r, k: _db_cell(r, k)),
    (
        "two survivors race",
        "claims won per pod / redundant writes",
        lambda r, k: _pair(_get(_scenario(r, k, "race"), "claims", "claims_won_per_pod"), _get(_scenario(r, k, "race"), "claims", "redundant_writes"), 2),
    ),
    (
        "sweep, 10k pods",
        "KB received / client CPU ms per sweep",
        lambda r, k: _pair(_kb(_get(r, "sweep", "executors", k, "bytes")), _get(r, "sweep", "executors", k, "cpu_ms"), 0),
    ),
]  # fmt: skip


def _db_cell(results: Mapping[str, Any], key: str) -> str:
    """The writes (in the outage, and in the whole scenario with the restarts it causes), and how the executor's
    sweeps chose whose pods to take while the alive query failed."""
    db = _scenario(results, key, "db")
    writes = _pair(
        _get(db, "cross_writes_during_outage", "to_live_owners"), _get(db, "cross_writes_whole_run", "to_live_owners")
    )
    if db is None or key == "podherd":
        return writes
    if key == "provider-10.17":
        return f"{writes} (its sweeps always take every pod not its own)"
    return f"{writes} ({db.get('fallback_log_lines_during_outage', 0)} sweeps fell back to `!= me`)"


def _kb(v: Any) -> float | None:
    return round(v / 1000) if isinstance(v, int | float) else None


def summary_markdown(results: Mapping[str, Any]) -> str:
    """The side-by-side table: per scenario, podherd's figure beside each provider's."""
    from benchmarks.render.common import table

    keys = columns(results)
    sweep_pods = _get(results, "sweep", "pods")
    rows = []
    for scenario, figure, cell in ROWS:
        cells = [cell(results, k) for k in keys]
        if "podherd" in keys:
            cells[0] = f"**{cells[0]}**"
        rows.append([_label(scenario, sweep_pods), figure, *cells])
    return table(["scenario", "figure", *(HEADS[k] for k in keys)], rows) + "\n"


def _label(scenario: str, sweep_pods: int | None) -> str:
    return f"sweep, {sweep_pods:,} pods" if scenario.startswith("sweep") and sweep_pods is not None else scenario


def setup_text(results: Mapping[str, Any]) -> str:
    s = results["setup"]
    return (
        f"Airflow {s['airflow']} with {len(s['schedulers'])} schedulers on PostgreSQL, the embedded cluster in "
        f"process mode (every task pod is a real Task SDK process). Per scenario {s['tasks']} mapped tasks of "
        f"{s['task_seconds']:g} s (the race: {s['race_pods']} pods); each scheduler's `[core] parallelism` "
        f"{s['parallelism']}. Heartbeat {s['heartbeat']:g} s, dead after {s['threshold']:g} s, "
        f"`orphaned_tasks_check_interval` {s['interval']:g} s for every executor (the provider's default of 300 s "
        f"would put its sweeps outside the runs); the job table refuses queries for {s['outage']:g} s in the "
        "database-trouble scenario."
    )


def detail_rows(results: Mapping[str, Any], scenario: str, fields: Sequence[tuple[str, Cell]]) -> list[list[str]]:
    rows = []
    for k in columns(results):
        s = _get(results, "executors", k, scenario)
        if s is None:
            continue
        if "error" in s:
            rows.append([HEADS[k], "error: " + s["error"].splitlines()[0][:200]] + [""] * (len(fields) - 1))
            continue
        rows.append([HEADS[k]] + [cell(s, k) for _, cell in fields])
    return rows


def f(*path: str, digits: int = 1) -> Cell:
    return lambda s, _k: _n(_get(s, *path), digits)


DETAILS: dict[str, tuple[str, list[tuple[str, Cell]]]] = {
    "steady": ("1. Steady state", [
        ("run", f("run_state")), ("s", f("seconds")), ("tasks by state", f("by_state")),
        ("cross PATCH", f("cross_writes", "patch")), ("cross DELETE", f("cross_writes", "delete")),
        ("to live owners (accepted)", f("cross_writes", "accepted_to_live_owners")),
        ("requests per task", lambda s, _k: verbs(s.get("requests_per_task"))),
        ("CPU s per task", f("cpu_s_per_task", digits=3)), ("idle CPU s/s", f("idle_cpu_s_per_s", digits=3)),
        ("idle requests/s", lambda s, _k: verbs(s.get("idle_requests_per_s"))),
        ("pods left", f("pods_left")), ("duplicate runs", f("tasks_run_twice_or_more")),
    ]),
    "kill": ("2. kill -9 of one scheduler", [
        ("run", f("run_state")), ("its tasks at the kill", f("victim_tasks_at_kill")), ("its pods", f("victim_pods")),
        ("first claim s", f("first_claim_s")), ("last claim s", f("last_claim_s")),
        ("its tasks done s", f("victim_tasks_done_s")), ("claims won", f("claims", "claims_won")),
        ("tries > 1", f("tries_above_1")), ("duplicate runs", f("tasks_run_twice_or_more")),
        ("names created twice", f("pod_names_created_twice")), ("writes to live", f("writes_to_live_schedulers_pods")),
        ("pods left", f("pods_left")),
    ]),
    "db": ("3. Database trouble", [
        ("run", f("run_state")), ("outage s", f("outage_s")),
        ("cross writes in outage", f("cross_writes_during_outage", "total")),
        ("to live owners", f("cross_writes_during_outage", "to_live_owners")),
        ("whole run: cross / to live", lambda s, _k: _pair(_get(s, "cross_writes_whole_run", "total"), _get(s, "cross_writes_whole_run", "to_live_owners"))),
        ("fallback log lines", f("fallback_log_lines_during_outage")), ("restarts", f("scheduler_restarts")),
        ("duplicate runs", f("tasks_run_twice_or_more")), ("pods left", f("pods_left")),
    ]),
    "race": ("4. Two survivors race for a dead scheduler's completed pods", [
        ("pods", f("claims", "pods")), ("claims won", f("claims", "claims_won")),
        ("pods claimed twice", f("claims", "pods_claimed_twice")), ("refused claims", f("claims", "refused_claims")),
        ("DELETEs", f("claims", "deletes")), ("redundant writes", f("claims", "redundant_writes")),
        ("writes to live", f("writes_to_live_schedulers_pods")), ("duplicate runs", f("tasks_run_twice_or_more")),
        ("pods left", f("pods_left")), ("s to all gone", f("seconds_to_all_pods_gone")),
    ]),
}  # fmt: skip


def sweep_rows(results: Mapping[str, Any]) -> list[list[str]]:
    sweep = results.get("sweep") or {}
    rows = []
    for k in columns(results):
        e = _get(sweep, "executors", k)
        if e is None:
            continue
        requests = ", ".join(f"{n} {what}" for what, n in sorted(e["requests"].items()))
        first = e["first"]
        rows.append([
            HEADS[k], f"{e['bytes']:,}", _n(e["cpu_ms"]), _n(e["wall_ms"]), str(e["claimed"]), requests,
            f"{first['bytes']:,} B, {first['cpu_s'] * 1000:.0f} ms",
        ])  # fmt: skip
    return rows


def render(results: dict[str, Any], markdown: bool) -> str:
    from benchmarks.cluster_bench import fmt_table
    from benchmarks.common import header

    lines = header(results, "podherd's Airflow executor beside the provider's KubernetesExecutor", markdown)
    lines += [setup_text(results), "", summary_markdown(results) if markdown else _plain_summary(results), ""]
    for scenario, (title, fields) in DETAILS.items():
        rows = detail_rows(results, scenario, fields)
        if rows:
            lines += [
                ("### " if markdown else "") + title,
                "",
                fmt_table(["executor", *(h for h, _ in fields)], rows, markdown),
                "",
            ]
    rows = sweep_rows(results)
    if rows:
        heads = ["executor", "bytes", "client CPU ms", "wall ms", "pods claimed", "requests", "first (cold) sweep"]
        lines += [("### " if markdown else "") + f"5. One sweep, {results['sweep']['pods']:,} pods", ""]
        lines += [fmt_table(heads, rows, markdown), ""]
    lines += [("### " if markdown else "") + "Notes", "", *[f"- {n}" for n in results.get("notes", [])], ""]
    return "\n".join(lines)


def _plain_summary(results: Mapping[str, Any]) -> str:
    from benchmarks.cluster_bench import fmt_table

    keys = columns(results)
    pods = _get(results, "sweep", "pods")
    rows = [[_label(scenario, pods), figure, *(cell(results, k) for k in keys)] for scenario, figure, cell in ROWS]
    return fmt_table(["scenario", "figure", *(HEADS[k] for k in keys)], rows, False)


def plot(results: dict[str, Any], path: Path) -> Path | None:
    from benchmarks.common import pyplot, save_figure

    plt = pyplot()
    if plt is None:
        return None
    keys = columns(results)
    panels: list[tuple[str, Callable[[str], Any]]] = [
        ("steady: cross-scheduler writes", lambda k: _get(_scenario(results, k, "steady"), "cross_writes", "total")),
        ("steady: scheduler CPU s / task", lambda k: _get(_scenario(results, k, "steady"), "cpu_s_per_task")),
        ("kill -9: first claim, s", lambda k: _get(_scenario(results, k, "kill"), "first_claim_s")),
        ("db trouble: writes to live owners", lambda k: _get(_scenario(results, k, "db"), "cross_writes_during_outage", "to_live_owners")),
        ("race: redundant writes", lambda k: _get(_scenario(results, k, "race"), "claims", "redundant_writes")),
        ("sweep: KB received", lambda k: _kb(_get(results, "sweep", "executors", k, "bytes"))),
    ]  # fmt: skip
    fig, axes = plt.subplots(2, 3, figsize=(12, 6))
    colors = {"podherd": "tab:green", "provider-10.25": "tab:blue", "provider-10.17": "tab:red"}
    for ax, (title, value) in zip(axes.flat, panels, strict=True):
        vals = [value(k) for k in keys]
        ax.bar([HEADS[k] for k in keys], [v or 0 for v in vals], color=[colors[k] for k in keys])
        for i, v in enumerate(vals):
            ax.annotate("n/a" if v is None else _n(v, 2), (i, v or 0), ha="center", va="bottom", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    return save_figure(plt, fig, "Airflow 3.3, 3 schedulers: podherd vs the provider's KubernetesExecutor", path)
