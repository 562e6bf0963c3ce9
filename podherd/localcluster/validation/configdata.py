"""Validation of ConfigMaps and Secrets, ported from ``pkg/apis/core/validation`` (ValidateConfigMap, ValidateSecret).

Both hold key/value bags whose keys become file names in a volume, so keys follow
``validation.IsConfigMapKey`` (``[-._a-zA-Z0-9]+``, at most 253 characters, not ``.``/``..``, no ``..``
prefix). The values of one object may total at most 1 MiB (``core.MaxSecretSize``). `immutable: true`
freezes the data (and itself) for good. Validators return causes and never raise; base64 decoding of
``binaryData``/``data`` happens earlier, when the body is read (`registry.strategies.secrets`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.validation.fieldcheck import (
    JSONDict,
    field_value,
    forbidden,
    invalid_value,
    required,
    too_long,
    type_invalid,
)

MAX_DATA_BYTES = 1024 * 1024  # core.MaxSecretSize, the limit of ConfigMaps too
_KEY_RE = re.compile(r"[-._a-zA-Z0-9]+", re.ASCII)
_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
    "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)
IMMUTABLE_MSG = "field is immutable when `immutable` is set"
REDACTED = "<secret contents redacted>"

# Secret types with required keys (SecretTypeDockercfg, ...): type -> keys of which at least one must exist.
_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def config_key_errors(key: str) -> list[str]:
    """validation.IsConfigMapKey."""
    errs = []
    if len(key) > 253:
        errs.append("must be no more than 253 characters")
    if not _KEY_RE.fullmatch(key):
        errs.append(_KEY_MSG)
    if key == ".":
        errs.append("must not be '.'")
    elif key == "..":
        errs.append("must not be '..'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _bag(errs: list[Cause], obj: JSONDict, key: str) -> dict[str, Any]:
    """A map of strings (data, binaryData), its wrongly typed values reported."""
    bag = field_value(errs, obj, key, key, "object") or {}
    for k, v in bag.items():
        if v is not None and not isinstance(v, str):
            errs.append(type_invalid(f"{key}[{k}]", v, "string"))
    return {k: v for k, v in bag.items() if isinstance(v, str)}


def _immutable(errs: list[Cause], obj: JSONDict) -> bool:
    value = field_value(errs, obj, "immutable", "immutable", "boolean")
    return value is True


def validate_config_map(cm: JSONDict) -> list[Cause]:
    """ValidateConfigMap beyond metadata: keys, no key in both bags, 1 MiB in all."""
    errs: list[Cause] = []
    data, binary = _bag(errs, cm, "data"), _bag(errs, cm, "binaryData")
    _immutable(errs, cm)
    total = 0
    for k, v in data.items():
        errs += [invalid_value(f"data[{k}]", k, m) for m in config_key_errors(k)]
        if k in binary:
            errs.append(invalid_value(f"data[{k}]", k, "duplicate of key present in binaryData"))
        total += len(v.encode())
    for k, v in binary.items():
        errs += [invalid_value(f"binaryData[{k}]", k, m) for m in config_key_errors(k)]
        total += len(decoded(v))
    if total > MAX_DATA_BYTES:
        errs.append(too_long("", MAX_DATA_BYTES))
    return errs


def validate_frozen(old: JSONDict, new: JSONDict, bags: tuple[str, ...]) -> list[Cause]:
    """An object stored with `immutable: true` keeps its data and the flag (ValidateConfigMapUpdate/SecretUpdate)."""
    if old.get("immutable") is not True:
        return []
    errs = []
    if new.get("immutable") is not True:
        errs.append(forbidden("immutable", IMMUTABLE_MSG))
    for bag in bags:
        if (old.get(bag) or {}) != (new.get(bag) or {}):
            errs.append(forbidden(bag, IMMUTABLE_MSG))
    return errs


def decoded(value: str) -> bytes:
    """A base64 value already checked when the body was read; b'' if it is not valid base64 after all."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""


def validate_secret(secret: JSONDict) -> list[Cause]:
    """ValidateSecret beyond metadata: keys, 1 MiB in all, and the keys each standard type requires."""
    errs: list[Cause] = []
    data = {k: decoded(v) for k, v in _bag(errs, secret, "data").items()}
    _immutable(errs, secret)
    for k in data:
        errs += [invalid_value(f"data[{k}]", k, m) for m in config_key_errors(k)]
    if sum(len(v) for v in data.values()) > MAX_DATA_BYTES:
        errs.append(too_long("data", MAX_DATA_BYTES))
    return errs + _type_rules(secret, data)


def _type_rules(secret: JSONDict, data: dict[str, bytes]) -> list[Cause]:
    kind = secret.get("type") or "Opaque"
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    if kind == "kubernetes.io/service-account-token":
        if not annotations.get("kubernetes.io/service-account.name"):
            return [required("metadata.annotations[kubernetes.io/service-account.name]")]
        return []
    if kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        return [required("data[username]"), required("data[password]")]
    if kind == "kubernetes.io/tls":
        return [required(f"data[{k}]") for k in ("tls.crt", "tls.key") if k not in data]
    for key in _REQUIRED_KEYS.get(kind, ()):
        if key not in data or (kind == "kubernetes.io/ssh-auth" and not data[key]):
            return [required(f"data[{key}]")]
        if kind != "kubernetes.io/ssh-auth":
            try:
                doc = json.loads(data[key])
            except ValueError as e:
                return [invalid_value(f"data[{key}]", REDACTED, str(e))]
            if not isinstance(doc, dict):
                why = f"json: cannot unmarshal {type(doc).__name__} into Go value of type map[string]interface {{}}"
                return [invalid_value(f"data[{key}]", REDACTED, why)]
    return []
