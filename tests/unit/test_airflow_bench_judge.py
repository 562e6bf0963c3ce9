"""The Airflow benchmark's pure parts: judging audit records, reading side effects, the summary table.

Hand-written audit records in, figures out; no cluster, no Airflow, no files.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from benchmarks.airflowbench import judge, report
from benchmarks.airflowbench.fleet import log_times
from benchmarks.airflowbench.scenarios import dag_source, prefix
from tests.ha.invariants import Lifetime, check

T0 = 1767225600.0  # 2026-01-01T00:00:00Z


def rec(t: float, verb: str, name: str, sender: str, code: int, nbytes: int | None = None) -> dict[str, Any]:
    """A request as the embedded cluster logs it; `sender` is the process name in the harness's User-Agent."""
    r: dict[str, Any] = {
        "time": f"2026-01-01T00:00:{t:09.6f}Z",
        "verb": verb,
        "resource": "pods",
        "subresource": "",
        "namespace": "default",
        "name": name,
        "code": code,
        "userAgent": f"podherd-airflow-test ({sender})",
    }
    if nbytes is not None:
        r["responseBytes"] = nbytes
    return r


JOBS = {"s1": "1", "s2": "2", "s3": "3", "victim": "9"}


def resolve(r: dict[str, Any]) -> str | None:
    return JOBS.get(r["userAgent"].removeprefix("podherd-airflow-test (").rstrip(")"))


def test_cross_writes_follow_the_owner_through_claims_and_judge_liveness() -> None:
    log = [
        rec(1, "create", "a", "s1", 201),
        rec(1, "create", "b", "s2", 201),
        rec(1, "create", "v", "victim", 201),
        rec(2, "patch", "a", "s2", 200),  # s2 relabels live s1's pod (the thrash): cross, to a live owner
        rec(3, "delete", "a", "s1", 200),  # s1 deletes its own pod, now s2's: cross again
        rec(3.5, "delete", "a", "s2", 404),  # s2's own (by now) pod: not cross
        rec(4, "delete", "b", "s2", 200),  # own pod
        rec(6, "patch", "v", "s3", 200),  # the victim died at 5: a claim, cross but not to a live owner
        rec(7, "patch", "v", "s1", 422),  # a refused claim of what s3 now owns: cross, to a live owner, refused
        rec(8, "list", "", "s1", 200),
    ]
    records = judge.attribute(log, resolve)
    lifetimes = {"1": Lifetime(T0), "2": Lifetime(T0), "3": Lifetime(T0), "9": Lifetime(T0, T0 + 5)}
    out = judge.cross_writes(records, lifetimes, T0, T0 + 60)
    assert (out["patch"], out["delete"], out["total"]) == (3, 1, 4)
    assert out["to_live_owners"] == 3 and out["accepted_to_live_owners"] == 2
    assert out["outcomes"] == {"delete 200": 1, "patch 200": 2, "patch 422": 1}
    assert judge.cross_writes(records, lifetimes, T0 + 5, T0 + 60)["total"] == 2  # the window
    only_v = judge.cross_writes(records, lifetimes, T0, T0 + 60, names=lambda n: n == "v")
    assert only_v["total"] == 2 and only_v["accepted_to_live_owners"] == 0
    # The HA checker reads the same attribution: two accepted writes to live owners, one refused claim.
    report_ = check(records, lifetimes)
    assert [(r["verb"], r["name"]) for r in report_.writes_to_live_owners] == [("patch", "a"), ("delete", "a")]
    assert report_.refused_claims == 1


def test_claims_of_a_dead_scheduler_count_double_wins_and_redundant_deletes() -> None:
    log = [
        rec(1, "create", "p1", "victim", 201),
        rec(1, "create", "p2", "victim", 201),
        rec(1, "create", "p3", "victim", 201),
        rec(1, "create", "other", "s1", 201),
        rec(10, "patch", "p1", "s2", 200),  # blind relabels: both "win" p1
        rec(10.5, "patch", "p1", "s3", 200),
        rec(11, "delete", "p1", "s3", 200),
        rec(11.5, "delete", "p1", "s2", 404),
        rec(12, "patch", "p2", "s2", 200),  # compare-and-swap: one wins, the other is refused
        rec(12.1, "patch", "p2", "s3", 422),
        rec(13, "delete", "p2", "s2", 200),
        rec(14, "patch", "other", "s2", 200),  # not the victim's
    ]
    records = judge.attribute(log, resolve)
    claims = judge.claims_of(records, "9", T0 + 5)
    out = claims.summary()
    assert out["pods"] == 3 and out["claims_won"] == 3 and out["pods_claimed_twice"] == 1
    assert out["refused_claims"] == 1 and out["deletes"] == 3
    assert out["redundant_writes"] == 2  # p1's second claim and its second delete
    assert out["claims_won_per_pod"] == 1.0 and out["pods_by_claims_won"] == {"1": 1, "2": 1}
    assert judge.seconds(T0 + 5, claims.first) == 5.0 and judge.seconds(T0 + 5, claims.last) == 7.0
    assert judge.claims_of(records, "9", T0 + 12).claims_won == {"p2": 1}  # only what came after `since`


def test_requests_bytes_duplicates_and_task_instances() -> None:
    log = [
        rec(1, "create", "a", "s1", 201, 900),
        rec(2, "delete", "a", "s1", 200, 800),
        rec(2, "list", "", "s2", 200, 300),
        rec(3, "get", "", "api-server", 200, 50),  # not a scheduler
    ]
    records = judge.attribute(log, resolve)
    out = judge.requests_by_verb(records, T0, T0 + 10)
    assert out["by_verb"] == {"create": 1, "delete": 1, "list": 1}
    assert out["by_verb_resource"] == {"create pods": 1, "delete pods": 1, "list pods": 1}
    assert judge.per_task(out["by_verb"], 2) == {"create": 0.5, "delete": 0.5, "list": 0.5}
    assert judge.response_bytes(records, T0, T0 + 10) == 2050
    assert judge.response_bytes(records, T0, T0 + 10, job="1") == 1700
    assert judge.created_twice([*records, *judge.attribute([rec(4, "create", "a", "s2", 201)], resolve)]) == 1

    lines = ["0 1", "1 1", "1 2", "3 1", ""]
    assert judge.duplicate_runs(lines, 4) == {"tasks_run_twice_or_more": 1, "tasks_never_run": 1, "runs": 4}
    rows = [
        {"state": "success", "try_number": 1},
        {"state": "success", "try_number": 2},
        {"state": "failed", "try_number": 1},
    ]
    assert judge.ti_summary(rows) == {"task_instances": 3, "by_state": {"success": 2, "failed": 1}, "tries_above_1": 1}


def test_log_times_reads_airflow_lines_only() -> None:
    text = (
        "2026-01-01T00:00:05.500000Z [info     ] Exited execute loop  [airflow.jobs]\n"
        "  a traceback line mentioning Exited execute loop\n"
        "2026-01-01T00:00:09.000000Z [info     ] something else\n"
    )
    assert log_times(text, "Exited execute loop") == [pytest.approx(T0 + 5.5)]


def test_dag_sources_are_python_and_pods_share_the_dag_prefix(tmp_path: Path) -> None:
    plain = dag_source("af_steady", 5, 1.0, tmp_path / "effects.txt")
    gated = dag_source("af_race", 5, 1.0, tmp_path / "effects.txt", tmp_path / "gate" / "open", slots=4)
    ast.parse(plain)
    ast.parse(gated)
    assert "pod_override" not in plain and "pod_override" in gated and "flock" in gated and "% 4" in gated
    assert prefix("af_race") == "af-race-work-"


RESULTS: dict[str, Any] = {
    "executors": {
        "provider-10.17": {
            "steady": {
                "cross_writes": {"patch": 12, "delete": 30, "total": 42},
                "requests_per_task": {"create": 1.0, "delete": 3.0, "list": 0.2, "get": 0.01},
                "cpu_s_per_task": 0.5,
                "pods_left": 0,
            },
            "race": {"claims": {"claims_won_per_pod": 2.0, "redundant_writes": 400}},
            "db": {
                "cross_writes_during_outage": {"to_live_owners": 7},
                "cross_writes_whole_run": {"to_live_owners": 19},
            },
            "kill": {"error": "AirflowError: timed out\nlogs..."},
        },
        "podherd": {
            "steady": {
                "cross_writes": {"patch": 0, "delete": 0, "total": 0},
                "requests_per_task": {"create": 1.0, "delete": 1.0},
                "cpu_s_per_task": 0.3,
                "pods_left": 0,
            },
            "kill": {"first_claim_s": 31.2, "victim_tasks_done_s": 40.0, "tasks_run_twice_or_more": 0, "pods_left": 0},
            "db": {
                "cross_writes_during_outage": {"to_live_owners": 0},
                "cross_writes_whole_run": {"to_live_owners": 0},
            },
            "race": {"claims": {"claims_won_per_pod": 1.0, "redundant_writes": 0}},
        },
    },
    "sweep": {
        "pods": 10_000,
        "executors": {
            "podherd": {"bytes": 123_456, "cpu_ms": 80.0},
            "provider-10.17": {"bytes": 9_000_000, "cpu_ms": 4000.0},
        },
    },
}


def test_summary_table_puts_podherd_beside_each_provider() -> None:
    table = report.summary_markdown(RESULTS)
    lines = table.splitlines()
    assert lines[0] == "| scenario | figure | podherd | provider 10.17.0 |"
    assert len(lines) == 2 + len(report.ROWS)
    rows = {line.split(" | ")[1]: line for line in lines[2:]}
    assert rows["cross-scheduler PATCH / DELETE"].endswith("| **0 / 0** | 12 / 30 |")
    assert "| **2.0: create 1.0, delete 1.0** | 4.2: delete 3.0, create 1.0, list 0.2 |" in table
    assert rows["first claim / all its tasks done, s after the kill"].endswith("| **31.2 / 40.0** | - / - |")
    assert rows["claims won per pod / redundant writes"].endswith("| **1.00 / 0** | 2.00 / 400 |")
    assert "| sweep, 10,000 pods | KB received / client CPU ms per sweep | **123 / 80** | 9000 / 4000 |" in table
    assert rows["writes to live schedulers' pods: during the outage / whole scenario"].endswith(
        "| **0 / 0** | 7 / 19 (its sweeps always take every pod not its own) |"
    )


def test_detail_tables_show_a_failed_scenario_instead_of_hiding_it() -> None:
    rows = report.detail_rows(RESULTS, "kill", report.DETAILS["kill"][1])
    assert rows[0][0] == "podherd" and rows[0][4] == "31.2"
    assert rows[1][:2] == ["provider 10.17.0", "error: AirflowError: timed out"]


def test_quick_never_writes_into_the_published_results(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import airflow_bench

    monkeypatch.setattr(airflow_bench.tempfile, "mkdtemp", lambda prefix: f"/nonexistent/{prefix}x")
    quick = airflow_bench.parse_args(["--quick"])
    assert quick.out == Path("/nonexistent/podherd-airflow-x") and quick.tasks == 9 and quick.threshold == 15
    full = airflow_bench.parse_args([])
    assert full.out == airflow_bench.RESULTS and (full.tasks, full.race_pods, full.sweep_pods) == (200, 200, 10_000)
    assert full.executor_list == ["podherd", "provider-10.25", "provider-10.17"]
    assert airflow_bench.parse_args(["--quick", "--out", "/tmp/x", "--tasks", "12"]).tasks == 12
    with pytest.raises(SystemExit):
        airflow_bench.parse_args(["--outage", "40"])  # a threshold of 30 s would make live schedulers look dead
