"""Bad input through the real CLI (issue 9, items 4-6): exit 2, one clear message on stderr, no traceback, nothing written.

"Nothing written" is checked where it can go wrong: no task row inserted, and no database file
created when the mistake is found before the database is needed (every input is checked first).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from typer.testing import CliRunner, Result

from podherd.cli import app
from podherd.localcluster.apiserver.server import LocalCluster
from tests.integration.conftest import wait_for
from tests.integration.test_cli import run_podherd, task_rows, write

pytestmark = pytest.mark.integration

HUGE = "99999999999999999999"
SECRET = "s3cr3t-pw"
GOOD_TASK = "- {name: a, image: alpine, command: ['true']}\n"


def invoke(*args: Any, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit code 2, every fragment on stderr, and no traceback anywhere."""
    out = result.output
    assert result.exit_code == 2, out
    assert "Traceback" not in out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    stderr = " ".join(result.stderr.replace("│", " ").split())  # click's usage box may wrap a line
    for fragment in fragments:
        assert fragment in stderr, f"{fragment!r} not on stderr:\n{result.stderr}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "podherd.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


@pytest.fixture
def no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PODHERD__CORE__SQL_ALCHEMY_CONN", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)


# --------------------------------------------------------------------------- 1. integers too large


@pytest.mark.parametrize("field", ["max_tries", "priority"])
def test_task_file_integer_too_large_for_the_database(tmp_path: Path, db_url: str, db_path: Path, field: str) -> None:
    f = write(tmp_path / "big.yaml", f"- {{name: big-one, image: alpine, command: ['true'], {field}: {HUGE}}}\n")
    expected = f'tasks[0] (name "big-one"): {field}: must be at most 2147483647 (the database stores a 32-bit integer)'
    assert_user_error(invoke("submit", f, "--db", db_url), expected)
    assert task_rows(db_url) == []
    db_path.unlink()  # task_rows created it; `run` must not
    assert_user_error(invoke("run", f, "--db", db_url, "--quiet"), expected)
    assert not db_path.exists()


@pytest.mark.parametrize("flag", ["--max-tries", "--priority"])
def test_submit_flag_integer_too_large_for_the_database(db_url: str, db_path: Path, flag: str) -> None:
    result = invoke("submit", "--db", db_url, "--name", "x", "--image", "alpine", flag, HUGE, "--", "true")
    assert_user_error(result, f"command line: {flag}: must be at most 2147483647", HUGE)
    assert not db_path.exists()


def test_status_limit_too_large(db_url: str) -> None:
    assert_user_error(invoke("status", "--db", db_url, "--limit", HUGE), "--limit", "from 0 to 2147483647")


# --------------------------------------------------------------------------- 2. corrupt kubeconfig

CORRUPT_KUBECONFIG = "apiVersion: v1\nclusters: [unclosed\n  users: x: y\n"


@pytest.mark.parametrize(
    "command",
    [["run", "TASKS", "--quiet"], ["scheduler"], ["status"]],
    ids=["run", "scheduler", "status"],
)
def test_corrupt_kubeconfig_is_named_by_every_command(
    tmp_path: Path, db_url: str, db_path: Path, command: list[str], no_env_db: None
) -> None:
    tasks = write(tmp_path / "t.yaml", GOOD_TASK)
    kc = write(tmp_path / "broken-kubeconfig", CORRUPT_KUBECONFIG)
    argv = [str(tasks) if a == "TASKS" else a for a in command]
    assert_user_error(invoke(*argv, "--db", db_url, "--kubeconfig", kc), f"kubeconfig {kc}: not valid YAML: line 3")
    assert not db_path.exists()
    # The same file named by $KUBECONFIG (with --context) and by the config file's config_file.
    assert_user_error(
        invoke(*argv, "--db", db_url, "--context", "x", env={"KUBECONFIG": str(kc)}), f"kubeconfig {kc}: not valid"
    )
    cfg = write(tmp_path / "podherd.toml", f'[kubernetes_executor]\nconfig_file = "{kc}"\n')
    assert_user_error(invoke(*argv, "--db", db_url, "--config", cfg), f"kubeconfig {kc}: not valid YAML")
    assert not db_path.exists()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- a\n- b\n", "expected a kubeconfig (a mapping with clusters, users and contexts), got a list"),
        ("5\n", "got a number"),
        ("clusters: 5\n", "clusters: expected a list, got a number"),
        ("users: [1, 2]\n", "users: every entry must be a mapping"),
        ("", "empty file"),
        ("current-context: nope\ncontexts: []\n", "cannot load Kubernetes configuration"),
    ],
)
def test_kubeconfig_of_the_wrong_shape(tmp_path: Path, db_url: str, db_path: Path, text: str, fragment: str) -> None:
    kc = write(tmp_path / "odd-kubeconfig", text)
    result = invoke("scheduler", "--db", db_url, "--kubeconfig", kc)
    assert_user_error(result, str(kc), fragment)
    assert not db_path.exists()


def test_kubeconfig_that_is_a_directory_or_missing(tmp_path: Path, db_url: str, db_path: Path) -> None:
    assert_user_error(
        invoke("scheduler", "--db", db_url, "--kubeconfig", tmp_path), f"kubeconfig {tmp_path} is not a file"
    )
    assert_user_error(invoke("scheduler", "--db", db_url, "--kubeconfig", tmp_path / "nope"), "nope does not exist")
    assert not db_path.exists()


# --------------------------------------------------------------------------- 3. unsupported database


@pytest.mark.parametrize(
    "command",
    [["submit", "TASKS"], ["run", "TASKS", "--quiet"], ["scheduler"], ["status"], ["db", "upgrade"], ["db", "current"]],
    ids=lambda c: "-".join(x for x in c if x.isalpha() and x != "TASKS"),
)
def test_unsupported_database_scheme(tmp_path: Path, command: list[str], no_env_db: None) -> None:
    tasks = write(tmp_path / "t.yaml", GOOD_TASK)
    argv = [str(tasks) if a == "TASKS" else a for a in command]
    url = f"mysql://user:{SECRET}@db.example/podherd?password={SECRET}"
    for result, where in (
        (invoke(*argv, "--db", url), "--db"),
        (invoke(*argv, env={"PODHERD__CORE__SQL_ALCHEMY_CONN": url}), "core.sql_alchemy_conn"),
    ):
        assert_user_error(
            result,
            f"{where}: unsupported database 'mysql' in mysql://user:***@db.example/podherd?password=***",
            "podherd supports sqlite (sqlite:///PATH) and postgresql (postgresql://USER:PASSWORD@HOST/DB)",
        )
        assert SECRET not in result.output
    assert not (tmp_path / ".podherd").exists()


def test_unparsable_database_url_is_not_echoed(tmp_path: Path) -> None:
    f = write(tmp_path / "t.yaml", GOOD_TASK)
    result = invoke("submit", f, "--db", f"not-a-url-{SECRET}")
    assert_user_error(result, "--db: not a database URL", "sqlite", "postgresql")
    assert SECRET not in result.output


# --------------------------------------------------------------------------- 4. ports


@pytest.mark.parametrize("port", ["-1", "65536", HUGE])
def test_ports_out_of_range(db_url: str, db_path: Path, port: str) -> None:
    assert_user_error(
        invoke("scheduler", "--db", db_url, "--metrics-port", port),
        "Invalid value for '--metrics-port': must be a port number from 0 to 65535",
    )
    assert_user_error(
        invoke("cluster", "up", "--port", port), "Invalid value for '--port': must be a port number from 0 to 65535"
    )
    assert not db_path.exists()


# --------------------------------------------------------------------------- 5. huge strings


def test_a_10000_character_name_is_not_echoed_whole(tmp_path: Path, db_url: str, db_path: Path) -> None:
    name = "n" * 10_000
    f = write(tmp_path / "long.yaml", yaml.safe_dump([{"name": name, "image": "alpine", "command": ["true"]}]))
    for result in (
        invoke("submit", f, "--db", db_url),
        invoke("run", f, "--db", db_url, "--quiet"),
        invoke("submit", "--db", db_url, "--name", name, "--image", "alpine", "--", "true"),
    ):
        assert_user_error(result, "too long: 10000 characters, at most 200")
        assert "n" * 200 not in result.output
        assert len(result.output) < 1000, len(result.output)
    assert not db_path.exists()


def test_huge_values_anywhere_are_clipped(tmp_path: Path, db_url: str) -> None:
    big = "v" * 10_000
    f = write(
        tmp_path / "huge.json",
        json.dumps(
            [
                {
                    "name": "t",
                    "image": "alpine",
                    "command": big,
                    "namespace": big,
                    "env": {big: 1},
                    big: 1,
                    "timeout": big,
                }
            ]
        ),
    )
    result = invoke("submit", f, "--db", db_url)
    assert_user_error(result, "(10000 characters)")
    assert "v" * 200 not in result.output
    assert len(result.output) < 3000
    assert task_rows(db_url) == []


def test_huge_bad_config_value_is_clipped(tmp_path: Path, db_url: str) -> None:
    f = write(tmp_path / "t.yaml", GOOD_TASK)
    result = invoke("submit", f, "--db", db_url, env={"PODHERD__CORE__LABEL_SCHEME": "x" * 10_000})
    assert_user_error(result, "environment PODHERD__CORE__LABEL_SCHEME: core.label_scheme", "characters)")
    assert "x" * 200 not in result.output


# --------------------------------------------------------------------------- 6. pod_overrides


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (
            {"spec": {"containers": "x"}},
            'pod_overrides: the pod would be invalid: spec.containers: Invalid value: "string": '
            "spec.containers in body must be of type array",
        ),
        (
            {"spec": {"restartPolicy": 5}},
            'pod_overrides: the pod would be invalid: spec.restartPolicy: Invalid value: "integer"',
        ),
    ],
)
def test_invalid_pod_overrides_rejected_at_submit_and_run(
    tmp_path: Path, db_url: str, db_path: Path, overrides: dict[str, Any], fragment: str
) -> None:
    f = write(
        tmp_path / "o.json",
        json.dumps([{"name": "over", "image": "alpine", "command": ["true"], "pod_overrides": overrides}]),
    )
    assert_user_error(invoke("run", f, "--db", db_url, "--quiet"), f'tasks[0] (name "over"): {fragment}')
    assert not db_path.exists()
    assert_user_error(invoke("submit", f, "--db", db_url), f'tasks[0] (name "over"): {fragment}')
    assert task_rows(db_url) == []


def test_pod_overrides_checked_against_the_configured_template(tmp_path: Path, db_url: str) -> None:
    template = write(tmp_path / "template.yaml", "spec:\n  volumes: [{name: shared, emptyDir: {}}]\n")
    cfg = write(tmp_path / "podherd.toml", f'[kubernetes_executor]\npod_template_file = "{template}"\n')
    mount = {"spec": {"containers": [{"name": "base", "volumeMounts": [{"name": "shared", "mountPath": "/s"}]}]}}
    f = write(tmp_path / "m.json", json.dumps([{"name": "m", "image": "i", "command": ["x"], "pod_overrides": mount}]))
    assert_user_error(invoke("submit", f, "--db", db_url), 'volumeMounts[0].name: Not found: "shared"')
    ok = invoke("submit", f, "--db", db_url, "--config", cfg)
    assert ok.exit_code == 0, ok.output
    assert [r.name for r in task_rows(db_url)] == ["m"]


# --------------------------------------------------------------------------- 7. missing namespace


def test_run_on_a_cluster_without_the_namespace(
    cluster: LocalCluster, tmp_path: Path, db_url: str, db_path: Path
) -> None:
    ghost = "ghost-" + uuid.uuid4().hex[:8]
    f = write(
        tmp_path / "ns.yaml",
        f"- {{name: lost, image: alpine, command: ['true'], namespace: {ghost}}}\n"
        "- {name: home, image: alpine, command: ['true']}\n",
    )
    result = invoke("run", f, "--db", db_url, "--kubeconfig", cluster.config.kubeconfig, "--quiet")
    assert_user_error(result, f"namespace '{ghost}' does not exist on the cluster (used by lost)")
    assert not db_path.exists()


def test_pod_create_failure_names_the_missing_namespace(
    cluster: LocalCluster, tmp_path: Path, db_url: str, no_env_db: None
) -> None:
    """A task queued for a namespace that is not there: the recorded failure says which namespace."""
    ghost = "ghost-" + uuid.uuid4().hex[:8]
    queued = invoke("submit", "--db", db_url, "--name", "lost", "--image", "alpine", "--namespace", ghost, "--", "true")
    assert queued.exit_code == 0, queued.output
    kc = cluster.config.kubeconfig
    assert kc is not None
    proc = subprocess.Popen(
        [sys.executable, "-m", "podherd.cli", "scheduler", "--db", db_url, "--kubeconfig", str(kc)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def failed_attempt() -> dict[str, Any] | None:
            doc = json.loads(invoke("status", "--db", db_url, "--json").stdout)
            [task] = doc["tasks"]["items"]
            return task["attempts"][-1] if task["state"] == "failed" else None

        attempt = wait_for(failed_attempt, timeout=60, what="the task to fail")
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert attempt["failure"]["reason"] == "pod create failed: NotFound"
    assert ghost in attempt["failure"]["message"], attempt
    assert "Traceback" not in err


# --------------------------------------------------------------------------- 8. private files


def test_default_database_and_its_directory_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env_db: None
) -> None:
    monkeypatch.chdir(tmp_path)
    f = write(tmp_path / "t.yaml", GOOD_TASK)
    result = invoke("submit", f)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / ".podherd").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / ".podherd" / "podherd.db").stat().st_mode) == 0o600


# --------------------------------------------------------------------------- 9. run's own state paths


@pytest.fixture
def cluster_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """`podherd cluster up` in tmp_path with its default kubeconfig path, .podherd/kubeconfig."""
    env = {k: v for k, v in os.environ.items() if k != "PODHERD__CORE__SQL_ALCHEMY_CONN"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "podherd.cli", "cluster", "up", "--port", "0", "--mode", "simulate"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "ready at" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
    try:
        yield proc, tmp_path / ".podherd" / "kubeconfig"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_run_never_touches_the_kubeconfig_of_cluster_up(
    tmp_path: Path, cluster_up: tuple[subprocess.Popen[str], Path]
) -> None:
    _proc, up_kubeconfig = cluster_up
    before = up_kubeconfig.read_bytes()
    assert stat.S_IMODE(up_kubeconfig.parent.stat().st_mode) == 0o700  # .podherd/ made by cluster up
    f = write(
        tmp_path / "slow.yaml",
        f"- name: slow\n  image: python:3.12-slim\n  command: [{json.dumps(sys.executable)}, -c, 'import time; time.sleep(3)']\n",
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "podherd.cli", "run", str(f), "--quiet"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PODHERD__CORE__SQL_ALCHEMY_CONN"},
    )
    try:
        own = wait_for(lambda: list(tmp_path.glob(".podherd/run-*/kubeconfig")), timeout=60, what="run's kubeconfig")
        [run_kubeconfig] = own
        assert run_kubeconfig.parent.name.startswith(f"run-{run.pid}-")
        assert stat.S_IMODE(run_kubeconfig.stat().st_mode) == 0o600
        assert stat.S_IMODE(run_kubeconfig.parent.stat().st_mode) == 0o700
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, out + err
    assert "1/1 tasks succeeded" in out
    assert up_kubeconfig.read_bytes() == before  # byte for byte
    assert not list(tmp_path.glob(".podherd/run-*"))  # run's own directory is gone
    assert stat.S_IMODE((tmp_path / ".podherd" / "podherd.db").stat().st_mode) == 0o600
    api = config.new_client_from_config(config_file=str(up_kubeconfig))  # and it still works
    try:
        names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
    finally:
        api.close()
    assert "default" in names


# --------------------------------------------------------------------------- other inputs that used to traceback


def test_bad_config_files(tmp_path: Path, db_url: str, db_path: Path) -> None:
    f = write(tmp_path / "t.yaml", GOOD_TASK)
    bad = write(tmp_path / "bad.toml", "[core\n")
    assert_user_error(invoke("submit", f, "--db", db_url, "--config", bad), f"{bad}: invalid TOML")
    assert_user_error(
        invoke("submit", f, "--db", db_url, "--config", tmp_path), f"config file {tmp_path} is not a file"
    )
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[core]\n")
    assert_user_error(invoke("submit", f, "--db", db_url, "--config", binary), "invalid TOML: not UTF-8 text")
    big = write(tmp_path / "big.toml", f"[core]\nparallelism = {HUGE}\n")
    assert_user_error(invoke("scheduler", "--db", db_url, "--config", big), "core.parallelism", "2147483647")
    assert not db_path.exists()


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("PODHERD__CORE__PARALLELISM", HUGE, "less than or equal to 2147483647"),
        ("PODHERD__SCHEDULER__SCHEDULER_HEARTBEAT_SEC", "inf", "finite number"),
        ("PODHERD__SCHEDULER__SCHEDULER_HEARTBEAT_SEC", "1e300", "less than or equal to 2147483647"),
        ("PODHERD__KUBERNETES_EXECUTOR__NAMESPACE", "Team_A", "must be a Kubernetes namespace name"),
        ("PODHERD__CORE__PARALLELISM", "many", "valid integer"),
        ("PODHERD__NOPE", "1", "expected PODHERD__SECTION__KEY"),
    ],
)
def test_bad_environment_values(
    tmp_path: Path, db_url: str, db_path: Path, name: str, value: str, fragment: str
) -> None:
    f = write(tmp_path / "t.yaml", GOOD_TASK)
    assert_user_error(invoke("submit", f, "--db", db_url, env={name: value}), f"environment {name}", fragment)
    assert not db_path.exists()


def test_task_file_that_is_a_directory_or_not_text(tmp_path: Path, db_url: str, db_path: Path) -> None:
    assert_user_error(invoke("submit", tmp_path, "--db", db_url), "cannot read: Is a directory")
    assert_user_error(invoke("run", tmp_path, "--db", db_url), f"task file {tmp_path} is not a file")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe- name: a\n")
    assert_user_error(invoke("submit", binary, "--db", db_url), "cannot read: 'utf-8' codec can't decode")
    digits = write(tmp_path / "digits.yaml", f"- {{name: a, image: i, command: [x], priority: {'9' * 5000}}}\n")
    assert_user_error(invoke("submit", digits, "--db", db_url), "a number has more than 4300 digits")
    assert not db_path.exists()


def test_submit_timeout_flag_must_be_finite(db_url: str, db_path: Path) -> None:
    for value in ("inf", "nan", "1e300"):
        result = invoke("submit", "--db", db_url, "--name", "x", "--image", "i", "--timeout", value, "--", "true")
        assert_user_error(result, "command line: --timeout: must be")
    assert not db_path.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--kubeconfig", "DIR"], "--kubeconfig DIR is a directory"),
        (["--kubeconfig", "FILE/kubeconfig"], "FILE is not a directory"),
        (["--audit-log", "DIR"], "--audit-log DIR is a directory"),
        (["--state-dir", "FILE"], "--state-dir FILE exists and is not a directory"),
        (["--bookmark-interval", "0"], "must be a number of seconds greater than 0"),
        (["--bookmark-interval", "nan"], "must be a number of seconds greater than 0"),
    ],
)
def test_cluster_up_bad_paths_and_intervals(tmp_path: Path, args: list[str], fragment: str) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    names = {"DIR": str(tmp_path / "d"), "FILE": str(tmp_path / "f")}

    def sub(text: str) -> str:
        for key, value in names.items():
            text = text.replace(key, value)
        return text

    result = invoke("cluster", "up", "--port", "0", *[sub(a) for a in args])
    assert_user_error(result, sub(fragment))
    assert (tmp_path / "f").read_text() == "x"


def test_console_script_corrupt_kubeconfig_has_no_traceback(tmp_path: Path) -> None:
    """The installed entry point, not only CliRunner: what a user's shell sees."""
    kc = write(tmp_path / "kc", CORRUPT_KUBECONFIG)
    proc = run_podherd(["scheduler", "--db", f"sqlite:///{tmp_path}/s.db", "--kubeconfig", str(kc)], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"kubeconfig {kc}: not valid YAML" in proc.stderr
    assert not (tmp_path / "s.db").exists()


def test_unreadable_pod_template(tmp_path: Path, db_url: str, db_path: Path) -> None:
    f = write(tmp_path / "t.yaml", GOOD_TASK)
    huge = write(tmp_path / "template.yaml", "spec: {activeDeadlineSeconds: " + "9" * 5000 + "}\n")
    env = {"PODHERD__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE": str(huge)}
    assert_user_error(invoke("submit", f, "--db", db_url, env=env), f"pod_template_file {huge}: not valid YAML")
    assert_user_error(invoke("run", f, "--db", db_url, env=env), f"pod_template_file {huge}: not valid YAML")
    assert not db_path.exists()


def test_status_namespace_must_be_a_namespace_name(db_url: str, db_path: Path) -> None:
    result = invoke("status", "--db", db_url, "--namespace", "Bad NS!")
    assert_user_error(result, "Invalid value for '--namespace': must be a Kubernetes namespace name")
    assert not db_path.exists()


def test_context_without_any_kubeconfig(
    tmp_path: Path, db_url: str, db_path: Path, monkeypatch: pytest.MonkeyPatch, no_env_db: None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    f = write(tmp_path / "t.yaml", GOOD_TASK)
    result = invoke("run", f, "--db", db_url, "--context", "nope")
    assert_user_error(result, "cannot load Kubernetes configuration: not running in a pod, and no kubeconfig")
    assert not db_path.exists()


def test_each_run_gets_its_own_private_state_directory(tmp_path: Path) -> None:
    """Two runs from one directory (or two containers, both pid 1, sharing it) never share state."""
    from podherd.commands.run import RunState

    base = tmp_path / ".podherd"
    first, second = RunState.create(base), RunState.create(base)
    assert first.root != second.root and first.root.parent == base == second.root.parent
    assert first.root.name.startswith(f"run-{os.getpid()}-")
    assert {stat.S_IMODE(p.stat().st_mode) for p in (base, first.root, second.root)} == {0o700}
    first.remove()
    assert not first.root.exists() and second.root.is_dir()
