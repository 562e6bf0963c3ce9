"""`podherd submit`: queue tasks for the scheduler replicas, from a task file or from flags.

Two forms, never both:

* ``podherd submit FILE`` validates the whole file first and inserts every task in
  one transaction, or none when anything is wrong (every error is printed).
* ``podherd submit --name N --image I [--env K=V ...] -- CMD ARG...`` queues one
  task; everything after ``--`` is its argv, taken literally (never a shell string).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperOption

from podherd.commands.common import (
    CONFIG_OPTION,
    DB_OPTION,
    check_database_url,
    config_from,
    fail,
    load_template,
    open_engine,
    user_errors,
)
from podherd.config import Config
from podherd.standalone.db import queries
from podherd.standalone.taskfields import clip
from podherd.standalone.taskfile import TaskDef, TaskFileError, load_task_file, parse_tasks

ARGV_KEY = "podherd.submit.argv"
FLAGS_SOURCE = "command line"
# Task fields as the flags form spells them, for error messages.
FLAG_NAMES = {
    "name": "--name",
    "image": "--image",
    "command": "command (after --)",
    "env": "--env",
    "max_tries": "--max-tries",
    "timeout": "--timeout",
    "namespace": "--namespace",
    "priority": "--priority",
}


class SubmitCommand(TyperCommand):
    """Splits the arguments at the first real ``--`` (not an option's value) before parsing.

    Click would fold what follows ``--`` into the positional arguments, where it
    could not be told apart from FILE; here it is kept aside, verbatim, as the argv.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        head, tail = split_at_dashdash(args, self._value_options(ctx))
        ctx.meta[ARGV_KEY] = tail
        return super().parse_args(ctx, head)

    def _value_options(self, ctx: typer.Context) -> set[str]:
        names: set[str] = set()
        for param in self.get_params(ctx):
            if isinstance(param, TyperOption) and not param.is_flag and not param.count:
                names.update(param.opts)
                names.update(param.secondary_opts)
        return names


def split_at_dashdash(args: list[str], value_options: set[str]) -> tuple[list[str], list[str] | None]:
    """``(options and FILE, argv after '--' or None)``; a ``--`` that is an option's value does not count."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return args[:i], args[i + 1 :]
        i += 2 if arg in value_options else 1
    return list(args), None


def register(app: typer.Typer) -> None:
    app.command("submit", cls=SubmitCommand, context_settings={"allow_extra_args": True})(submit)


def submit(
    ctx: typer.Context,
    file: Path | None = typer.Argument(
        None, help="Task file (YAML or JSON). Omit it to describe one task with the flags below.", show_default=False
    ),
    db: str | None = DB_OPTION,
    config: Path | None = CONFIG_OPTION,
    name: str | None = typer.Option(None, "--name", help="Flags form: the task's name."),
    image: str | None = typer.Option(None, "--image", help="Flags form: the container image."),
    env: list[str] = typer.Option([], "--env", help="Flags form: an environment variable KEY=VALUE (repeatable)."),
    max_tries: int | None = typer.Option(None, "--max-tries", help="Flags form: attempts before failing (default 1)."),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Flags form: seconds an attempt may run before it is failed (default: no limit)."
    ),
    namespace: str | None = typer.Option(
        None,
        "--namespace",
        help="Flags form: namespace of the pod (default: kubernetes_executor.namespace from the config).",
    ),
    priority: int | None = typer.Option(None, "--priority", help="Flags form: higher runs first (default 0)."),
) -> None:
    """Queue tasks from FILE, or one task from flags: `submit --name N --image I -- CMD ARG...`.

    All or nothing: a file with any error queues nothing and prints every error (exit code 2).
    """
    argv: list[str] | None = ctx.meta.get(ARGV_KEY)
    flags = {"--name": name, "--image": image, "--env": env or None, "--max-tries": max_tries}
    flags |= {"--timeout": timeout, "--namespace": namespace, "--priority": priority, "-- CMD": argv}
    _check_form(ctx, file, [flag for flag, value in flags.items() if value is not None])
    cfg = config_from(config)
    check_database_url(db, cfg)
    template = load_template(cfg)  # pod_overrides are checked against the pod the replicas will build
    if file is not None:
        tasks = _tasks_from_file(file, template)
    else:
        tasks = [_task_from_flags(name, image, env, max_tries, timeout, namespace, priority, argv)]
    ids = _insert(db, cfg, tasks)
    noun = "task" if len(ids) == 1 else "tasks"
    typer.echo(f"queued {len(ids)} {noun} (id{'s' if len(ids) != 1 else ''} {id_ranges(ids)})")


def _check_form(ctx: typer.Context, file: Path | None, flags_used: list[str]) -> None:
    """Exactly one form: a task FILE, or the flags form (with the command after `--`); nothing stray."""
    if ctx.args:
        extra = clip(" ".join([str(file), *ctx.args] if file is not None else ctx.args))
        fail(
            f"unexpected argument(s) {extra}: give one task FILE, or put the command "
            "after '--': podherd submit --name N --image I -- CMD ARG..."
        )
    if file is not None and flags_used:
        fail(
            f"give either a task FILE or the flags form, not both (got {file} and {', '.join(flags_used)}); "
            "in the flags form the command goes after '--': podherd submit --name N --image I -- CMD ARG..."
        )
    if file is None and not flags_used:
        fail("nothing to submit: give a task FILE, or --name, --image and the command after '--'")


def _tasks_from_file(file: Path, template: dict[str, Any] | None) -> list[TaskDef]:
    if not file.exists():
        fail(f"task file {file} does not exist")
    with user_errors():
        return load_task_file(file, template)


def _insert(db: str | None, cfg: Config, tasks: list[TaskDef]) -> list[int]:
    """Queue the tasks in one transaction (all or none); a database error is exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    engine = open_engine(db, cfg)
    try:
        return queries.insert_tasks(engine, tasks, cfg.kubernetes_executor.namespace)
    except SQLAlchemyError as e:
        fail(f"cannot queue the tasks: {str(e).strip().splitlines()[0]}")
    finally:
        engine.dispose()


def _task_from_flags(
    name: str | None,
    image: str | None,
    env: list[str],
    max_tries: int | None,
    timeout: float | None,
    namespace: str | None,
    priority: int | None,
    argv: list[str] | None,
) -> TaskDef:
    """Validate the flags form with the task-file rules; every problem is reported at once."""
    errors: list[str] = []
    item: dict[str, Any] = {}
    for key, value in (("name", name), ("image", image), ("command", argv)):
        if value is not None:
            item[key] = value  # missing ones (and an empty argv) are reported by the validator
    env_map: dict[str, str] = {}
    for pair in env:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            errors.append(f"--env {clip(repr(pair))}: expected KEY=VALUE")
        elif key in env_map:
            errors.append(f"--env {clip(key)}: given more than once")
        else:
            env_map[key] = value
    if env_map:
        item["env"] = env_map
    for key, value in (
        ("max_tries", max_tries),
        ("timeout", timeout),
        ("namespace", namespace),
        ("priority", priority),
    ):
        if value is not None:
            item[key] = value
    try:
        tasks = parse_tasks([item], FLAGS_SOURCE)
    except TaskFileError as e:
        errors.extend(_flag_error(fld, msg) for _label, fld, msg in e.errors)
        tasks = []
    if errors or not tasks:
        typer.echo("\n".join(f"{FLAGS_SOURCE}: {e}" for e in errors), err=True)
        raise typer.Exit(2)
    return tasks[0]


def _flag_error(fld: str, msg: str) -> str:
    head, dot, rest = fld.partition(".")
    base = head.split("[", 1)[0]
    flag = FLAG_NAMES.get(base, fld)
    if base == "env" and dot:
        return f"--env {rest}: {msg}"
    if base == "command" and head != base:
        return f"command argument {head[len(base) :]}: {msg}"
    return f"{flag}: {msg}"


def id_ranges(ids: list[int]) -> str:
    """``1-3, 7, 9-10``: compact even for thousands of consecutive ids."""
    parts: list[str] = []
    ordered = sorted(ids)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(parts)
