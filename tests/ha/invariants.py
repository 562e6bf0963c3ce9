"""The HA invariants, judged from the API server's audit log and the tasks' side-effect file.

One checker for every HA scenario (DESIGN §4 invariants 2, 6 and 11):

1. **No pod name is created twice**: at most one `201` create per pod name, whoever sent it.
2. **No write to a live replica's pod**: no accepted PATCH, PUT or DELETE by one replica on a
   pod whose owner, at that moment, is another replica that is still alive. The owner of a pod
   is its creator until another replica's accepted PATCH claims it. A replica is alive from its
   start until the harness signalled it. A *refused* conditional write (the loser of a claim
   race gets 409/422) changed nothing, so it is counted apart, as a lost race, not a violation.
3. **Every side effect exactly once**: each expected line appears once in the effects file.

Pure: records in, a report out; the tests and the race benchmark share it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Record = dict[str, Any]
UA_REPLICA = re.compile(r"\(replica (\d+)\)")
WRITE_VERBS = ("patch", "update", "delete")


def replica_of(rec: Record) -> str | None:
    """The replica id in a request's User-Agent (`podherd/<v> (replica <id>)`), if any."""
    m = UA_REPLICA.search(rec.get("userAgent", ""))
    return m.group(1) if m else None


def audit_time(text: str) -> float:
    """An audit record's `time` (request start, UTC) as a Unix timestamp."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Lifetime:
    """When a replica was alive: from its start until it was signalled (None: still running)."""

    start: float
    end: float | None = None

    def alive_at(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass
class Report:
    duplicate_creates: dict[str, int] = field(default_factory=dict)  # pod name -> 201 creates (> 1)
    writes_to_live_owners: list[Record] = field(default_factory=list)  # accepted writes, with "owner" added
    refused_claims: int = 0  # conditional writes on another replica's pod the server refused
    effects_wrong: dict[str, int] = field(default_factory=dict)  # expected effect -> times seen (!= 1)
    effects_unexpected: list[str] = field(default_factory=list)
    creates: int = 0
    writes_by_verb: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not (
            self.duplicate_creates or self.writes_to_live_owners or self.effects_wrong or self.effects_unexpected
        )

    def summary(self) -> str:
        """One readable paragraph for an assertion message."""
        parts = [
            f"{len(self.duplicate_creates)} pod names created twice {dict(list(self.duplicate_creates.items())[:5])}",
            f"{len(self.writes_to_live_owners)} writes to live replicas' pods "
            f"{[(r['verb'], r['name'], replica_of(r), r['owner'], r['code']) for r in self.writes_to_live_owners[:5]]}",
            f"{len(self.effects_wrong)} side effects not exactly once {dict(list(self.effects_wrong.items())[:5])}",
            f"{len(self.effects_unexpected)} unexpected side effects {self.effects_unexpected[:5]}",
        ]
        return "; ".join(parts)


def check(
    records: Iterable[Record],
    lifetimes: Mapping[str, Lifetime],
    effects: Iterable[str] | None = None,
    expected_effects: Iterable[str] | None = None,
) -> Report:
    """Judge one run. `lifetimes` maps replica ids to when they were alive."""
    report = Report()
    pods = sorted(
        (r for r in records if r.get("resource") == "pods" and not r.get("subresource")),
        key=lambda r: audit_time(r["time"]),
    )
    created: Counter[str] = Counter()
    owner: dict[tuple[str, str], str] = {}
    for rec in pods:
        key = (rec.get("namespace", ""), rec.get("name", ""))
        who = replica_of(rec)
        accepted = 200 <= int(rec.get("code") or 0) < 300
        if rec["verb"] == "create" and rec.get("code") == 201:
            created[key[1]] += 1
            report.creates += 1
            if who:
                owner[key] = who
            continue
        if rec["verb"] not in WRITE_VERBS or who is None:
            continue
        report.writes_by_verb[rec["verb"]] += 1
        current = owner.get(key)
        if current is None or current == who:
            continue
        life = lifetimes.get(current)
        alive = life is not None and life.alive_at(audit_time(rec["time"]))
        if not accepted:
            report.refused_claims += 1
            continue
        if alive:
            report.writes_to_live_owners.append({**rec, "owner": current})
        if rec["verb"] == "patch":
            owner[key] = who  # an accepted PATCH by another replica is a claim: the pod is theirs now
    report.duplicate_creates = {name: n for name, n in created.items() if n > 1}
    if expected_effects is not None:
        seen = Counter(effects or ())
        expected = set(expected_effects)
        report.effects_wrong = {e: seen[e] for e in sorted(expected) if seen[e] != 1}
        report.effects_unexpected = sorted(set(seen) - expected)
    return report
