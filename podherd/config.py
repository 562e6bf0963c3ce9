"""Settings: a TOML file plus ``PODHERD__SECTION__KEY`` environment variables.

Option names and defaults follow Airflow's (DESIGN §6) so users of the anchor find
what they know. Everything is a frozen pydantic model: a replica reads its config
once and nothing can change it behind its back. Loading is pure — the environment
is an argument — so tests never have to patch ``os.environ``.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "PODHERD__"
# Bounds every number must respect: counts are stored or used as 32-bit integers (SQL LIMIT, int4
# columns), and seconds end up in sleeps and waits, which overflow past ~2^33 s.
MAX_COUNT = 2**31 - 1
MAX_SECONDS = float(2**31 - 1)
SHOWN_CHARS = 60  # how much of a bad value an error repeats
DEFAULT_SQLITE_URL = "sqlite:///./.podherd/podherd.db"
DEFAULT_FATAL_REASONS: tuple[str, ...] = (
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
)


class ConfigError(ValueError):
    """A configuration problem worth one clear line to the user (no traceback)."""


class _Section(BaseModel):
    # allow_inf_nan=False: "inf" would pass gt=0 and then overflow a sleep.
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False)


class CoreSettings(_Section):
    """``[core]``: what every podherd process needs."""

    parallelism: int = Field(32, ge=1, le=MAX_COUNT, description="running tasks per replica")
    sql_alchemy_conn: str = Field("", description="database URL; empty means SQLite in ./.podherd/")
    label_scheme: Literal["podherd", "airflow"] = "podherd"

    @property
    def database_url(self) -> str:
        """The URL to connect to, with the documented default filled in."""
        return self.sql_alchemy_conn or DEFAULT_SQLITE_URL


class SchedulerSettings(_Section):
    """``[scheduler]``: heartbeats, liveness and sweep periods (seconds)."""

    scheduler_heartbeat_sec: float = Field(5, gt=0, le=MAX_SECONDS)
    scheduler_health_check_threshold: float = Field(30, gt=0, le=MAX_SECONDS)
    orphaned_tasks_check_interval: float = Field(300, gt=0, le=MAX_SECONDS)
    loop_idle_sleep: float = Field(0.2, ge=0, le=MAX_SECONDS)
    loop_batch_window: float = Field(
        0.01,
        ge=0,
        le=1,
        description="after a loop that did work, wait this long before the next, so one loop handles what "
        "arrived meanwhile with one database transaction (0: loop again at once)",
    )
    adoption_policy: Literal["podherd", "alive-scoped", "exclude-self"] = Field(
        "podherd",
        description="how completed pods of other replicas are adopted: podherd (alive-scoped + conditional "
        "claims + immediate sweep on death), alive-scoped (the seed #66400), exclude-self (Airflow 10.15); "
        "the last two exist to measure the anchor's behaviour",
    )


class KubernetesExecutorSettings(_Section):
    """``[kubernetes_executor]``: how pods are created, followed and removed."""

    namespace: str = Field("default", min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    delete_worker_pods: bool = True
    delete_worker_pods_on_failure: bool = False
    worker_pods_creation_batch_size: int = Field(16, ge=1, le=MAX_COUNT)
    task_publish_max_retries: int = Field(3, ge=0, le=MAX_COUNT)
    worker_pod_pending_fatal_container_state_reasons: tuple[str, ...] = DEFAULT_FATAL_REASONS
    done_pod_retention: float = Field(86400, ge=0, le=MAX_SECONDS, description="seconds a kept done pod lives")
    liveness: Literal["db", "lease", "both"] = "both"
    pod_template_file: str = ""
    config_file: str = Field("", description="kubeconfig path; empty: in-cluster or the default kubeconfig")
    cluster_context: str = ""
    kube_client_qps: float = Field(
        200, gt=0, le=MAX_COUNT, description="client-side requests per second (token bucket)"
    )
    kube_client_burst: int = Field(400, ge=1, le=MAX_COUNT)

    @field_validator("worker_pod_pending_fatal_container_state_reasons", mode="before")
    @classmethod
    def _split_reasons(cls, value: Any) -> Any:
        """Accept Airflow's comma-separated string as well as a list."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("liveness", mode="before")
    @classmethod
    def _lower_liveness(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class Config(BaseModel):
    """All settings. Build it with :func:`load_config`; ``Config()`` gives the defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    core: CoreSettings = CoreSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    kubernetes_executor: KubernetesExecutorSettings = KubernetesExecutorSettings()


SECTIONS: dict[str, type[_Section]] = {
    name: field.annotation  # type: ignore[misc]
    for name, field in Config.model_fields.items()
}


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (TOML, optional), then apply ``PODHERD__SECTION__KEY`` overrides from ``env``.

    ``env=None`` means no overrides: pass ``os.environ`` at the call site. Section
    and key names are case-insensitive. Raises :class:`ConfigError` naming the
    key and where it came from for unknown names and for values that do not validate.
    """
    values: dict[str, dict[str, Any]] = {}
    sources: dict[tuple[str, str], str] = {}
    if path is not None:
        _merge_file(Path(path), values, sources)
    _merge_env(env or {}, values, sources)
    try:
        return Config.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None


def _merge_file(path: Path, values: dict[str, dict[str, Any]], sources: dict[tuple[str, str], str]) -> None:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    for raw_section, table in data.items():
        section = _known_section(raw_section, f"{path}: [{raw_section}]")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {raw_section!r} must be a [section] table, got {type(table).__name__}")
        for raw_key, value in table.items():
            key = _known_key(section, raw_key, f"{path}: [{raw_section}] {raw_key}")
            values.setdefault(section, {})[key] = value
            sources[(section, key)] = str(path)


def _merge_env(env: Mapping[str, str], values: dict[str, dict[str, Any]], sources: dict[tuple[str, str], str]) -> None:
    for name, value in env.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].split("__")
        if len(parts) != 2 or not all(parts):
            raise ConfigError(f"environment {name}: expected {ENV_PREFIX}SECTION__KEY")
        section = _known_section(parts[0], f"environment {name}")
        key = _known_key(section, parts[1], f"environment {name}")
        values.setdefault(section, {})[key] = value
        sources[(section, key)] = f"environment {name}"


def _known_section(raw: str, where: str) -> str:
    section = raw.lower()
    if section not in SECTIONS:
        raise ConfigError(f"{where}: unknown section {raw!r}{_suggest(section, SECTIONS)}")
    return section


def _known_key(section: str, raw: str, where: str) -> str:
    key = raw.lower()
    fields = SECTIONS[section].model_fields
    if key not in fields:
        raise ConfigError(f"{where}: unknown option {section}.{raw}{_suggest(key, fields)}")
    return key


def _suggest(word: str, choices: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(choices))})"


def _clip(text: str) -> str:
    """A bad value as an error repeats it: a 10,000-character one is cut, with its length."""
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}… ({len(text)} characters)"


def _message(err: Any) -> str:
    """pydantic's message, with a regex pattern said in words."""
    if err.get("type") == "string_pattern_mismatch" and err["loc"][-1:] == ("namespace",):
        return "must be a Kubernetes namespace name (lowercase letters, digits and '-', at most 63)"
    return str(err["msg"])


def _describe(exc: ValidationError, sources: Mapping[tuple[str, str], str]) -> str:
    """One line per bad value: where it came from, its dotted name, what is wrong."""
    lines = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        section, key = [*loc, "", ""][:2]
        source = sources.get((section, key), "default")
        lines.append(f"{source}: {'.'.join(loc[:2])}: {_message(err)} (got {_clip(repr(err.get('input')))})")
    return "\n".join(lines)
