"""HA scenarios shared by the tests (which assert) and the benchmarks (which repeat and report).

Each takes a started `Harness` and returns plain figures; the caller decides what must hold.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from tests.ha.harness import Harness, effect_task


@dataclass
class RaceResult:
    pods: int  # completed pods of the dead replica the survivors raced for
    succeeded: int  # tasks that ended in success
    duplicate_creates: int  # pod names created more than once (must be 0)
    writes_to_live_owners: int  # accepted writes to a live replica's pod (must be 0)
    effects_not_once: int  # tasks whose side effect is missing or repeated (must be 0)
    claims_won: int  # accepted claim PATCHes on the dead replica's pods
    pods_claimed_twice: int  # pods with more than one accepted claim (must be 0)
    refused_claims: int  # conditional claims the server refused: the losers' one try each
    deletes: int  # pod DELETE requests
    redundant_deletes: int  # DELETEs that did not answer 200
    pods_left: int
    seconds: float  # survivors' start to the last task done

    def ok(self) -> bool:
        return (
            self.duplicate_creates == 0
            and self.writes_to_live_owners == 0
            and self.effects_not_once == 0
            and self.pods_claimed_twice == 0
            and self.redundant_deletes == 0
            and self.pods_left == 0
            and self.succeeded == self.pods
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok()}


def two_survivors_race(h: Harness, pods: int = 200, survivors: tuple[str, ...] = ("b", "c")) -> RaceResult:
    """A replica creates `pods` pods and is killed; they all complete; survivors race for them.

    The pods wait for a gate file, opened only after the kill, so every one of them completes while
    its owner is dead and the survivors find all of them at once. The cluster must run in process
    mode (`effect_task`), so each task leaves a side effect to count.
    """
    assert h.effects_path is not None and h.mode == "process"
    names = [f"r{i}" for i in range(pods)]
    gate = h.tmp / "gate"
    h.submit([effect_task(n, h.effects_path, seconds=0.5, gate=gate) for n in names])
    h.start_replica("dead", core__parallelism=str(pods))
    h.wait_for(lambda: len(h.creators()) == pods, 180, f"all {pods} pods created")
    dead = h.job_id("dead")
    h.kill("dead")
    gate.touch()
    h.wait_for(lambda: _completed(h) == pods, 180, "all pods completed")
    started = time.monotonic()
    for name in survivors:
        h.start_replica(name)
    counts = h.wait_all_terminal(timeout=300)
    seconds = time.monotonic() - started
    deadline = time.monotonic() + 60
    while h.pods() and time.monotonic() < deadline:
        time.sleep(0.2)
    records = h.audit()
    report = h.check_invariants(expected_effects=names)
    dead_pods = {name for (_ns, name), rid in h.creators(records).items() if rid == dead}
    wins = Counter(r["name"] for r in h.pod_patches(records) if r["code"] == 200 and r["name"] in dead_pods)
    deletes = [r for r in records if r["verb"] == "delete" and r["resource"] == "pods"]
    return RaceResult(
        pods=pods,
        succeeded=counts["success"],
        duplicate_creates=len(report.duplicate_creates),
        writes_to_live_owners=len(report.writes_to_live_owners),
        effects_not_once=len(report.effects_wrong) + len(report.effects_unexpected),
        claims_won=sum(wins.values()),
        pods_claimed_twice=sum(1 for n in wins.values() if n > 1),
        refused_claims=report.refused_claims,
        deletes=len(deletes),
        redundant_deletes=sum(1 for r in deletes if r["code"] != 200),
        pods_left=len(h.pods()),
        seconds=round(seconds, 2),
    )


def _completed(h: Harness) -> int:
    return sum(1 for p in h.pods() if p.status.phase in ("Succeeded", "Failed"))
