"""A container's environment as the kubelet's makeEnvironmentVariables builds it.

``envFrom`` first (each ConfigMap's ``data`` / Secret's decoded ``data``, keys with the ``prefix``;
keys that are not valid variable names are skipped with an ``InvalidEnvironmentVariableNames``
warning), then ``env`` in order, later names winning: a ``value`` has ``$(VAR)`` expanded against what
is defined so far, a ``valueFrom`` reads a ConfigMap key, a Secret key, a downward API field or a
container resource (`downward`). A referenced object or key that is missing fails the container with
the kubelet's message (``configmap "x" not found``, ``couldn't find key k in ConfigMap ns/x``) unless
the reference is ``optional``: `ConfigError`, which the runtime turns into CreateContainerConfigError
and retries when a ConfigMap or Secret of the namespace changes. Objects are read through `Objects`,
so this stays pure.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podherd.localcluster.kubelet.downward import DownwardError, container_named, field_value, resource_value

Objects = Callable[[str, str, str], dict[str, Any] | None]  # (resource, namespace, name) -> the stored object
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_KIND = {"configmaps": ("configmap", "ConfigMap"), "secrets": ("secret", "Secret")}


class ConfigError(Exception):
    """The container's configuration cannot be resolved: CreateContainerConfigError with this message."""


@dataclass
class Resolved:
    """The variables of one container, and the warnings (event messages) resolving them produced."""

    env: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's $(VAR) expansion: known names are replaced, $$ escapes, anything else is kept."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "$" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2 : end]
                    out.append(env.get(name, f"$({name})"))
                    i = end + 1
                    continue
                out.append("$(")
                i += 2
                continue
            out.append("$" + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def object_values(obj: dict[str, Any], resource: str) -> dict[str, str]:
    """A ConfigMap's data, or a Secret's data decoded (as the bytes the container sees, UTF-8 replaced)."""
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    if resource == "configmaps":
        return {k: v for k, v in data.items() if isinstance(v, str)}
    out = {}
    for k, v in data.items():
        try:
            out[k] = base64.b64decode(v).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError, TypeError):
            continue
    return out


class _Lookup:
    """Reads each referenced object once per container, as the kubelet's per-call maps do."""

    def __init__(self, objects: Objects, namespace: str) -> None:
        self.objects = objects
        self.namespace = namespace
        self.cache: dict[tuple[str, str], dict[str, str] | None] = {}

    def values(self, resource: str, name: str, optional: bool) -> dict[str, str] | None:
        """The object's values; None if it is missing and optional; ConfigError if missing and required."""
        key = (resource, name)
        if key not in self.cache:
            obj = self.objects(resource, self.namespace, name)
            self.cache[key] = None if obj is None else object_values(obj, resource)
        found = self.cache[key]
        if found is None and not optional:
            raise ConfigError(f'{_KIND[resource][0]} "{name}" not found')
        return found


def _env_from(c: dict[str, Any], lookup: _Lookup, out: Resolved) -> None:
    for src in c.get("envFrom") or []:
        if not isinstance(src, dict):
            continue
        resource = "configmaps" if isinstance(src.get("configMapRef"), dict) else "secrets"
        ref = src.get("configMapRef") if resource == "configmaps" else src.get("secretRef")
        if not isinstance(ref, dict):
            continue
        values = lookup.values(resource, str(ref.get("name") or ""), ref.get("optional") is True)
        prefix, invalid = str(src.get("prefix") or ""), []
        for k, v in (values or {}).items():
            if _ENV_NAME.fullmatch(prefix + k):
                out.env[prefix + k] = v
            else:
                invalid.append(prefix + k)
        if invalid:
            out.warnings.append(
                f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {_KIND[resource][0]} "
                f"{lookup.namespace}/{ref.get('name')} were skipped since they are considered invalid "
                "environment variable names."
            )


def _key_ref(ref: dict[str, Any], resource: str, lookup: _Lookup) -> str | None:
    name, key, optional = str(ref.get("name") or ""), str(ref.get("key") or ""), ref.get("optional") is True
    values = lookup.values(resource, name, optional)
    if values is None or key not in values:
        if optional:
            return None
        raise ConfigError(f"couldn't find key {key} in {_KIND[resource][1]} {lookup.namespace}/{name}")
    return values[key]


def _value_from(pod: dict[str, Any], c: dict[str, Any], vf: dict[str, Any], lookup: _Lookup, alloc: Any) -> str | None:
    """One env var's valueFrom; None when an optional reference is missing (the variable is left out)."""
    try:
        if isinstance(vf.get("fieldRef"), dict):
            return field_value(pod, str(vf["fieldRef"].get("fieldPath") or ""))
        if isinstance(vf.get("resourceFieldRef"), dict):
            ref = vf["resourceFieldRef"]
            target = container_named(pod, ref["containerName"]) if ref.get("containerName") else c
            return resource_value(target or c, ref, alloc() or {})
    except DownwardError as e:
        raise ConfigError(str(e)) from None
    if isinstance(vf.get("configMapKeyRef"), dict):
        return _key_ref(vf["configMapKeyRef"], "configmaps", lookup)
    if isinstance(vf.get("secretKeyRef"), dict):
        return _key_ref(vf["secretKeyRef"], "secrets", lookup)
    return ""


def resolve_env(
    pod: dict[str, Any], c: dict[str, Any], objects: Objects, base: dict[str, str], allocatable: Callable[[], Any]
) -> Resolved:
    """The environment of container `c`: `base` (PATH, HOSTNAME, mounts), then envFrom, then env."""
    lookup = _Lookup(objects, str((pod.get("metadata") or {}).get("namespace") or ""))
    out = Resolved(env=dict(base))
    _env_from(c, lookup, out)
    for e in c.get("env") or []:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            continue
        vf = e.get("valueFrom")
        if e.get("value") or not isinstance(vf, dict):
            out.env[e["name"]] = expand(str(e.get("value") or ""), out.env)
            continue
        value = _value_from(pod, c, vf, lookup, allocatable)
        if value is not None:
            out.env[e["name"]] = value
    return out
