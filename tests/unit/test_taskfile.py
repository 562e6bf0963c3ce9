"""Task files: good YAML/JSON, every kind of error, all errors reported at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from podherd.standalone.taskfile import TaskDef, TaskFileError, load_task_file, parse_tasks

GOOD_YAML = """
tasks:
  - name: build
    image: python:3.11-slim
    command: [python, -c, "print('hi')"]
    args: ["--verbose"]
    env: {MODE: fast, COUNT: "3"}
    resources:
      requests: {cpu: 500m, memory: 256Mi}
      limits: {cpu: 1, memory: 1Gi, nvidia.com/gpu: 1}
    namespace: team-a
    max_tries: 3
    timeout: 90.5
    priority: 10
    annotations: {example.com/owner: me}
    labels: {app: build, tier: batch}
    pod_overrides: {spec: {nodeSelector: {disk: ssd}}}
  - name: minimal
    image: alpine
    command: ["true"]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors_of(data: Any) -> list[tuple[str, str, str]]:
    with pytest.raises(TaskFileError) as exc:
        parse_tasks(data, "x.yaml")
    return exc.value.errors


def task(**fields: Any) -> dict[str, Any]:
    return {"name": "t", "image": "alpine", "command": ["true"], **fields}


def test_good_yaml(tmp_path: Path) -> None:
    build, minimal = load_task_file(write(tmp_path, "tasks.yaml", GOOD_YAML))
    assert build == TaskDef(
        name="build",
        image="python:3.11-slim",
        command=("python", "-c", "print('hi')"),
        args=("--verbose",),
        env={"MODE": "fast", "COUNT": "3"},
        resources={
            "requests": {"cpu": "500m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
        },
        namespace="team-a",
        max_tries=3,
        timeout=90.5,
        priority=10,
        annotations={"example.com/owner": "me"},
        labels={"app": "build", "tier": "batch"},
        pod_overrides={"spec": {"nodeSelector": {"disk": "ssd"}}},
    )
    assert minimal == TaskDef(name="minimal", image="alpine", command=("true",))
    assert minimal.namespace is None and minimal.max_tries == 1 and minimal.timeout is None and minimal.priority == 0


def test_good_json_list_form(tmp_path: Path) -> None:
    data = [task(name="a"), task(name="b", timeout=5, env={"X": "1"})]
    a, b = load_task_file(write(tmp_path, "tasks.json", json.dumps(data)))
    assert (a.name, b.name, b.timeout, b.env) == ("a", "b", 5.0, {"X": "1"})
    assert load_task_file(write(tmp_path, "list.yml", "- {name: a, image: i, command: [x]}\n"))[0].name == "a"


def test_all_errors_reported_at_once() -> None:
    data = {
        "tasks": [
            {"name": "build", "image": "", "command": [], "max_tries": 0},
            task(name="ok"),
            task(name="build", timout=3),
            "not a task",
        ]
    }
    errors = errors_of(data)
    assert ('tasks[0] (name "build")', "image", 'must be a non-empty string, got string ""') in errors
    assert ('tasks[0] (name "build")', "command", "must not be empty") in errors
    assert ('tasks[0] (name "build")', "max_tries", "must be at least 1, got 0") in errors
    assert ('tasks[2] (name "build")', "timout", "unknown field (did you mean 'timeout'?)") in errors
    assert ('tasks[2] (name "build")', "name", "duplicate name, first used by tasks[0]") in errors
    assert ("tasks[3]", "", 'a task must be a mapping, got string "not a task"') in errors
    assert len(errors) == 6
    assert not any(label.startswith("tasks[1]") for label, _, _ in errors)


def test_str_lists_one_error_per_line() -> None:
    with pytest.raises(TaskFileError) as exc:
        parse_tasks([{"image": "i", "command": ["x"]}, task(priority="high")], "f.yaml")
    assert str(exc.value).splitlines() == [
        "f.yaml: tasks[0]: name: required",
        'f.yaml: tasks[1] (name "t"): priority: must be an integer, got string "high"',
    ]


def test_command_as_shell_string_gets_a_hint() -> None:
    [(label, fld, msg)] = errors_of([task(command="echo 'hello world' && ls")])
    assert (label, fld) == ('tasks[0] (name "t")', "command")
    assert "not a shell string" in msg
    assert 'did you mean ["echo", "hello world", "&&", "ls"]' in msg
    assert '["sh", "-c", "echo \'hello world\' && ls"]' in msg


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"name": ""}, "name", "non-empty string"),
        ({"name": "x" * 201}, "name", "at most 200"),
        ({"name": True}, "name", "got boolean true"),
        ({"image": None}, "image", "got null"),
        ({"command": ["ls", 3]}, "command[1]", "must be a string, got number 3"),
        ({"command": {"a": 1}}, "command", "list of strings, got a mapping"),
        ({"args": "-v"}, "args", "not a single string"),
        ({"args": [None]}, "args[0]", "got null"),
        ({"env": ["A=1"]}, "env", "mapping of strings to strings"),
        ({"env": {"PORT": 8080}}, "env.PORT", 'got number 8080; quote it: "8080"'),
        ({"env": {"DEBUG": True}}, "env.DEBUG", 'quote it: "true"'),
        ({"env": {"A=B": "x"}}, "env.A=B", "must not contain '='"),
        ({"resources": {"requests": {"cpu": "lots"}}}, "resources.requests.cpu", "Kubernetes quantity"),
        ({"resources": {"requests": {"cpus": "1"}}}, "resources.requests.cpus", "did you mean 'cpu'"),
        ({"resources": {"limit": {}}}, "resources.limit", "did you mean 'limits'"),
        ({"resources": "big"}, "resources", "requests"),
        ({"namespace": "Team_A"}, "namespace", "lowercase DNS label"),
        ({"max_tries": 1.5}, "max_tries", "must be an integer"),
        ({"max_tries": True}, "max_tries", "must be an integer, got boolean true"),
        ({"timeout": 0}, "timeout", "greater than 0"),
        ({"timeout": "5m"}, "timeout", "number of seconds"),
        ({"priority": 1.0}, "priority", "must be an integer"),
        ({"annotations": {"a": 1}}, "annotations.a", "must be a string"),
        ({"labels": {"podherd.io/owner": "7"}}, "labels.podherd.io/owner", "reserved"),
        ({"labels": {"airflow-worker": "7"}}, "labels.airflow-worker", "reserved"),
        ({"labels": {"app": "no spaces"}}, "labels.app", "label value"),
        ({"labels": {"Bad Key": "v"}}, "labels.Bad Key", "at most 63"),
        ({"pod_overrides": ["x"]}, "pod_overrides", "must be a mapping"),
        ({"imagee": "x"}, "imagee", "did you mean 'image'"),
    ],
)
def test_field_errors(fields: dict[str, Any], field: str, fragment: str) -> None:
    errors = errors_of([task(**fields)])
    matching = [msg for _, fld, msg in errors if fld == field]
    assert matching, errors
    assert fragment in matching[0]


def test_missing_required_fields_all_reported() -> None:
    errors = errors_of([{}])
    assert [(fld, msg) for _, fld, msg in errors] == [
        ("name", "required"),
        ("image", "required"),
        ("command", "required"),
    ]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"task": []}, "unknown top-level key (did you mean 'tasks'?)"),
        ({"tasks": {}}, "expected a list of tasks, got a mapping"),
        ([], "no tasks in file"),
        ("hello", "expected a list of tasks"),
        (None, "expected a list of tasks, got null"),
    ],
)
def test_file_shape_errors(data: Any, fragment: str) -> None:
    errors = errors_of(data)
    assert any(fragment in msg for _, _, msg in errors), errors
    assert all(label == "file" for label, _, _ in errors)


def test_bad_yaml_has_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError) as exc:
        load_task_file(write(tmp_path, "bad.yaml", "tasks:\n  - name: a\n    image: [x\n"))
    [(label, _, msg)] = exc.value.errors
    assert label == "file" and msg.startswith("invalid YAML: line 4, column 1")


def test_duplicate_yaml_keys_are_errors(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="line 3, column 3: found duplicate key 'name'"):
        load_task_file(write(tmp_path, "dup.yaml", "- name: a\n  image: i\n  name: b\n  command: [x]\n"))


def test_bad_json_has_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match=r"invalid JSON: line 2, column 1"):
        load_task_file(write(tmp_path, "bad.json", '[{"name": "a",\n}]'))


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="cannot read: No such file or directory"):
        load_task_file(tmp_path / "missing.yaml")
    with pytest.raises(TaskFileError, match="cannot read"):
        load_task_file(tmp_path)  # a directory


# --------------------------------------------------------------------------- bounds and huge values


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"max_tries": 99999999999999999999}, "max_tries", "must be at most 2147483647 (the database stores a 32-bit"),
        ({"max_tries": 2**31}, "max_tries", "must be at most 2147483647"),
        ({"priority": 99999999999999999999}, "priority", "must be at most 2147483647"),
        ({"priority": -(2**31) - 1}, "priority", "must be at least -2147483648"),
        ({"timeout": float("inf")}, "timeout", "must be at most 2147483647 seconds"),
        ({"timeout": 1e300}, "timeout", "must be at most 2147483647 seconds"),
        ({"image": "x" * 1001}, "image", "too long: 1001 characters, at most 1000"),
    ],
)
def test_values_the_database_cannot_hold(fields: dict[str, Any], field: str, fragment: str) -> None:
    [(label, fld, msg)] = errors_of([task(**fields)])
    assert (label, fld) == ('tasks[0] (name "t")', field)
    assert fragment in msg


def test_largest_database_integers_are_accepted() -> None:
    [t] = parse_tasks([task(max_tries=2**31 - 1, priority=-(2**31))], "x.yaml")
    assert (t.max_tries, t.priority) == (2**31 - 1, -(2**31))


def test_a_huge_name_is_not_echoed_whole() -> None:
    name = "n" * 10_000
    with pytest.raises(TaskFileError) as exc:
        parse_tasks([task(name=name, image=name, namespace=name, priority=name, command=name, **{name: 1})], "f.yaml")
    text = str(exc.value)
    assert name[:200] not in text
    assert "(10000 characters)" in text
    assert 'tasks[0] (name "' + "n" * 60 + '…" (10000 characters))' in text
    assert "name: too long: 10000 characters, at most 200" in text
    assert len(text) < 3000, text


def test_no_error_line_part_is_longer_than_the_cap() -> None:
    err = TaskFileError("f", [("tasks[0]", "x" * 2000, "y" * 2000)])
    [line] = str(err).splitlines()
    assert "x" * 501 not in line and "y" * 501 not in line
    assert line.count("(2000 characters)") == 2


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_numbers_with_too_many_digits(tmp_path: Path, suffix: str) -> None:
    body = '[{"name": "a", "image": "i", "command": ["x"], "priority": ' + "9" * 5000 + "}]"
    with pytest.raises(TaskFileError) as exc:
        load_task_file(write(tmp_path, "t" + suffix, body))
    [(label, _, msg)] = exc.value.errors
    assert label == "file" and "a number has more than 4300 digits" in msg
    assert "set_int_max_str_digits" not in msg


def test_nesting_too_deep(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="invalid JSON: nested too deeply"):
        load_task_file(write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000))


# --------------------------------------------------------------------------- pod_overrides


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"spec": {"containers": "x"}}, 'spec.containers: Invalid value: "string": spec.containers in body must be'),
        ({"spec": {"restartPolicy": 5}}, 'spec.restartPolicy: Invalid value: "integer"'),
        ({"spec": 5}, 'spec: Invalid value: "integer": spec in body must be of type object'),
        ({"spec": {"containers": [{"name": "base", "image": ""}]}}, "spec.containers[0].image: Required value"),
        ({"spec": {"activeDeadlineSeconds": 99999999999999999999}}, "spec.activeDeadlineSeconds: Invalid value"),
        ({"metadata": {"labels": {"bad key": "x"}}}, 'metadata.labels: Invalid value: "bad key"'),
        (
            {"spec": {"containers": [{"name": "base", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}]}},
            'spec.containers[0].volumeMounts[0].name: Not found: "nope"',
        ),
    ],
)
def test_invalid_pod_overrides_are_rejected_with_the_field_path(overrides: dict[str, Any], fragment: str) -> None:
    [(label, fld, msg)] = errors_of([task(pod_overrides=overrides)])
    assert (label, fld) == ('tasks[0] (name "t")', "pod_overrides")
    assert msg.startswith("the pod would be invalid: ")
    assert fragment in msg


def test_valid_pod_overrides_pass() -> None:
    overrides = {
        "spec": {
            "nodeSelector": {"disk": "ssd"},
            "volumes": [{"name": "scratch", "emptyDir": {}}],
            "containers": [{"name": "base", "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}],
        }
    }
    [t] = parse_tasks([task(pod_overrides=overrides)], "x.yaml")
    assert t.pod_overrides == overrides


def test_pod_overrides_are_checked_against_the_template() -> None:
    template = {"spec": {"volumes": [{"name": "shared", "emptyDir": {}}]}}
    mount = {"spec": {"containers": [{"name": "base", "volumeMounts": [{"name": "shared", "mountPath": "/s"}]}]}}
    assert parse_tasks([task(pod_overrides=mount)], "x.yaml", template)  # the template has the volume
    [(_, fld, msg)] = errors_of([task(pod_overrides=mount)])  # without it, the mount points at nothing
    assert fld == "pod_overrides" and 'Not found: "shared"' in msg


def test_a_broken_template_is_not_blamed_on_the_overrides() -> None:
    template = {"spec": {"dnsPolicy": "Sometimes"}}
    [t] = parse_tasks([task(pod_overrides={"spec": {"nodeSelector": {"a": "b"}}})], "x.yaml", template)
    assert t.pod_overrides == {"spec": {"nodeSelector": {"a": "b"}}}


def test_a_huge_duplicate_yaml_key_is_clipped(tmp_path: Path) -> None:
    key = "k" * 1000  # YAML allows implicit keys up to 1024 characters
    with pytest.raises(TaskFileError) as exc:
        load_task_file(write(tmp_path, "dup.yaml", f'- {{"{key}": 1, "{key}": 2}}\n'))
    assert "found duplicate key" in str(exc.value) and key not in str(exc.value)


@pytest.mark.parametrize("image", ["alpine\0", "alpine\n", "\talpine", "a\x7f"])
def test_image_without_control_characters(image: str) -> None:
    [(_, fld, msg)] = errors_of([task(image=image)])
    assert fld == "image" and "must not contain control characters" in msg


def test_an_odd_image_name_is_left_to_the_kubelet() -> None:
    """As in Kubernetes: the pod is created and its attempt fails with InvalidImageName."""
    [t] = parse_tasks([task(image="Not A Valid Image")], "x.yaml")
    assert t.image == "Not A Valid Image"
