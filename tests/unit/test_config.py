"""Settings: Airflow-compatible defaults, TOML file, PODHERD__SECTION__KEY overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from podherd.config import DEFAULT_FATAL_REASONS, DEFAULT_SQLITE_URL, Config, ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "podherd.toml"
    path.write_text(text)
    return path


def test_defaults_match_design_table() -> None:
    cfg = load_config(env={})
    assert cfg == Config()
    assert cfg.core.parallelism == 32
    assert cfg.core.sql_alchemy_conn == "" and cfg.core.database_url == DEFAULT_SQLITE_URL
    assert cfg.core.label_scheme == "podherd"
    assert cfg.scheduler.scheduler_heartbeat_sec == 5
    assert cfg.scheduler.scheduler_health_check_threshold == 30
    assert cfg.scheduler.orphaned_tasks_check_interval == 300
    assert cfg.scheduler.loop_idle_sleep == 0.2
    k = cfg.kubernetes_executor
    assert k.namespace == "default"
    assert k.delete_worker_pods is True and k.delete_worker_pods_on_failure is False
    assert k.worker_pods_creation_batch_size == 16 and k.task_publish_max_retries == 3
    assert k.worker_pod_pending_fatal_container_state_reasons == DEFAULT_FATAL_REASONS
    assert "ImagePullBackOff" in DEFAULT_FATAL_REASONS and "InvalidImageName" in DEFAULT_FATAL_REASONS
    assert k.done_pod_retention == 86400 and k.liveness == "both" and k.pod_template_file == ""
    assert (k.kube_client_qps, k.kube_client_burst) == (200, 400)


def test_config_is_frozen() -> None:
    cfg = Config()
    with pytest.raises(ValidationError):
        cfg.core.parallelism = 1  # type: ignore[misc]


def test_toml_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[core]
parallelism = 8
sql_alchemy_conn = "postgresql://u@db/podherd"
label_scheme = "airflow"

[kubernetes_executor]
namespace = "jobs"
delete_worker_pods = false
worker_pod_pending_fatal_container_state_reasons = ["ErrImagePull", "Custom"]
liveness = "DB"
""",
    )
    cfg = load_config(path, env={})
    assert cfg.core.parallelism == 8 and cfg.core.database_url == "postgresql://u@db/podherd"
    assert cfg.core.label_scheme == "airflow"
    assert cfg.kubernetes_executor.namespace == "jobs" and cfg.kubernetes_executor.delete_worker_pods is False
    assert cfg.kubernetes_executor.worker_pod_pending_fatal_container_state_reasons == ("ErrImagePull", "Custom")
    assert cfg.kubernetes_executor.liveness == "db"
    assert cfg.scheduler.scheduler_heartbeat_sec == 5  # untouched sections keep defaults


def test_env_overrides_file_with_coercion(tmp_path: Path) -> None:
    path = write(tmp_path, "[core]\nparallelism = 8\n[kubernetes_executor]\ndelete_worker_pods = true\n")
    env = {
        "PODHERD__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS": "false",
        "podherd__core__parallelism": "4",
        "PODHERD__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "0.5",
        "PODHERD__KUBERNETES_EXECUTOR__WORKER_POD_PENDING_FATAL_CONTAINER_STATE_REASONS": "ErrImagePull, Foo,",
        "PATH": "/usr/bin",  # unrelated variables are ignored
        "PODHERD_OTHER": "x",  # single underscore: not a setting
    }
    cfg = load_config(path, env=env)
    assert cfg.kubernetes_executor.delete_worker_pods is False
    assert cfg.core.parallelism == 4
    assert cfg.scheduler.scheduler_heartbeat_sec == 0.5
    assert cfg.kubernetes_executor.worker_pod_pending_fatal_container_state_reasons == ("ErrImagePull", "Foo")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"PODHERD__CORE__PARALELISM": "3"},
            "environment PODHERD__CORE__PARALELISM: unknown option core.PARALELISM (did you mean 'parallelism'?)",
        ),
        ({"PODHERD__SCHEDULR__X": "3"}, "unknown section 'SCHEDULR' (did you mean 'scheduler'?)"),
        ({"PODHERD__CORE": "3"}, "expected PODHERD__SECTION__KEY"),
    ],
)
def test_unknown_env_names(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(env=env)
    assert expected in str(exc.value)


def test_unknown_key_in_file_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[kubernetes_executor]\ndelete_worker_pod = false\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path, env={})
    message = str(exc.value)
    assert str(path) in message and "kubernetes_executor.delete_worker_pod" in message
    assert "did you mean 'delete_worker_pods'" in message


def test_bad_values_name_key_source_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "[core]\nparallelism = 0\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path, env={"PODHERD__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS": "maybe"})
    lines = str(exc.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}: core.parallelism: ") and "greater than or equal to 1" in lines[0]
    assert lines[1].startswith("environment PODHERD__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS: ")
    assert "kubernetes_executor.delete_worker_pods" in lines[1] and "'maybe'" in lines[1]


def test_bad_choice() -> None:
    with pytest.raises(ConfigError, match="liveness: Input should be 'db', 'lease' or 'both'"):
        load_config(env={"PODHERD__KUBERNETES_EXECUTOR__LIVENESS": "etcd"})


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml", env={})
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(write(tmp_path, "[core\n"), env={})
    with pytest.raises(ConfigError, match="must be a \\[section\\] table"):
        load_config(write(tmp_path, "core = 3\n"), env={})


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        (
            {"PODHERD__CORE__PARALLELISM": "99999999999999999999"},
            "core.parallelism: Input should be less than or equal",
        ),
        ({"PODHERD__KUBERNETES_EXECUTOR__KUBE_CLIENT_BURST": "2147483648"}, "kube_client_burst: Input should be less"),
        ({"PODHERD__KUBERNETES_EXECUTOR__TASK_PUBLISH_MAX_RETRIES": "1e99"}, "task_publish_max_retries"),
        ({"PODHERD__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "inf"}, "scheduler_heartbeat_sec: Input should be a finite"),
        ({"PODHERD__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "nan"}, "scheduler_heartbeat_sec"),
        ({"PODHERD__SCHEDULER__LOOP_IDLE_SLEEP": "1e300"}, "loop_idle_sleep: Input should be less than or equal"),
        ({"PODHERD__KUBERNETES_EXECUTOR__DONE_POD_RETENTION": "-inf"}, "done_pod_retention"),
        ({"PODHERD__KUBERNETES_EXECUTOR__NAMESPACE": "Team_A"}, "namespace: must be a Kubernetes namespace name"),
        ({"PODHERD__KUBERNETES_EXECUTOR__NAMESPACE": "a" * 64}, "namespace"),
    ],
)
def test_values_that_would_overflow_or_never_work_are_refused(env: dict[str, str], fragment: str) -> None:
    """Each would otherwise pass and fail later: a SQL LIMIT overflow, a sleep overflow, pods in a bad namespace."""
    with pytest.raises(ConfigError) as exc:
        load_config(env=env)
    [name] = env
    assert str(exc.value).startswith(f"environment {name}: ")
    assert fragment in str(exc.value)


def test_largest_accepted_values() -> None:
    cfg = load_config(
        env={
            "PODHERD__CORE__PARALLELISM": "2147483647",
            "PODHERD__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "2147483647",
        }
    )
    assert cfg.core.parallelism == 2**31 - 1 and cfg.scheduler.orphaned_tasks_check_interval == 2**31 - 1


def test_a_huge_bad_value_is_not_echoed_whole() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(env={"PODHERD__CORE__LABEL_SCHEME": "x" * 10_000})
    message = str(exc.value)
    assert "x" * 100 not in message and "(10002 characters)" in message


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe[core]\n")
    with pytest.raises(ConfigError, match="invalid TOML: not UTF-8 text"):
        load_config(path, env={})
