"""The command line end to end: submit, status, db, and run (on the embedded cluster).

Commands run in-process through typer's CliRunner against real SQLite files; the
`run` tests and one console-script test start `.venv/bin/podherd` as a subprocess.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from sqlalchemy import Engine, select
from typer.testing import CliRunner, Result

from podherd.cli import app
from podherd.core.labels import PODHERD_SCHEME
from podherd.localcluster.apiserver.server import LocalCluster
from podherd.standalone.db import open_database, queries
from podherd.standalone.db.migrate import head_revision
from podherd.standalone.db.models import Task
from podherd.standalone.taskfile import TaskDef
from tests.integration.conftest import pod_manifest

pytestmark = pytest.mark.integration

PODHERD = Path(sys.executable).parent / "podherd"
SCHED = queries.SCHEDULER_JOB

MALFORMED = """\
tasks:
  - name: fine
    image: alpine
    command: ["true"]
  - name: shell
    image: alpine
    command: "echo hello world"
  - name: typo
    imag: alpine
    command: ["true"]
  - name: tries
    image: alpine
    command: ["true"]
    max_tries: 0
  - name: fine
    image: alpine
    command: ["true"]
"""
MALFORMED_ERRORS = (
    'tasks[1] (name "shell"): command: must be a list of strings (argv), not a shell string',
    "tasks[2] (name \"typo\"): imag: unknown field (did you mean 'image'?)",
    'tasks[2] (name "typo"): image: required',
    'tasks[3] (name "tries"): max_tries: must be at least 1, got 0',
    'tasks[4] (name "fine"): name: duplicate name, first used by tasks[0]',
)


def invoke(*args: Any) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit code 2, every fragment in the output, and no traceback anywhere."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for fragment in fragments:
        assert fragment in result.output, f"{fragment!r} not in:\n{result.output}"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/state/podherd.db"


def engine_for(url: str) -> Engine:
    return open_database(url)


def task_rows(url: str) -> list[Any]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(Task).order_by(Task.id)))
    finally:
        engine.dispose()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- submit


def test_submit_file_queues_every_task(tmp_path: Path, db_url: str) -> None:
    f = write(
        tmp_path / "tasks.yaml",
        """\
- name: extract
  image: python:3.12-slim
  command: ["python3", "-c", "print(1)"]
  env: {BATCH: "7"}
- name: load
  image: busybox:1.36
  command: ["sh", "-c", "echo $BATCH"]
  namespace: etl
  max_tries: 3
  timeout: 30
  priority: 5
""",
    )
    result = invoke("submit", f, "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "queued 2 tasks (ids 1-2)" in result.output

    engine = engine_for(db_url)
    tasks = queries.list_tasks(engine)
    engine.dispose()
    assert [(t.id, t.name, t.state, t.namespace, t.max_tries, t.priority) for t in tasks] == [
        (1, "extract", "queued", "default", 1, 0),
        (2, "load", "queued", "etl", 3, 5),
    ]
    rows = task_rows(db_url)
    assert rows[0].command == ["python3", "-c", "print(1)"]
    assert rows[0].env == {"BATCH": "7"}
    assert rows[1].timeout_seconds == 30

    again = invoke("submit", f, "--db", db_url)
    assert again.exit_code == 0, again.output
    assert "ids 3-4" in again.output


def test_submit_json_file_and_config_namespace(tmp_path: Path, db_url: str) -> None:
    f = write(tmp_path / "t.json", json.dumps({"tasks": [{"name": "a", "image": "alpine", "command": ["true"]}]}))
    cfg = write(tmp_path / "podherd.toml", '[kubernetes_executor]\nnamespace = "team-a"\n')
    result = invoke("submit", f, "--db", db_url, "--config", cfg)
    assert result.exit_code == 0, result.output
    assert "queued 1 task (id 1)" in result.output
    assert [r.namespace for r in task_rows(db_url)] == ["team-a"]


def test_submit_malformed_file_prints_every_error_and_inserts_nothing(tmp_path: Path, db_url: str) -> None:
    f = write(tmp_path / "bad.yaml", MALFORMED)
    result = invoke("submit", f, "--db", db_url)
    assert_user_error(result, *(f"{f}: {e}" for e in MALFORMED_ERRORS))
    assert task_rows(db_url) == []  # not even the valid first task


def test_submit_unparseable_and_missing_files(tmp_path: Path, db_url: str) -> None:
    f = write(tmp_path / "broken.yaml", "- name: a\n  image: [unclosed\n")
    assert_user_error(invoke("submit", f, "--db", db_url), "invalid YAML: line")
    assert_user_error(invoke("submit", tmp_path / "nope.yaml", "--db", db_url), "nope.yaml does not exist")
    empty = write(tmp_path / "empty.yaml", "[]\n")
    assert_user_error(invoke("submit", empty, "--db", db_url), "no tasks in file")
    assert task_rows(db_url) == []


def test_submit_flags_form_queues_one_task_with_literal_argv(db_url: str) -> None:
    result = invoke(
        "submit",
        "--db",
        db_url,
        "--name",
        "one-off",
        "--image",
        "python:3.12-slim",
        "--env",
        "A=1",
        "--env",
        "EQ=x=y",
        "--max-tries",
        "3",
        "--timeout",
        "12.5",
        "--namespace",
        "jobs",
        "--priority",
        "4",
        "--",
        "python3",
        "-c",
        "print('a b'); import sys",
        "--help",  # after '--': part of the argv, not podherd's option
        "--name",
    )
    assert result.exit_code == 0, result.output
    assert "queued 1 task (id 1)" in result.output
    [row] = task_rows(db_url)
    assert row.name == "one-off"
    assert row.image == "python:3.12-slim"
    assert row.command == ["python3", "-c", "print('a b'); import sys", "--help", "--name"]
    assert row.env == {"A": "1", "EQ": "x=y"}
    assert (row.max_tries, row.timeout_seconds, row.namespace, row.priority) == (3, 12.5, "jobs", 4)
    assert row.state == "queued"


def test_submit_flags_form_errors(tmp_path: Path, db_url: str) -> None:
    # Every problem at once, named by its flag.
    result = invoke("submit", "--db", db_url, "--name", "x", "--env", "NOVALUE", "--max-tries", "0", "--")
    assert_user_error(
        result,
        "--image: required",
        "--env 'NOVALUE': expected KEY=VALUE",
        "--max-tries: must be at least 1, got 0",
        "command (after --): must not be empty",
    )
    assert_user_error(
        invoke("submit", "--db", db_url, "--name", "x", "--image", "alpine"), "command (after --): required"
    )
    # The command without '--' is not silently taken for FILE + junk.
    assert_user_error(
        invoke("submit", "--db", db_url, "--name", "x", "--image", "alpine", "echo", "hi"), "put the command after '--'"
    )
    assert_user_error(invoke("submit", "--db", db_url), "nothing to submit")
    assert task_rows(db_url) == []


def test_submit_file_and_flags_are_mutually_exclusive(tmp_path: Path, db_url: str) -> None:
    f = write(tmp_path / "t.yaml", "- {name: a, image: alpine, command: ['true']}\n")
    assert_user_error(invoke("submit", f, "--db", db_url, "--name", "x"), "not both", "--name")
    assert_user_error(invoke("submit", "--db", db_url, f, "--", "echo", "hi"), "not both", "-- CMD")
    assert_user_error(invoke("submit", f, "--db", db_url, "--image", "alpine", "--", "true"), "not both")
    assert task_rows(db_url) == []


def test_submit_unreachable_database_is_a_user_error(tmp_path: Path) -> None:
    f = write(tmp_path / "t.yaml", "- {name: a, image: alpine, command: ['true']}\n")
    result = invoke("submit", f, "--db", "postgresql://nobody:secret@127.0.0.1:1/podherd")
    assert_user_error(result, "cannot open the database")


# --------------------------------------------------------------------------- status


def seed_status_db(url: str) -> dict[str, Any]:
    """Three tasks, one alive replica that tried one of them (failed, exit 3), one stale replica."""
    engine = engine_for(url)
    try:
        ids = queries.insert_tasks(
            engine,
            [
                TaskDef(name="alpha", image="alpine", command=("true",), max_tries=2),
                TaskDef(name="beta", image="alpine", command=("true",)),
                TaskDef(name="gamma", image="alpine", command=("true",), namespace="other"),
            ],
            "default",
        )
        stale = queries.register_job(engine, SCHED, "old-host", 111)
        queries.heartbeat(engine, stale, now=datetime.now(UTC) - timedelta(minutes=10))
        alive = queries.register_job(engine, SCHED, "live-host", 222)
        queries.heartbeat(engine, alive)
        [claimed] = queries.claim_queued_tasks(engine, alive, 1, lambda n, i, t: f"{n}-{i}-{t}")
        assert claimed.task_id == ids[0]
        failure = {"reason": "Error", "message": "boom"}
        assert queries.record_result(engine, claimed.task_id, 1, "failed", 3, failure, alive) == "queued"
        return {"ids": ids, "alive": alive, "stale": stale, "pod": claimed.pod_name}
    finally:
        engine.dispose()


def parse_iso(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_status_json_schema_and_values(db_url: str) -> None:
    seeded = seed_status_db(db_url)
    result = invoke("status", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)

    assert set(doc) == {"schema", "replicas", "tasks", "pods"}
    assert doc["schema"] == 1
    assert doc["pods"] is None

    replicas = {r["id"]: r for r in doc["replicas"]}
    assert set(replicas) == {seeded["alive"], seeded["stale"]}
    for r in doc["replicas"]:
        assert set(r) == {
            "id",
            "hostname",
            "pid",
            "state",
            "alive",
            "ready",
            "not_ready_reason",
            "latest_heartbeat",
            "heartbeat_age_seconds",
        }
        assert r["ready"] is False and r["not_ready_reason"] is None  # seeded rows never reported readiness
        assert r["state"] == "running"
        parse_iso(r["latest_heartbeat"])
    live, stale = replicas[seeded["alive"]], replicas[seeded["stale"]]
    assert (live["hostname"], live["pid"], live["alive"]) == ("live-host", 222, True)
    assert (stale["hostname"], stale["pid"], stale["alive"]) == ("old-host", 111, False)
    assert 0 <= live["heartbeat_age_seconds"] < 30
    assert 590 <= stale["heartbeat_age_seconds"] < 700

    tasks = doc["tasks"]
    assert set(tasks) == {"by_state", "items"}
    assert tasks["by_state"] == {"queued": 3, "running": 0, "success": 0, "failed": 0}
    items = tasks["items"]
    assert [(t["id"], t["name"], t["state"], t["try_number"], t["max_tries"]) for t in items] == [
        (seeded["ids"][0], "alpha", "queued", 1, 2),
        (seeded["ids"][1], "beta", "queued", 0, 1),
        (seeded["ids"][2], "gamma", "queued", 0, 1),
    ]
    for t in items:
        assert set(t) == {"id", "name", "state", "try_number", "max_tries", "owner_id", "attempts"}
        assert t["owner_id"] is None  # a retry is queued without an owner
    [attempt] = items[0]["attempts"]
    assert set(attempt) == {
        "try_number",
        "pod_name",
        "pod_uid",
        "namespace",
        "owner_id",
        "state",
        "exit_code",
        "failure",
        "started_at",
        "ended_at",
    }
    assert attempt["try_number"] == 1
    assert attempt["pod_name"] == seeded["pod"]
    assert attempt["pod_uid"] is None
    assert attempt["namespace"] == "default"
    assert attempt["owner_id"] == seeded["alive"]
    assert attempt["state"] == "failed"
    assert attempt["exit_code"] == 3
    assert attempt["failure"] == {"reason": "Error", "message": "boom"}
    assert parse_iso(attempt["started_at"]) <= parse_iso(attempt["ended_at"])
    assert items[1]["attempts"] == [] and items[2]["attempts"] == []

    latest = json.loads(invoke("status", "--db", db_url, "--json", "--limit", "1").stdout)
    assert [t["name"] for t in latest["tasks"]["items"]] == ["gamma"]
    assert latest["tasks"]["by_state"] == tasks["by_state"]  # counts are never limited


def test_status_human_output(db_url: str) -> None:
    seeded = seed_status_db(db_url)
    result = invoke("status", "--db", db_url)
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("live-host", "old-host", "alive", "dead", "222", "111", "alpha", "beta", "gamma", "exit 3"):
        assert text in out, f"{text!r} not in:\n{out}"
    for state in ("queued", "running", "success", "failed"):
        assert state in out
    assert str(seeded["alive"]) in out
    assert "Pods: not counted" in out


def test_status_user_errors(tmp_path: Path, db_url: str) -> None:
    assert_user_error(
        invoke("status", "--db", "postgresql://nobody:secret@127.0.0.1:1/podherd"), "cannot open the database"
    )
    assert_user_error(invoke("status", "--db", f"sqlite:///{tmp_path}/absent.db"), "no podherd database at")
    assert not (tmp_path / "absent.db").exists()
    seed_status_db(db_url)
    assert_user_error(
        invoke("status", "--db", db_url, "--kubeconfig", tmp_path / "no-kubeconfig"), "no-kubeconfig does not exist"
    )


def test_status_counts_pods_by_owner(cluster: LocalCluster, db_url: str, tmp_path: Path) -> None:
    seed_status_db(db_url)
    core = client.CoreV1Api(cluster.api_client())
    ns = "cli-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": ns}})
    s = PODHERD_SCHEME
    mine = {s.executor_key: s.executor_value}
    try:
        for name, labels in (
            ("a", {**mine, s.owner_key: "7"}),
            ("b", {**mine, s.owner_key: "7"}),
            ("c", {**mine, s.owner_key: "12"}),
            ("d", {**mine, s.owner_key: "7", s.done_key: s.done_value}),
            ("e", {s.owner_key: "7"}),  # not an executor pod: not counted
        ):
            core.create_namespaced_pod(ns, pod_manifest(name, ["sleep", "30"], labels))
        kubeconfig = cluster.config.kubeconfig
        assert kubeconfig is not None
        result = invoke("status", "--db", db_url, "--json", "--kubeconfig", kubeconfig, "--namespace", ns)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["pods"] == {"by_owner": {"7": 2, "12": 1}, "done": 1}

        human = invoke("status", "--db", db_url, "--kubeconfig", kubeconfig, "--namespace", ns)
        assert human.exit_code == 0, human.output
        assert "Pods by owner" in human.output
    finally:
        core.delete_namespace(ns)

    # An unreachable API server: everything else still printed, the failure reported, exit 1.
    dead = tmp_path / "dead-kubeconfig"
    cfg = cluster.kubeconfig_dict()
    cfg["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    dead.write_text(json.dumps(cfg))
    result = invoke("status", "--db", db_url, "--json", "--kubeconfig", dead)
    assert result.exit_code == 1, result.output
    assert "cannot list pods" in result.stderr
    assert json.loads(result.stdout)["pods"] is None


# --------------------------------------------------------------------------- db


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    head = head_revision()
    before = invoke("db", "current", "--db", url)
    assert before.exit_code == 0, before.output
    assert "current: none" in before.output and f"head: {head}" in before.output
    assert not (tmp_path / "m.db").exists()  # looking does not create it

    up = invoke("db", "upgrade", "--db", url)
    assert up.exit_code == 0, up.output
    assert f"upgraded from an empty database to revision {head}" in up.output
    again = invoke("db", "upgrade", "--db", url)
    assert again.exit_code == 0, again.output
    assert f"already at revision {head}" in again.output

    now = invoke("db", "current", "--db", url)
    assert now.exit_code == 0, now.output
    assert f"current: {head}\nhead: {head}" in now.output

    bad = invoke("db", "upgrade", "--db", "postgresql://nobody:secret@127.0.0.1:1/podherd")
    assert_user_error(bad, "cannot use the database")
    assert "secret" not in bad.output

    # A database migrated by a newer podherd: said so, no traceback.
    with sqlite3.connect(tmp_path / "m.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff'")
    newer = invoke("db", "current", "--db", url)
    assert newer.exit_code == 0, newer.output
    assert "current: ffff (unknown to this podherd" in newer.output
    assert_user_error(invoke("db", "upgrade", "--db", url), "cannot migrate the database", "'ffff'")


# --------------------------------------------------------------------------- run


def test_run_malformed_file_is_a_user_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    f = write(tmp_path / "bad.yaml", MALFORMED)
    assert_user_error(invoke("run", f, "--db", url, "--quiet"), *MALFORMED_ERRORS)
    assert task_rows(url) == []
    assert_user_error(invoke("run", tmp_path / "missing.yaml", "--db", url), "missing.yaml does not exist")


def run_podherd(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("PODHERD__CORE__SQL_ALCHEMY_CONN", None)
    return subprocess.run(
        [str(PODHERD), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_console_script_reports_malformed_file_without_traceback(tmp_path: Path) -> None:
    f = write(tmp_path / "bad.yaml", MALFORMED)
    proc = run_podherd(["submit", str(f), "--db", f"sqlite:///{tmp_path}/s.db"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for e in MALFORMED_ERRORS:
        assert e in proc.stderr
    assert task_rows(f"sqlite:///{tmp_path}/s.db") == []


def test_run_reports_a_failure_with_exit_code_1(tmp_path: Path) -> None:
    f = write(
        tmp_path / "tiny.yaml",
        """\
- name: prints-one
  image: python:3.12-slim
  command: ["python3", "-c", "print(1)"]
- name: exits-three
  image: python:3.12-slim
  command: ["python3", "-c", "import sys; print('disk full', file=sys.stderr); sys.exit(3)"]
  max_tries: 1
""",
    )
    url = f"sqlite:///{tmp_path}/r.db"
    proc = run_podherd(["run", str(f), "--db", url, "--quiet"], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out
    assert "prints-one" in proc.stdout and "exits-three" in proc.stdout
    assert "exit 3" in proc.stdout
    flat = " ".join(proc.stdout.replace("│", " ").split())  # the table may wrap the cell
    assert "disk full" in flat  # the failing container's last log line
    assert "1/2 tasks succeeded" in proc.stdout
    assert (tmp_path / ".podherd").is_dir()  # the embedded cluster ran from cwd ...
    assert not (tmp_path / ".podherd" / "kubeconfig").exists()  # ... and its kubeconfig went with it

    # What `run` recorded is what `status --json` reports.
    doc = json.loads(invoke("status", "--db", url, "--json").stdout)
    assert doc["tasks"]["by_state"] == {"queued": 0, "running": 0, "success": 1, "failed": 1}
    by_name = {t["name"]: t for t in doc["tasks"]["items"]}
    ok, bad = by_name["prints-one"], by_name["exits-three"]
    assert (ok["state"], ok["try_number"], [a["exit_code"] for a in ok["attempts"]]) == ("success", 1, [0])
    assert (bad["state"], bad["try_number"]) == ("failed", 1)
    [attempt] = bad["attempts"]
    assert (attempt["state"], attempt["exit_code"]) == ("failed", 3)
    assert attempt["pod_uid"]
    [replica] = doc["replicas"]
    assert replica["alive"] is False and replica["state"] != "running"  # ended cleanly


def test_run_all_good_exits_0(tmp_path: Path) -> None:
    f = write(
        tmp_path / "good.yaml",
        """\
- name: one
  image: python:3.12-slim
  command: ["python3", "-c", "print(1)"]
- name: two
  image: busybox:1.36
  command: ["sh", "-c", "exit 0"]
""",
    )
    proc = run_podherd(["run", str(f), "--db", f"sqlite:///{tmp_path}/r.db", "--quiet"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2/2 tasks succeeded" in proc.stdout
