"""Task files: YAML or JSON, validated completely before anything is inserted.

A file is a list of tasks or ``{"tasks": [...]}``. Validation collects *every*
problem (task, field, message) instead of stopping at the first, so a user fixes a
file in one round trip; a file with any error yields no tasks at all.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from podherd.core.podspec import PodRequest
from podherd.standalone.taskfields import (
    CHECKS,
    MAX_NAME_LENGTH,
    REQUIRED,
    RESERVED_KEYS,
    RESERVED_PREFIX,
    RESOURCE_KINDS,
    RESOURCE_NAMES,
    TASK_FIELDS,
    clip,
    did_you_mean,
    kind_of,
    shown,
)

__all__ = [
    "FILE_LABEL",
    "MAX_NAME_LENGTH",
    "RESERVED_KEYS",
    "RESERVED_PREFIX",
    "RESOURCE_KINDS",
    "RESOURCE_NAMES",
    "TASK_FIELDS",
    "FileError",
    "TaskDef",
    "TaskFileError",
    "load_task_file",
    "parse_tasks",
]

FileError = tuple[str, str, str]  # (task label, field, message)
FILE_LABEL = "file"
# The last guard against echoing a huge value: no part of an error line is longer than this.
MAX_PART_CHARS = 500


@dataclass(frozen=True)
class TaskDef:
    """One validated task, ready for :func:`podherd.standalone.db.queries.insert_tasks`.

    ``namespace`` is ``None`` when the file did not set one: the configured default
    applies at insert time, so parsing stays independent of configuration.
    """

    name: str
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    resources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    namespace: str | None = None
    max_tries: int = 1
    timeout: float | None = None
    priority: int = 0
    annotations: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    pod_overrides: Mapping[str, Any] = field(default_factory=dict)

    def pod_request(self, task_id: int, try_number: int, owner_id: int | str) -> PodRequest:
        """What `core.podspec` needs to build the pod of one try of this task."""
        return PodRequest(
            task_id=task_id,
            task_name=self.name,
            try_number=try_number,
            owner_id=str(owner_id),
            image=self.image,
            command=tuple(self.command),
            args=tuple(self.args),
            env=dict(self.env),
            resources=dict(self.resources),
            namespace=self.namespace or "default",
            labels=dict(self.labels),
            annotations=dict(self.annotations),
            pod_overrides=dict(self.pod_overrides),
        )


class TaskFileError(ValueError):
    """Every problem found in a task file; ``str()`` gives one per line."""

    def __init__(self, source: str, errors: list[FileError]) -> None:
        self.source = source
        self.errors = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = []
        for label, fld, msg in self.errors:
            parts = [clip(part, MAX_PART_CHARS) for part in (label, fld, msg) if part]
            lines.append(": ".join([self.source, *parts]))
        return "\n".join(lines)


def load_task_file(path: str | Path, template: Mapping[str, Any] | None = None) -> list[TaskDef]:
    """Read and validate a task file (``.json`` as JSON, anything else as YAML).

    ``template`` is the configured pod template, which ``pod_overrides`` are checked against.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise TaskFileError(source, [(FILE_LABEL, "", f"cannot read: {reason}")]) from None
    data = _parse_json(text, source) if path.suffix.lower() == ".json" else _parse_yaml(text, source)
    return parse_tasks(data, source, template)


def parse_tasks(data: Any, source: str, template: Mapping[str, Any] | None = None) -> list[TaskDef]:
    """Validate already-decoded data (a list of tasks or ``{"tasks": [...]}``).

    A task with ``pod_overrides`` is also checked the way the API server would check its pod
    (built on ``template``), so a bad override fails here rather than on every try at run time.
    """
    errors: list[FileError] = []
    items = _task_list(data, errors)
    tasks: list[TaskDef] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        task = _parse_task(index, item, errors, template)
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name in seen:
            errors.append((_label(index, name), "name", f"duplicate name, first used by tasks[{seen[name]}]"))
        elif isinstance(name, str):
            seen[name] = index
        if task is not None:
            tasks.append(task)
    if errors:
        raise TaskFileError(source, errors)
    return tasks


# --------------------------------------------------------------------------- decoding


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {clip(repr(key))}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise TaskFileError(source, [(FILE_LABEL, "", f"invalid YAML: {where}{problem}")]) from None
    except (ValueError, RecursionError) as exc:  # not YAMLErrors: a number too long for int(), deep nesting
        raise TaskFileError(source, [(FILE_LABEL, "", f"invalid YAML: {_decode_problem(exc)}")]) from None


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise TaskFileError(source, [(FILE_LABEL, "", f"invalid JSON: {where}: {exc.msg}")]) from None
    except (ValueError, RecursionError) as exc:
        raise TaskFileError(source, [(FILE_LABEL, "", f"invalid JSON: {_decode_problem(exc)}")]) from None


def _decode_problem(exc: BaseException) -> str:
    """Python's own decoding limits, said without Python's advice on lifting them."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if "integer string conversion" in str(exc):
        return f"a number has more than {sys.get_int_max_str_digits()} digits"
    return clip(str(exc))


def _task_list(data: Any, errors: list[FileError]) -> list[Any]:
    if isinstance(data, dict):
        for key in sorted(str(k) for k in data if k != "tasks"):
            errors.append((FILE_LABEL, key, f"unknown top-level key{did_you_mean(key, ['tasks'])}"))
        if "tasks" not in data:
            errors.append((FILE_LABEL, "tasks", "missing: expected a list of tasks or a mapping with 'tasks'"))
            return []
        data = data["tasks"]
    if not isinstance(data, list):
        errors.append((FILE_LABEL, "tasks", f"expected a list of tasks, got {kind_of(data)}"))
        return []
    if not data:
        errors.append((FILE_LABEL, "tasks", "no tasks in file"))
    return data


# --------------------------------------------------------------------------- one task


def _label(index: int, name: Any) -> str:
    if isinstance(name, str) and name:
        return f"tasks[{index}] (name {shown(name)})"
    return f"tasks[{index}]"


def _parse_task(
    index: int, item: Any, errors: list[FileError], template: Mapping[str, Any] | None = None
) -> TaskDef | None:
    if not isinstance(item, dict):
        errors.append((_label(index, None), "", f"a task must be a mapping, got {kind_of(item)}"))
        return None
    label = _label(index, item.get("name"))
    before = len(errors)

    def err(fld: str, msg: str) -> None:
        errors.append((label, fld, msg))

    for key in item:
        if key not in TASK_FIELDS:
            err(clip(str(key)), f"unknown field{did_you_mean(str(key), TASK_FIELDS)}")
    values: dict[str, Any] = {}
    for key, check in CHECKS.items():
        if key in item:
            values[key] = check(item[key], key, err)
        elif key in REQUIRED:
            err(key, "required")
    if len(errors) > before:
        return None
    task = TaskDef(**values)
    if task.pod_overrides:
        for path, message in _pod_errors(task, template):
            err("pod_overrides", f"the pod would be invalid: {path}: {message}" if path else message)
    return None if len(errors) > before else task


def _pod_errors(task: TaskDef, template: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    # Imported here: it loads the embedded server's validation, which only a task with overrides needs.
    from podherd.standalone.podcheck import pod_override_errors

    return pod_override_errors(task.pod_request(task_id=1, try_number=1, owner_id=1), template)
