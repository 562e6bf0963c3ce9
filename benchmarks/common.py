"""What every benchmark script shares: client configuration, the results document, reports and plots."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kubernetes import client


def configuration(url: str, token: str, ca_file: str | None) -> client.Configuration:
    """An official-client configuration for a cluster (built in child processes, which only get the address)."""
    cfg = client.Configuration()
    cfg.host = url
    cfg.api_key = {"authorization": token}
    cfg.api_key_prefix = {"authorization": "Bearer"}
    if ca_file:
        cfg.ssl_ca_cert = ca_file
    return cfg


def output_dir(out: Path | None, quick: bool, name: str, published: Path) -> Path:
    """`--out` if given; else a new temporary directory for a `--quick` run (a quick run never
    overwrites the published results), else the published results directory."""
    if out is not None:
        return out
    return Path(tempfile.mkdtemp(prefix=f"podherd-{name}-")) if quick else published


def results_doc(script: str, argv: Sequence[str], quick: bool, **fields: Any) -> dict[str, Any]:
    """The start every results JSON shares: the exact command, the machine, the size."""
    from benchmarks.cluster_bench import machine_info

    return {
        "command": " ".join(["python", f"benchmarks/{script}.py", *argv]),
        "machine": machine_info(),
        "quick": quick,
        **fields,
    }


def header(results: dict[str, Any], title: str, markdown: bool) -> list[str]:
    """Title, exact command and machine lines of a report."""
    m = results["machine"]
    return [
        f"{'## ' if markdown else ''}{title}",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: nproc={m['nproc']}, {m['cpu_model'] or 'unknown CPU'}, Python {m['python']}, git {m['git_commit']}{' (dirty)' if m.get('git_dirty') else ''}, {m['date_utc']}",
        "",
    ]


def pyplot() -> Any | None:
    """matplotlib.pyplot on the Agg backend (files only, no display); None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'podherd[bench]'): no plot written", file=sys.stderr)
        return None
    return plt


def save_figure(plt: Any, fig: Any, title: str, path: Path) -> Path:
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def publish(
    results: dict[str, Any],
    name: str,
    out: Path,
    render: Callable[[dict[str, Any], bool], str],
    plot: Callable[[dict[str, Any], Path], Path | None],
) -> None:
    """Print the text report; write `<name>.json`, `<name>.md` and `<name>.png` into `out`."""
    print(render(results, False))
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path | None] = [out / f"{name}.json", out / f"{name}.md"]
    (out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / f"{name}.md").write_text(render(results, True), encoding="utf-8")
    paths.append(plot(results, out / f"{name}.png"))
    print("wrote " + ", ".join(str(p) for p in paths if p is not None))
