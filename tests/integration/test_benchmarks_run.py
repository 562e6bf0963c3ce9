"""Smoke test: the cluster benchmark runs end to end at a tiny size and reports every number.

Only shape and sanity are checked (keys present, counts exact, numbers positive); timings are
machine-dependent and deliberately not asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.cluster_bench import VARIANTS, WRITE_PATHS, main
from benchmarks.render import cluster_bench as cluster_bench_block

pytestmark = pytest.mark.integration


def test_cluster_bench_tiny_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--pods", "300", "--selected", "60", "--watchers", "2", "--events", "100"]
    argv += ["--repeats", "2", "--http-sample", "20", "--out", str(tmp_path)]
    results = main(argv)

    printed = capsys.readouterr().out
    assert "podherd local cluster benchmark" in printed
    assert "LIST owner=7" in printed and "Watch fan-out" in printed

    on_disk = json.loads((tmp_path / "cluster_bench.json").read_text())
    assert on_disk == json.loads(json.dumps(results))
    markdown = (tmp_path / "cluster_bench.md").read_text()
    assert "python benchmarks/cluster_bench.py --pods 300" in markdown
    assert "| variant |" in markdown

    assert on_disk["machine"]["nproc"] >= 1 and on_disk["machine"]["python"]

    load = on_disk["load"]
    assert load["pods_stored"] == 300
    assert load["http"]["pods"] == 20 and load["http"]["pods_per_s"] > 0
    assert load["in_process"]["pods"] == 280 and load["in_process"]["pods_per_s"] > 0
    assert load["pod_json_bytes"] > 0

    lst = on_disk["list"]
    assert set(lst["variants"]) == set(VARIANTS)
    for v in lst["variants"].values():
        assert v["items"] == 60
        assert v["median_ms"] > 0 and v["p90_ms"] > 0 and v["bytes"] > 0 and v["ratio_vs_full_raw"] > 0
        assert len(v["samples_ms"]) == 2
    assert lst["variants"]["full_raw"]["ratio_vs_full_raw"] == 1.0
    assert lst["variants"]["metadata_raw"]["bytes"] < lst["variants"]["full_raw"]["bytes"]
    for side in ("full", "metadata"):
        assert lst["server_side"][side]["list_body_median_ms"] > 0

    assert set(on_disk["watch"]) == set(WRITE_PATHS)
    for w in on_disk["watch"].values():
        assert w["delivered"] == w["expected"] == 200
        assert w["missing_total"] == 0
        assert w["delivered_events_per_s"] > 0 and w["generation_events_per_s"] > 0
        assert w["lag_p99_ms"] >= w["lag_p50_ms"] > 0
        assert len(w["per_watcher"]) == 2

    block = cluster_bench_block.summary(tmp_path, ".")  # the README's renderer reads what the script writes today
    assert "With 300 pods stored:" in block and "returning 60 pods" in block and "(./cluster_bench.json)" in block
