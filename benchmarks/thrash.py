"""Thrash: what each adoption policy costs in API writes, and how fast a dead replica's work is taken over.

Issue 5 item 1. Airflow 10.15 swept "every completed pod not labelled with my id" (policy
`exclude-self`), so live replicas relabelled each other's pods forever; the seed (#66400)
scopes the sweep to dead replicas but still relabels blindly (`alive-scoped`); podherd adds
compare-and-swap claims and an immediate sweep when a sibling dies (`podherd`). This script
runs the same churn under each policy and reads every request from the cluster's audit log.

Per policy, everything is fresh and real: a `podherd cluster up` process (simulate kubelet,
audit log), one SQLite database, R `podherd scheduler` processes. Tasks are inserted at
`--rate` per second for `--duration` seconds; at `--kill-at` of the way the replica holding the most
pods gets a real SIGKILL (a replica holding none would leave nothing to take over). After `--drain` more seconds the window closes and the log is judged:

- PATCH/min, DELETE/min: pod PATCH / DELETE requests by any replica per minute of the window;
- redundant writes: successful claim PATCHes beyond the first per pod, plus successful writes to
  a pod whose current owner was alive at the time (owners replayed from the log), each request
  counted once; failed writes (a lost CAS claim's 422, a 404) are reported apart;
- pods left: pods still in the namespace when the window closes;
- takeover latency: first successful write by a survivor to a pod the killed replica owned,
  minus the kill time (and the same for the last of its pods, "takeover complete").

With R >= 3 a claim race follows each run: a replica is killed holding `--race-pods` completed
pods, and once it is dead R-1 survivors start together, so their first sweeps claim the same
pods at the same time (a blind relabel lets two of them "win" one pod; a CAS claim, one).

    python benchmarks/thrash.py              # R=3 and 5, 20 tasks/s for 60 s per policy (about 8 minutes)
    python benchmarks/thrash.py --quick      # R=2, short run, under a minute; results to a temporary directory
    python benchmarks/thrash.py --replicas 1,3,5 --policies podherd,exclude-self
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/thrash.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cluster_bench import fmt_table
from benchmarks.common import header, output_dir, publish, pyplot, results_doc, save_figure
from tests.ha.harness import Harness, Record, sim_task
from tests.ha.invariants import audit_time

RESULTS = Path(__file__).resolve().parent / "results"
POLICIES = ("exclude-self", "alive-scoped", "podherd")
FULL = {"replicas": "3,5", "rate": 20.0, "duration": 60.0, "drain": 10.0, "race_pods": 200}
QUICK = {"replicas": "2", "rate": 10.0, "duration": 5.0, "drain": 4.0, "race_pods": 0}


@dataclass(frozen=True)
class Spec:
    """One run: a policy, a replica count, and the workload every policy gets alike."""

    policy: str
    replicas: int
    rate: float
    duration: float
    drain: float
    task_seconds: float
    sweep_interval: float
    threshold: float
    heartbeat: float
    kill_at: float
    latency_ms: float
    parallelism: int
    race_pods: int


def start(spec: Spec, workdir: Path) -> Harness:
    """A fresh cluster process (with the added API latency) and DB; replicas get the spec's settings."""
    cluster_args = ("--fault", f"latency_ms={spec.latency_ms}") if spec.latency_ms else ()
    h = Harness(workdir, f"sqlite:///{workdir}/thrash.db", cluster_args=cluster_args)
    h.env = {
        "PODHERD__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": str(spec.heartbeat),
        "PODHERD__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": str(spec.threshold),
        "PODHERD__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": str(spec.sweep_interval),
        "PODHERD__SCHEDULER__ADOPTION_POLICY": spec.policy,
        "PODHERD__CORE__PARALLELISM": str(spec.parallelism),
    }
    try:
        h.start_cluster()
    except BaseException:
        h.stop()
        raise
    return h


def run(spec: Spec, workdir: Path) -> dict[str, Any]:
    """Start everything, feed tasks, kill one replica mid-run, then judge the audit log."""
    h = start(spec, workdir)
    victim: str | None = None
    kill_t: float | None = None
    try:
        for i in range(spec.replicas):
            h.start_replica(f"r{i}")
        ids = h.wait_registered()
        t0 = time.time()
        submitted = 0
        kill_due = t0 + spec.kill_at * spec.duration if spec.replicas >= 2 and spec.kill_at > 0 else None
        while (now := time.time()) < t0 + spec.duration:
            owed = int(spec.rate * (now - t0)) + 1 - submitted
            if owed > 0:
                h.submit([sim_task(f"t{submitted + j}", spec.task_seconds) for j in range(owed)])
                submitted += owed
            if kill_due is not None and kill_t is None and now >= kill_due and (name := busiest(h, ids)):
                victim, kill_t = ids[name], h.kill(name)
            time.sleep(0.1)
        time.sleep(max(0.0, t0 + spec.duration + spec.drain - time.time()))
        t_end = time.time()
        pods = h.pods()
        tasks = h.counts()
    finally:
        h.stop()
    result = judge(h.audit(), t0, t_end, victim, kill_t)
    left = Counter((p.metadata.labels or {}).get("podherd.io/owner", "?") for p in pods)
    result.update(
        spec=asdict(spec),
        replica_ids=sorted(ids.values(), key=int),
        victim=victim,
        tasks_submitted=submitted,
        tasks=tasks,
        pods_left=len(pods),
        pods_left_by_owner=dict(left),
    )
    return result


def race(spec: Spec, workdir: Path) -> dict[str, Any]:
    """A killed replica leaves `race_pods` completed pods; R-1 survivors start together once it is dead.

    Their first sweeps then run at the same time over the same pods: the case where a blind relabel
    lets two survivors both "win" a pod, and a compare-and-swap claim lets exactly one.
    """
    h = start(spec, workdir)
    try:
        h.submit([sim_task(f"race{i}", 2.0) for i in range(spec.race_pods)])  # long enough to create them all
        h.start_replica("victim", core__parallelism=str(spec.race_pods))
        victim = h.wait_registered()["victim"]
        h.wait_for(lambda: len(h.creators()) == spec.race_pods, 120, "every pod created")
        kill_t = h.kill("victim")
        h.wait_for(lambda: all(p.status.phase in ("Succeeded", "Failed") for p in h.pods()), 120, "pods to finish")
        completed = len(h.pods())  # all of them, unless the victim finished a few before it died
        time.sleep(max(0.0, kill_t + spec.threshold + spec.heartbeat - time.time()))  # dead for everyone
        t0 = time.time()
        for i in range(spec.replicas - 1):
            h.start_replica(f"s{i}")
        h.wait_all_terminal(timeout=120)
        deadline = time.monotonic() + spec.drain + 5
        while (left := len(h.pods())) and time.monotonic() < deadline:
            time.sleep(0.2)
        t_end = time.time()
    finally:
        h.stop()
    out = judge(h.audit(), t0, t_end, victim, t0)
    keep = ("successful_claims", "extra_claims", "writes_to_alive_owners", "redundant_writes", "failed_writes")
    return {"pods": completed, "survivors": spec.replicas - 1, "pods_left": left, **{k: out[k] for k in keep},
            "delete_requests": out["delete_requests"], "takeover_complete_s": out["takeover_complete_s"]}  # fmt: skip


def busiest(h: Harness, ids: dict[str, str]) -> str | None:
    """The replica holding the most pods now (None while none holds any): a kill must leave work to take over."""
    held = Counter((p.metadata.labels or {}).get("podherd.io/owner") for p in h.pods())
    name, pods = max(((name, held.get(rid, 0)) for name, rid in ids.items()), key=lambda x: x[1])
    return name if pods else None


def judge(records: list[Record], t0: float, t_end: float, victim: str | None, kill_t: float | None) -> dict[str, Any]:
    """Replay pod writes in log order, tracking each pod's current owner, and count what each write was."""
    owner: dict[tuple[str, str], str] = {}
    created_by: dict[tuple[str, str], str] = {}
    deleted_at: dict[tuple[str, str], float] = {}
    claims: Counter[tuple[str, str]] = Counter()
    first_takeover: dict[tuple[str, str], float] = {}
    patches = deletes = extra_claims = to_alive = redundant = 0
    failed: Counter[str] = Counter()
    patch_times: list[float] = []
    for rec in records:
        rid = Harness.replica_of(rec)
        if rec.get("resource") != "pods" or rid is None or rec["verb"] not in ("create", "patch", "delete"):
            continue
        key, t, code, verb = (rec["namespace"], rec["name"]), audit_time(rec["time"]), rec["code"], rec["verb"]
        if verb == "create":
            if code == 201:
                owner[key] = created_by[key] = rid
            continue
        patches += verb == "patch"
        deletes += verb == "delete"
        if verb == "patch":
            patch_times.append(round(t - t0, 3))
        if code >= 400:
            failed[f"{verb} {code}"] += 1
        if verb == "delete" and code == 200:
            deleted_at.setdefault(key, t)
        cur = owner.get(key)
        if cur is None or cur == rid or code >= 400:
            continue  # its own pod, or a write that did not happen (a lost CAS claim, a 404)
        extra = False
        if verb == "patch":
            claims[key] += 1
            extra = claims[key] > 1
            owner[key] = rid
        alive_owner = cur != victim or kill_t is None or t < kill_t  # a policy must never write here
        if not alive_owner:
            first_takeover.setdefault(key, t)
        extra_claims += extra
        to_alive += alive_owner
        redundant += alive_owner or extra
    minutes = (t_end - t0) / 60.0
    out: dict[str, Any] = {
        "window_s": round(t_end - t0, 2),
        "patch_requests": patches,
        "delete_requests": deletes,
        "patch_per_min": round(patches / minutes, 1),
        "delete_per_min": round(deletes / minutes, 1),
        "successful_claims": sum(claims.values()),
        "extra_claims": extra_claims,
        "writes_to_alive_owners": to_alive,
        "redundant_writes": redundant,
        "failed_writes": dict(failed),
        "failed_total": sum(failed.values()),
        "patch_times": patch_times,
    }
    out.update(takeover(created_by, deleted_at, first_takeover, victim, kill_t))
    out["kill_offset_s"] = None if kill_t is None else round(kill_t - t0, 3)
    return out


def takeover(
    created_by: dict[tuple[str, str], str],
    deleted_at: dict[tuple[str, str], float],
    first_takeover: dict[tuple[str, str], float],
    victim: str | None,
    kill_t: float | None,
) -> dict[str, Any]:
    """Latency from the kill to the first (and last) survivor write on the pods the victim still had."""
    if victim is None or kill_t is None:
        return {"kill_time": None, "victim_pods_at_kill": 0, "takeover_first_s": None, "takeover_complete_s": None}
    at_kill = [k for k, rid in created_by.items() if rid == victim and deleted_at.get(k, float("inf")) >= kill_t]
    taken = [first_takeover[k] for k in at_kill if k in first_takeover]
    return {
        "kill_time": kill_t,
        "victim_pods_at_kill": len(at_kill),
        "victim_pods_taken_over": len(taken),
        "takeover_first_s": round(min(taken) - kill_t, 3) if taken else None,
        "takeover_complete_s": round(max(taken) - kill_t, 3) if taken and len(taken) == len(at_kill) else None,
    }


# ---- report ------------------------------------------------------------------------------------------
COLUMNS = [
    ("policy", "policy"),
    ("R", "replicas"),
    ("PATCH/min", "patch_per_min"),
    ("DELETE/min", "delete_per_min"),
    ("redundant writes", "redundant_writes"),
    ("writes to alive owners", "writes_to_alive_owners"),
    ("extra claims", "extra_claims"),
    ("failed writes", "failed_total"),
    ("pods left", "pods_left"),
    ("takeover first s", "takeover_first_s"),
    ("takeover complete s", "takeover_complete_s"),
]


def table(results: dict[str, Any], markdown: bool) -> str:
    rows = [[cell(r["spec"][k] if k in ("policy", "replicas") else r[k]) for _, k in COLUMNS] for r in results["runs"]]
    return fmt_table([c for c, _ in COLUMNS], rows, markdown)


RACE_COLUMNS = {
    "successful claims": "successful_claims", "extra claims (double wins)": "extra_claims",
    "writes to alive owners": "writes_to_alive_owners", "failed writes": "failed_writes",
    "DELETEs": "delete_requests", "pods left": "pods_left",
}  # fmt: skip


def cell(value: Any) -> Any:
    """A table cell: counts by kind as `kind: n` pairs, nothing as '-'."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "0"
    return "-" if value is None else value


def race_table(results: dict[str, Any], markdown: bool) -> list[str]:
    runs = [r for r in results["runs"] if "race" in r]
    if not runs:
        return []
    rows = [
        [
            r["spec"]["policy"],
            r["race"]["survivors"],
            r["race"]["pods"],
            *(cell(r["race"][k]) for k in RACE_COLUMNS.values()),
        ]
        for r in runs
    ]
    intro = (
        "Claim race: a replica is killed holding completed pods; once it is dead, R-1 survivors start together "
        "and their first sweeps go over the same pods."
    )
    return [intro, "", fmt_table(["policy", "survivors", "completed pods", *RACE_COLUMNS], rows, markdown), ""]


def render(results: dict[str, Any], markdown: bool) -> str:
    s = results["runs"][0]["spec"]
    workload = (
        f"Workload per run: {s['rate']} tasks/s for {s['duration']} s (+{s['drain']} s drain), each task "
        f"{s['task_seconds']} s (simulate kubelet), parallelism {s['parallelism']}; sweep every "
        f"{s['sweep_interval']} s; dead after {s['threshold']} s without a heartbeat (every {s['heartbeat']} s); "
        f"API latency +{s['latency_ms']} ms; one replica SIGKILLed at {s['kill_at']:.0%} of the feed."
    )
    head = header(results, "podherd thrash benchmark", markdown)
    return "\n".join([*head, workload, "", table(results, markdown), "", *race_table(results, markdown)])


PANELS = {
    "pod PATCH / min (churn)": lambda r: r["patch_per_min"],
    "redundant writes (churn)": lambda r: r["redundant_writes"],
    "takeover latency s (first write after kill -9)": lambda r: r["takeover_first_s"],
    "claim race: extra claims (double wins)": lambda r: r.get("race", {}).get("extra_claims"),
}


def plot(results: dict[str, Any], path: Path) -> Path | None:
    """Bars per policy (one per replica count) for the headline numbers, plus a PATCH timeline."""
    plt = pyplot()
    if plt is None:
        return None
    runs = results["runs"]
    counts = sorted({r["spec"]["replicas"] for r in runs})
    fig, axes = plt.subplots(2, 3, figsize=(17, 8))
    width = 0.8 / len(counts)
    for ax, (title, value) in zip(axes.flat, PANELS.items(), strict=False):
        for j, n in enumerate(counts):
            by_policy = {r["spec"]["policy"]: value(r) for r in runs if r["spec"]["replicas"] == n}
            xs, vals = [i + j * width for i in range(len(POLICIES))], [by_policy.get(p) for p in POLICIES]
            ax.bar(xs, [v or 0 for v in vals], width, label=f"R={n}")
            for x, v in zip(xs, vals, strict=True):
                if v is None:  # not measured (no race at this R) or never happened (no takeover in the window)
                    ax.text(x, 0, "n/a", ha="center", va="bottom", fontsize=8)
        ax.set_xticks([i + width * (len(counts) - 1) / 2 for i in range(len(POLICIES))], POLICIES)
        ax.set_title(title)
        ax.legend()
    ax = axes.flat[4]
    for r in (r for r in runs if r["spec"]["replicas"] == counts[-1]):
        times = r["patch_times"]
        xs, ys = [0.0, *times, r["window_s"]], [0, *range(1, len(times) + 1), len(times)]
        ax.step(xs, ys, where="post", label=r["spec"]["policy"])
    kills = [r["kill_offset_s"] for r in runs if r["kill_offset_s"] is not None]
    if kills:
        ax.axvline(min(kills), color="red", linestyle="--", label="kill -9")
    ax.set_title(f"cumulative pod PATCHes, R={counts[-1]}")
    ax.set_xlabel("seconds since the feed started")
    ax.legend()
    axes.flat[5].axis("off")
    return save_figure(plt, fig, "podherd thrash: adoption policies under the same churn", path)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", help=f"replica counts, comma-separated, each 1-5 (default {FULL['replicas']})")
    ap.add_argument("--policies", default=",".join(POLICIES), help="policies to run, comma-separated")
    ap.add_argument("--rate", type=float, help=f"tasks submitted per second (default {FULL['rate']})")
    ap.add_argument("--duration", type=float, help=f"seconds of feeding (default {FULL['duration']})")
    ap.add_argument("--drain", type=float, help=f"seconds after the feed before judging (default {FULL['drain']})")
    ap.add_argument("--task-seconds", type=float, default=1.0, help="how long each simulated pod runs")
    ap.add_argument("--sweep-interval", type=float, default=2.0, help="scheduler.orphaned_tasks_check_interval")
    ap.add_argument("--threshold", type=float, default=3.0, help="scheduler.scheduler_health_check_threshold")
    ap.add_argument("--heartbeat", type=float, default=0.5, help="scheduler.scheduler_heartbeat_sec")
    ap.add_argument(
        "--kill-at", type=float, default=0.5, help="fraction of --duration at which r0 gets SIGKILL (0: never)"
    )
    ap.add_argument("--latency-ms", type=float, default=20.0, help="latency the cluster adds to every API request")
    ap.add_argument("--parallelism", type=int, default=32, help="core.parallelism of each replica")
    ap.add_argument(
        "--race-pods", type=int, help="completed pods in the claim race, run when R >= 3 (0: no race; default 200)"
    )
    ap.add_argument(
        "--quick", action="store_true", help="a short run, under a minute; writes to a temporary directory unless --out"
    )
    ap.add_argument("--out", type=Path, help=f"output directory (default {RESULTS.relative_to(RESULTS.parents[1])})")
    args = ap.parse_args(argv)
    for key, default in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    try:
        args.replica_counts = [int(x) for x in str(args.replicas).split(",")]
    except ValueError:
        ap.error("--replicas: expected comma-separated integers")
    args.policy_list = [p.strip() for p in args.policies.split(",") if p.strip()]
    if not all(1 <= n <= 5 for n in args.replica_counts):
        ap.error("--replicas: each count must be within 1..5")
    if not args.policy_list or set(args.policy_list) - set(POLICIES):
        ap.error(f"--policies: choose from {', '.join(POLICIES)}")
    if args.rate <= 0 or args.duration <= 0 or args.drain < 0 or not 0 <= args.kill_at < 1 or args.race_pods < 0:
        ap.error("need --rate > 0, --duration > 0, --drain >= 0, 0 <= --kill-at < 1 and --race-pods >= 0")
    args.out = output_dir(args.out, args.quick, "thrash", RESULTS)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run every (replica count, policy) pair, print the table, write JSON + Markdown + PNG; return the results."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    runs = []
    for n in args.replica_counts:
        for policy in args.policy_list:
            spec = Spec(
                policy, n, args.rate, args.duration, args.drain, args.task_seconds, args.sweep_interval,
                args.threshold, args.heartbeat, args.kill_at, args.latency_ms, args.parallelism, args.race_pods,
            )  # fmt: skip
            print(f"running {policy} with R={n} ...", flush=True)
            with tempfile.TemporaryDirectory(prefix=f"podherd-thrash-{policy}-") as tmp:
                runs.append(run(spec, Path(tmp)))
            if spec.race_pods and n >= 3:  # a race needs two survivors
                print(f"racing {n - 1} survivors of {policy} for {spec.race_pods} completed pods ...", flush=True)
                with tempfile.TemporaryDirectory(prefix=f"podherd-race-{policy}-") as tmp:
                    runs[-1]["race"] = race(spec, Path(tmp))
    results = results_doc("thrash", argv, args.quick, runs=runs)
    publish(results, "thrash", args.out, render, plot)
    return results


if __name__ == "__main__":
    main()
