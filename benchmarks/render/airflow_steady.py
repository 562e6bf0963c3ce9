"""Block from `airflow-steady/airflow.json`: the Airflow benchmark's steady-state scenario alone.

Per-task cost inside Airflow (issue 14 item 4): scheduler CPU per task and API requests per task of
podherd's executor beside the provider's, same Airflow, same cluster, same load. Registered once
that file is committed (`python benchmarks/airflow_bench.py --scenarios steady --out
benchmarks/results/airflow-steady`); the whole side-by-side run is `airflow.json`.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.airflowbench.report import DETAILS, HEADS, columns, detail_rows, setup_text
from benchmarks.render.common import RESULTS, Renderer, load, paragraphs, provenance

NAME = "airflow-steady/airflow"


def steady(results: Path, link: str) -> str:
    doc = load(results, NAME)
    _title, fields = DETAILS["steady"]
    heads = ["executor", *(name for name, _cell in fields)]
    rows = detail_rows(doc, "steady", fields)
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    ran = ", ".join(HEADS[k] for k in columns(doc))
    return paragraphs(
        setup_text(doc) + f" Only the steady-state scenario, for {ran}.",
        "\n".join(lines),
        provenance(doc, NAME, link),
    )


BLOCKS: dict[str, Renderer] = {"airflow-steady": steady} if (RESULTS / f"{NAME}.json").is_file() else {}
