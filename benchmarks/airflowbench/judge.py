"""Pure judging: audit records and database rows in, the benchmark's figures out (no I/O).

Every request is first attributed to the scheduler job that sent it (`attribute`, with a resolver
from fleet.py). A pod's owner is then replayed from the log exactly as tests/ha/invariants.py does
it: its creator (the `201` create), until another scheduler's accepted PATCH claims it. On that
basis:

- a **cross-scheduler write** is a PATCH, PUT or DELETE of a pod by a scheduler that is not its
  owner at that moment; it is **to a live owner** when the owner's process was still running;
- a **claim** is an accepted PATCH of a pod by a scheduler that did not own it; a **refused claim**
  is one the server answered 409/422/404 (the conditional claim that lost: it changed nothing);
- a **duplicate run** is a task whose body ran more than once (the side-effect file: one line per run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tests.ha.invariants import Lifetime, audit_time

Record = dict[str, Any]
WRITES = ("patch", "update", "delete")


def attribute(records: Iterable[Record], resolve: Callable[[Record], str | None]) -> list[Record]:
    """Records in time order, each with `t` (Unix time) and `job` (the sending scheduler's job id, or None).

    A scheduler's record also gets the User-Agent `airflow-bench (replica <job>)`, the form
    tests/ha/invariants.py reads, so its checker judges the provider's requests too.
    """
    out = []
    for rec in records:
        job = resolve(rec)
        new = {**rec, "t": audit_time(rec["time"]), "job": job}
        if job is not None:
            new["userAgent"] = f"airflow-bench (replica {job})"
        out.append(new)
    out.sort(key=lambda r: r["t"])
    return out


def accepted(rec: Record) -> bool:
    return 200 <= int(rec.get("code") or 0) < 300


def is_pod(rec: Record) -> bool:
    return rec.get("resource") == "pods" and not rec.get("subresource")


@dataclass(frozen=True)
class PodRequest:
    rec: Record
    owner: str | None  # the pod's owner when the request was made (before it took effect)


def with_owners(records: Iterable[Record]) -> Iterator[PodRequest]:
    """Every pod request (in time order) with the pod's owner at that moment."""
    owner: dict[tuple[str, str], str] = {}
    for rec in records:
        if not is_pod(rec):
            continue
        key = (rec.get("namespace", ""), rec.get("name", ""))
        before = owner.get(key)
        yield PodRequest(rec, before)
        job = rec.get("job")
        if job is None or not accepted(rec):
            continue
        if rec["verb"] == "create" or (rec["verb"] == "patch" and before is not None and before != job):
            owner[key] = job


def creators(records: Iterable[Record]) -> dict[str, str]:
    """Pod name -> the job whose create was accepted (the last one, if a name was created twice)."""
    return {
        r["name"]: r["job"]
        for r in records
        if is_pod(r) and r["verb"] == "create" and r.get("code") == 201 and r.get("job")
    }


def cross_writes(
    records: Iterable[Record],
    lifetimes: Mapping[str, Lifetime],
    start: float,
    end: float,
    names: Callable[[str], bool] = lambda _n: True,
) -> dict[str, Any]:
    """Cross-scheduler writes made in [start, end] on pods whose name passes `names`."""
    by_verb: Counter[str] = Counter()
    to_live: Counter[str] = Counter()
    accepted_to_live = 0
    outcomes: Counter[str] = Counter()
    for req in with_owners(records):
        rec, owner = req.rec, req.owner
        job = rec.get("job")
        if rec["verb"] not in WRITES or job is None or owner is None or owner == job:
            continue
        if not (start <= rec["t"] <= end and names(rec.get("name", ""))):
            continue
        by_verb[rec["verb"]] += 1
        outcomes[f"{rec['verb']} {rec['code']}"] += 1
        life = lifetimes.get(owner)
        if life is not None and life.alive_at(rec["t"]):
            to_live[rec["verb"]] += 1
            accepted_to_live += accepted(rec)
    return {
        "patch": by_verb["patch"],
        "delete": by_verb["delete"],
        "update": by_verb["update"],
        "total": sum(by_verb.values()),
        "to_live_owners": sum(to_live.values()),
        "to_live_by_verb": dict(to_live),
        "accepted_to_live_owners": accepted_to_live,
        "outcomes": dict(sorted(outcomes.items())),
    }


def requests_by_verb(records: Iterable[Record], start: float, end: float) -> dict[str, Any]:
    """Kubernetes API requests by the schedulers in [start, end]: by verb, and by verb and resource."""
    verbs: Counter[str] = Counter()
    detail: Counter[str] = Counter()
    for rec in records:
        if rec.get("job") is None or not start <= rec["t"] <= end:
            continue
        verbs[rec["verb"]] += 1
        what = rec.get("resource") or rec.get("path", "")
        if rec.get("subresource"):
            what += "/" + rec["subresource"]
        detail[f"{rec['verb']} {what}"] += 1
    return {"by_verb": dict(sorted(verbs.items())), "by_verb_resource": dict(sorted(detail.items()))}


def per_task(counts: Mapping[str, int], tasks: int) -> dict[str, float]:
    return {k: round(v / tasks, 2) for k, v in counts.items()} if tasks else {}


def response_bytes(records: Iterable[Record], start: float, end: float, job: str | None = None) -> int:
    return sum(
        int(r.get("responseBytes") or 0)
        for r in records
        if start <= r["t"] <= end and (job is None or r.get("job") == job)
    )


@dataclass(frozen=True)
class Claims:
    """What survivors did to a dead scheduler's pods, per pod."""

    pods: int
    claims_won: Counter[str]  # pod -> accepted claims (PATCH by a scheduler that did not own it)
    refused: int  # claims the server refused (a lost compare-and-swap), all pods
    deletes: Counter[str]  # pod -> DELETE requests (any answer)
    first: float | None  # time of the first accepted claim
    last: float | None

    @property
    def pods_claimed_twice(self) -> int:
        return sum(1 for n in self.claims_won.values() if n > 1)

    @property
    def redundant_writes(self) -> int:
        """Accepted claims beyond one per pod, plus DELETEs beyond one per pod."""
        extra_claims = sum(n - 1 for n in self.claims_won.values() if n > 1)
        return extra_claims + sum(n - 1 for n in self.deletes.values() if n > 1)

    def summary(self) -> dict[str, Any]:
        per_pod = Counter(self.claims_won.get(p, 0) for p in self.deletes.keys() | self.claims_won.keys())
        return {
            "pods": self.pods,
            "claims_won": sum(self.claims_won.values()),
            "claims_won_per_pod": round(sum(self.claims_won.values()) / self.pods, 2) if self.pods else None,
            "pods_by_claims_won": {str(k): v for k, v in sorted(per_pod.items())},
            "pods_claimed_twice": self.pods_claimed_twice,
            "refused_claims": self.refused,
            "deletes": sum(self.deletes.values()),
            "redundant_writes": self.redundant_writes,
        }


def claims_of(
    records: Iterable[Record], victim: str, since: float, names: Callable[[str], bool] = lambda _n: True
) -> Claims:
    """Claims and deletes, after `since`, of the pods scheduler `victim` created (whose name passes `names`)."""
    records = list(records)
    made = {name for name, job in creators(records).items() if job == victim and names(name)}
    won: Counter[str] = Counter()
    deletes: Counter[str] = Counter()
    refused = 0
    times: list[float] = []
    for req in with_owners(records):
        rec = req.rec
        name, job = rec.get("name", ""), rec.get("job")
        if name not in made or job is None or job == victim or rec["t"] < since:
            continue
        if rec["verb"] == "patch" and req.owner != job:
            if accepted(rec):
                won[name] += 1
                times.append(rec["t"])
            else:
                refused += 1
        elif rec["verb"] == "delete":
            deletes[name] += 1
    return Claims(len(made), won, refused, deletes, min(times, default=None), max(times, default=None))


def created_twice(records: Iterable[Record], names: Callable[[str], bool] = lambda _n: True) -> int:
    """Pod names accepted by more than one create (DESIGN §4.11)."""
    made = Counter(r["name"] for r in records if is_pod(r) and r["verb"] == "create" and r.get("code") == 201)
    return sum(1 for name, n in made.items() if n > 1 and names(name))


def runs(effect_lines: Iterable[str]) -> Counter[int]:
    """Task body runs per map index, from the side-effect file (`<map index> <try>` a line)."""
    return Counter(int(line.split()[0]) for line in effect_lines if line.strip())


def duplicate_runs(effect_lines: Iterable[str], tasks: int) -> dict[str, int]:
    seen = runs(effect_lines)
    return {
        "tasks_run_twice_or_more": sum(1 for i in range(tasks) if seen[i] > 1),
        "tasks_never_run": sum(1 for i in range(tasks) if seen[i] == 0),
        "runs": sum(seen.values()),
    }


def ti_summary(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    rows = list(rows)
    return {
        "task_instances": len(rows),
        "by_state": dict(Counter(str(r["state"]) for r in rows)),
        "tries_above_1": sum(1 for r in rows if (r["try_number"] or 0) > 1),
    }


def seconds(a: float | None, b: float | None) -> float | None:
    return round(b - a, 2) if a is not None and b is not None else None
