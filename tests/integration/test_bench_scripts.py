"""Smoke tests: the benchmarks still run end to end at tiny sizes and report every number.

Benchmarks measure; these tests only check shape and exact counts (keys present, every task
done, every pod accounted for). No timing is asserted: the machines are shared and noisy.
The audit-log judge of the thrash benchmark is also checked on a hand-written log.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from benchmarks import cluster_bench, race, replica_profile, scale, sweep_cost, thrash, throughput
from benchmarks.render import scale as scale_block
from benchmarks.render import sweep_cost as sweep_cost_block
from benchmarks.render import thrash as thrash_block
from benchmarks.render import throughput as throughput_block
from podherd.cli import app

pytestmark = pytest.mark.integration
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def on_disk(tmp_path: Path, name: str, results: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads((tmp_path / f"{name}.json").read_text())
    assert doc == json.loads(json.dumps(results))
    assert doc["machine"]["nproc"] >= 1 and doc["machine"]["python"]
    assert f"python benchmarks/{name}.py" in (tmp_path / f"{name}.md").read_text()
    assert (tmp_path / f"{name}.png").is_file() == HAS_MATPLOTLIB
    return doc


def test_thrash_tiny_run_kills_one_replica_and_races_the_survivors(tmp_path: Path) -> None:
    argv = ["--replicas", "3", "--policies", "podherd", "--rate", "5", "--duration", "3", "--drain", "4"]
    argv += ["--threshold", "1.5", "--heartbeat", "0.25", "--sweep-interval", "1", "--race-pods", "20"]
    doc = on_disk(tmp_path, "thrash", thrash.main([*argv, "--out", str(tmp_path)]))
    [run] = doc["runs"]
    assert run["spec"]["policy"] == "podherd" and run["spec"]["replicas"] == 3
    for key in ("patch_per_min", "delete_per_min", "redundant_writes", "pods_left", "takeover_first_s"):
        assert key in run
    assert run["victim"] in run["replica_ids"] and run["kill_offset_s"] is not None
    assert sum(run["tasks"].values()) == run["tasks_submitted"] and run["delete_requests"] > 0
    race = run["race"]
    assert race["pods"] == 20 and race["survivors"] == 2
    assert race["successful_claims"] == 20 and race["extra_claims"] == 0  # CAS: exactly one winner per pod
    assert "Claim race" in (tmp_path / "thrash.md").read_text()
    block = thrash_block.tables(tmp_path, ".")  # the docs' renderer reads what the script writes today
    assert "| podherd | 3 |" in block and "**Claim race.**" in block and "(./thrash.json)" in block
    assert "`podherd` **0**" in thrash_block.headline(doc)[1]


def test_race_tiny_run_reports_every_invariant_figure(tmp_path: Path) -> None:
    doc = on_disk(
        tmp_path, "race", race.main(["--runs", "1", "--pods", "12", "--db", "sqlite", "--out", str(tmp_path)])
    )
    [run] = doc["runs"]["sqlite"]
    assert run["pods"] == 12 and run["succeeded"] == 12 and run["claims_won"] == 12
    for key in race.MUST_BE_ZERO:
        assert run[key] == 0, key
    assert run["ok"] and doc["summary"]["sqlite"]["passed"] == 1 and doc["stress"] is True


def test_replica_profile_tiny_run_reports_every_thread_and_step(tmp_path: Path) -> None:
    doc = replica_profile.main(["--tasks", "20", "--label", "smoke", "--out", str(tmp_path)])
    run = json.loads((tmp_path / "profile-smoke.json").read_text())["run"]
    assert run == json.loads(json.dumps(doc["run"]))
    assert {"loop (MainThread)", "podherd-create", "podherd-cleanup"} <= set(run["threads_ms_per_task"])
    assert {"loop step (all of it)", "claim queued tasks", "executor sync"} <= set(run["steps_ms_per_task"])
    assert run["loops"] > 0 and run["replica_ms_per_task"] > 0
    assert replica_profile.parse_args(["--quick"]).out != replica_profile.RESULTS


@pytest.mark.parametrize("script", [race, thrash, sweep_cost, throughput, cluster_bench], ids=lambda m: m.__name__)
def test_quick_never_writes_into_the_published_results(script: Any, tmp_path: Path) -> None:
    args = script.parse_args(["--quick"])
    assert args.out != script.RESULTS and args.out.is_dir() and not any(args.out.iterdir())
    args.out.rmdir()
    assert script.parse_args(["--quick", "--out", str(tmp_path)]).out == tmp_path
    assert script.parse_args([]).out == script.RESULTS


def rec(t: float, verb: str, name: str, replica: str, code: int) -> dict[str, Any]:
    stamp = f"2026-01-01T00:00:{t:09.6f}Z"
    ua = f"podherd/0.1.0 (replica {replica})"
    return {
        "time": stamp,
        "verb": verb,
        "resource": "pods",
        "namespace": "default",
        "name": name,
        "code": code,
        "userAgent": ua,
    }


def test_thrash_judge_counts_redundant_writes_and_takeover() -> None:
    t0 = 1767225600.0  # 2026-01-01T00:00:00Z
    log = [
        rec(1, "create", "a", "1", 201),
        rec(1, "create", "b", "2", 201),
        rec(1, "create", "v", "3", 201),
        rec(2, "patch", "a", "2", 200),  # 2 relabels alive 1's pod: redundant
        rec(3, "delete", "a", "2", 200),  # 2 now owns it: fine
        rec(4, "delete", "b", "2", 200),  # own pod
        rec(6, "patch", "v", "1", 200),  # replica 3 was killed at 5: takeover after 1 s
        rec(6.5, "patch", "v", "2", 200),  # a blind second claim of what alive 1 now owns: redundant (once)
        rec(7, "patch", "v", "1", 422),  # a lost CAS: failed, not a write
    ]
    out = thrash.judge(log, t0, t0 + 60, "3", t0 + 5)
    assert out["patch_requests"] == 4 and out["delete_requests"] == 2
    assert out["writes_to_alive_owners"] == 2  # a by 2 (owner 1 alive), v by 2 (owner 1 alive by then)
    assert out["extra_claims"] == 1 and out["redundant_writes"] == 2
    assert out["failed_writes"] == {"patch 422": 1}
    assert out["victim_pods_at_kill"] == 1 and out["takeover_first_s"] == pytest.approx(1.0)
    assert out["patch_per_min"] == 4.0


def test_sweep_cost_tiny_run(tmp_path: Path) -> None:
    doc = on_disk(tmp_path, "sweep_cost", sweep_cost.main(["--sizes", "200", "--repeats", "1", "--out", str(tmp_path)]))
    [size] = doc["sizes"]
    assert size["pods"] == 200 and set(size["ways"]) == set(sweep_cost.WAYS)
    mix = [sweep_cost.mix(i) for i in range(200)]
    not_mine_succeeded = sum(1 for owner, phase in mix if owner != sweep_cost.ME and phase == "Succeeded")
    dead_terminal = sum(1 for owner, phase in mix if owner in sweep_cost.DEAD and phase != "Running")
    assert size["ways"]["models"]["items"] == size["ways"]["metadata"]["items"] == not_mine_succeeded
    assert size["ways"]["podherd"]["items"] == dead_terminal  # the claims podherd would make
    for way in size["ways"].values():
        assert way["bytes"] > 0 and way["tracemalloc_peak_mb"] > 0 and len(way["samples_ms"]) == 1
    assert set(size["ratio_a_over_c"]) == {"time", "bytes", "tracemalloc_peak"}
    block = sweep_cost_block.tables(tmp_path, ".")  # the docs' renderer reads what the script writes today
    assert "| 200 | (c) podherd |" in block and "At 200 pods" in block and "dirty flag not recorded" not in block
    assert "the time, " in sweep_cost_block.headline(doc)[1]


def test_throughput_tiny_run(tmp_path: Path) -> None:
    argv = ["--tasks", "40", "--replicas", "1", "--parallelism", "8", "--out", str(tmp_path)]
    doc = on_disk(tmp_path, "throughput", throughput.main(argv))
    [run] = doc["runs"]
    ph, limit = run["podherd"], run["limit"]
    assert ph["tasks_by_state"]["success"] == 40 and ph["tasks_done"] == 40 and ph["pods_left"] == 0
    assert limit["tasks_done"] == 40 and limit["pods_left"] == 0 and limit["window"] == 8
    assert limit["api_writes_by_kind"] == {"create pods": 40, "delete pods": 40}
    assert ph["api_writes_by_kind"]["create pods"] == 40 and ph["api_writes_by_kind"]["delete pods"] == 40
    for key in ("tasks_per_min_sustained", "latency_p50_ms", "latency_p99_ms", "loop_p99_ms_max", "peak_rss_mb_max"):
        assert key in ph
    assert ph["per_replica"][0]["loop"]["loops"] > 0 and "ratio_tasks_per_min" in run
    block = throughput_block.tables(tmp_path, ".")  # the docs' renderer reads what the script writes today
    assert "| podherd R=1 |" in block and "| limit, 8 in flight |" in block and "capped by the slots" in block
    assert "start-up" not in block  # CPU is counted from readiness: no note about an older file
    assert "at parallelism 8 both clients are capped by the slots" in throughput_block.headline(doc, None)[1]


def test_podherd_bench_forwards_options_to_the_script(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "sweep", "--sizes", "50", "--repeats", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "sweep_cost.json").read_text())["sizes"][0]["pods"] == 50
    bad = CliRunner().invoke(app, ["bench", "sweep", "--no-such-option"])
    assert bad.exit_code == 2


def test_every_bench_command_reaches_its_script() -> None:
    from podherd.commands.bench import SCRIPTS

    for name, script in SCRIPTS.items():
        result = CliRunner().invoke(app, ["bench", name, "--script-help"])
        assert result.exit_code == 0 and f"podherd bench {name}" in result.output, (name, result.output)
        assert callable(importlib.import_module(f"benchmarks.{script}").main)


SCALE_FIGURES = (
    "replica_mb_per_10k", "watch_cache_mb_per_10k", "takeover_mb_per_10k", "replica_peak_rss_mb", "server_rss_mb",
    "server_mb_per_10k", "server_all_running_s", "db_all_running_s", "creates_per_s", "server_cpu_share",
    "watch_lag_p99_ms", "db_write_p99_ms", "loop_p99_le_s", "sweep_ms", "sweep_bytes", "sweep_requests",
    "relist_ms", "relist_bytes", "first_claim_s", "last_claim_s", "claims_per_s", "claims_bucket_share",
)  # fmt: skip


def test_scale_tiny_run_reports_every_figure(tmp_path: Path) -> None:
    argv = ["--sizes", "300", "--orphans", "100", "--heartbeat", "0.5", "--threshold", "3", "--repeats", "1"]
    doc = on_disk(tmp_path, "scale", scale.main([*argv, "--out", str(tmp_path)]))
    [step], [row] = doc["steps"], doc["summary"]
    assert step["completed"] and row["completed"] and step["shares"] == {"a": 100, "b": 100, "victim": 100}
    assert row["held"] == {"a": 100, "b": 100, "victim": 100} and step["audit"]["pods_created"] == 300
    for key in SCALE_FIGURES:
        assert row[key] is not None, key
    assert (
        row["sweep_requests"] == 10 and row["sweep_pods"] == 0 and row["relist_pods"] == 20
    )  # 100 pods / 5 namespaces
    assert row["orphans"] == row["claims_won"] == 100 and sum(row["claimed_by"].values()) == 100
    assert step["after_takeover"]["held"]["victim"] == 0 and step["watch_lag"]["pods"] == 20
    assert row["invariants"] == {"duplicate_creates": 0, "writes_to_live_owners": 0, "refused_claims": 0}
    limits = doc["limits"]["limits"]
    assert [lim["name"] for lim in limits] == [lim.name for lim in scale.LIMITS]
    assert all("300" in lim["values"] for lim in limits)
    assert "| limit |" in (tmp_path / "scale.md").read_text()
    block = scale_block.summary(tmp_path, ".")  # registered for the docs once benchmarks/results/scale.json exists
    assert "| 300 |" in block and "| replica memory |" in block and "(./scale.json)" in block


def test_scale_quick_never_writes_into_the_published_results(tmp_path: Path) -> None:
    args = scale.parse_args(["--quick"])
    assert args.out != scale.RESULTS and args.out.is_dir() and not any(args.out.iterdir())
    assert args.size_list == [1500, 3000]
    assert scale.parse_args(["--quick", "--out", str(tmp_path)]).out == tmp_path
    assert scale.parse_args([]).out == scale.RESULTS and scale.parse_args([]).size_list == [
        10_000,
        25_000,
        50_000,
        100_000,
    ]
