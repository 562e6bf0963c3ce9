"""Running the real kubectl against a local cluster: the helper the kubectl-driven test modules share."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from podherd.localcluster.apiserver.server import LocalCluster

KUBECTL = shutil.which("kubectl")
# CI sets PODHERD_REQUIRE_KUBECTL=1: there a missing kubectl fails these tests instead of skipping them.
needs_kubectl = pytest.mark.skipif(
    KUBECTL is None and os.environ.get("PODHERD_REQUIRE_KUBECTL") != "1", reason="kubectl is not installed"
)


def run_kubectl(
    cluster: LocalCluster, tmp: Path, *args: str, timeout: float = 30, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl ARGS with the cluster's kubeconfig and a private discovery cache; the finished process."""
    assert KUBECTL is not None, "kubectl is not installed"
    kc = cluster.config.kubeconfig
    assert kc is not None
    argv = [KUBECTL, "--kubeconfig", str(kc), "--cache-dir", str(tmp / "kcache"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=stdin)


def kubectl(cluster: LocalCluster, tmp: Path, *args: str, timeout: float = 30, stdin: str | None = None) -> str:
    """kubectl ARGS, which must succeed; its stdout."""
    p = run_kubectl(cluster, tmp, *args, timeout=timeout, stdin=stdin)
    assert p.returncode == 0, f"kubectl {' '.join(args)} failed ({p.returncode}): {p.stderr}"
    return p.stdout


def table_rows(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """`kubectl get` output split into its header and its rows by first column (columns split on 2+ spaces)."""
    import re

    lines = [line for line in text.splitlines() if line.strip()]
    split = [re.split(r"\s{2,}", line.strip()) for line in lines]
    return split[0], {row[0]: row for row in split[1:]}
