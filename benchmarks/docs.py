"""Every number in the README and docs comes from a committed results file: this writes them there.

Documents hold generated blocks between two markers:

    <!-- generated: race-summary -->
    ...written by this script, never by hand...
    <!-- /generated -->

`python benchmarks/docs.py` rewrites every block from `benchmarks/results/`; `--check` only
compares and exits 1 naming the blocks that differ (a test runs it, so a table typed by hand or a
results file changed without regenerating fails the suite), and so does a registered block that
no document holds. Each block names the results file, the command, the commit and whether the
tree was dirty. Renderers live here or, one module per results file, in `benchmarks/render/`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/docs.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.render import airflow, cluster_bench, scale, summary, sweep_cost, thrash, throughput
from benchmarks.render.common import Renderer, load, provenance

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "performance.md")
BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)


def race_summary(results: Path, link: str) -> str:
    doc = load(results, "race")
    load_text = "a busy-loop process per core and 25 ms added to every API request" if doc["stress"] else "at rest"
    rows = [
        "| database | runs passed | pod names created twice | writes to live replicas' pods | side effects not exactly once | pods claimed twice | claims won / pods | redundant deletes | pods left |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for db, s in doc["summary"].items():
        rows.append(
            f"| {db} | **{s['passed']}/{s['runs']}** | {s['duplicate_creates']} | {s['writes_to_live_owners']} | "
            f"{s['effects_not_once']} | {s['pods_claimed_twice']} | {s['claims_won']}/{s['pods']} | "
            f"{s['redundant_deletes']} | {s['pods_left']} |"
        )
    intro = (
        f"The two-survivors race for {doc['pods']} completed pods, repeated under {load_text}, each run with "
        "a fresh cluster, database and replicas:\n\n"
    )
    return intro + "\n".join(rows) + "\n\n" + provenance(doc, "race", link)


def profile_before_after(results: Path, link: str) -> str:
    """The replica's CPU per task by thread and by loop step, before and after the issue-14 work."""
    before, after = load(results, "profile-before"), load(results, "profile-after")
    b, a = before["run"], after["run"]

    def rows(key: str) -> list[str]:
        names = list(dict.fromkeys([*b[key], *a[key]]))
        out = []
        for name in names:
            old, new = b[key].get(name), a[key].get(name)
            cells = [f"{v:.2f}" if v is not None else "-" for v in (old, new)]
            out.append(f"| {name.strip()} | {cells[0]} | {cells[1]} |")
        return out

    lines = [
        "| replica thread | before: CPU ms/task | after |",
        "|---|---|---|",
        *rows("threads_ms_per_task"),
        f"| **all replica threads** | **{b['replica_ms_per_task']:.2f}** | **{a['replica_ms_per_task']:.2f}** |",
        f"| loops per task | {b['loops_per_task']:.2f} | {a['loops_per_task']:.2f} |",
        "",
        "| loop-thread step | before: CPU ms/task | after |",
        "|---|---|---|",
        *rows("steps_ms_per_task"),
        "",
    ]
    return (
        "\n".join(lines)
        + "\n"
        + provenance(before, "profile-before", link)
        + "<br>\n"
        + provenance(after, "profile-after", link)
    )


RENDERERS: dict[str, Renderer] = {"race-summary": race_summary, "profile-before-after": profile_before_after}

# Some register their block only once their results file exists (scale, the Airflow blocks).
for _module in (summary, cluster_bench, thrash, sweep_cost, throughput, scale, airflow):
    RENDERERS.update(_module.BLOCKS)


def regenerate(text: str, results: Path, link: str) -> tuple[str, list[str]]:
    """The document with every generated block rewritten, and the names of blocks that changed."""
    changed: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in RENDERERS:
            raise KeyError(f"unknown generated block {name!r}; known: {', '.join(sorted(RENDERERS))}")
        body = RENDERERS[name](results, link)
        if body != m.group("body"):
            changed.append(name)
        return m.group(1) + body + m.group(4)

    return BLOCK.sub(repl, text), changed


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 if a block is out of date")
    ap.add_argument("--results", type=Path, default=RESULTS, help="results directory")
    args = ap.parse_args(argv)
    stale: list[str] = []
    unused = set(RENDERERS)
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        link = os.path.relpath(RESULTS, path.parent)
        new, changed = regenerate(text, args.results, link)
        stale += [f"{path.relative_to(ROOT)}: {name}" for name in changed]
        unused -= {m.group("name") for m in BLOCK.finditer(text)}
        if changed and not args.check:
            path.write_text(new, encoding="utf-8")
    if stale:
        print(("out of date: " if args.check else "rewrote: ") + ", ".join(stale))
    if unused:  # e.g. a results file committed (scale.json) without its block in a document
        print("no document holds these blocks: " + ", ".join(sorted(unused)))
    return 1 if (stale and args.check) or unused else 0


if __name__ == "__main__":
    sys.exit(main())
