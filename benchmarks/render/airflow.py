"""Blocks from the Airflow benchmark's results (`podherd bench airflow`, benchmarks/airflowbench/).

- `airflow-summary`, from `airflow.json`: the whole side-by-side run (issue 11), per scenario
  podherd's figure beside each provider's KubernetesExecutor;
- `airflow-steady`, from `airflow-steady/airflow.json`: the steady-state scenario alone, with its
  per-task cost (issue 14 item 4): scheduler CPU and API requests per task.

Each registers once its results file exists: the full run takes hours.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.airflowbench.report import DETAILS, HEADS, columns, detail_rows, setup_text, summary_markdown
from benchmarks.render.common import RESULTS, Renderer, load, paragraphs, provenance, table

FULL = "airflow"
STEADY = "airflow-steady/airflow"


def summary(results: Path, link: str) -> str:
    doc = load(results, FULL)
    return paragraphs(setup_text(doc), summary_markdown(doc), provenance(doc, FULL, link))


def steady(results: Path, link: str) -> str:
    doc = load(results, STEADY)
    _title, fields = DETAILS["steady"]
    heads = ["executor", *(name for name, _cell in fields)]
    ran = ", ".join(HEADS[k] for k in columns(doc))
    return paragraphs(
        setup_text(doc) + f" Only the steady-state scenario, for {ran}.",
        table(heads, detail_rows(doc, "steady", fields)),
        provenance(doc, STEADY, link),
    )


BLOCKS: dict[str, Renderer] = {
    name: render
    for name, render, file in (("airflow-summary", summary, FULL), ("airflow-steady", steady, STEADY))
    if (RESULTS / f"{file}.json").is_file()
}
