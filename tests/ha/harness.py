"""The HA tests' multi-process harness; it lives in `benchmarks/harness.py`, which the benchmarks drive too."""

from __future__ import annotations

from benchmarks.harness import HEARTBEAT, PODHERD, THRESHOLD, UA_REPLICA, Harness, base_env, sim_task

__all__ = ["HEARTBEAT", "PODHERD", "THRESHOLD", "UA_REPLICA", "Harness", "base_env", "sim_task"]
