"""Object validation for the local API server, with apimachinery's field-error texts.

Each validator returns ``list[Cause]``; the server wraps a non-empty list with
``errors.invalid(kind, name, causes)`` (422). Rules and messages follow
``apimachinery/pkg/util/validation``, ``pkg/api/validation`` and ``pkg/apis/core/validation``
(Kubernetes 1.32). Split of work: the server calls `validate_metadata` itself (and adds "name or
generateName is required"), so the kind validators check only the rest of the object. A JSON value
of the wrong type becomes a ``FieldValueTypeInvalid`` cause worded like kube-openapi's (a real
server fails decoding with a 400 instead); nothing here raises. Name checks are hand-written
rather than regexes so a hostile megabyte-long value stays linear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from podherd.localcluster.defaults import (
    QUANTITY_FORMAT_MSG,
    default_pod_spec,
    parse_quantity,
    with_default_tolerations,
)
from podherd.localcluster.errors import Cause

JSONDict = dict[str, Any]
MAX_INT32 = 2**31 - 1
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
FIELD_IMMUTABLE = "field is immutable"
POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)

# ---- messages (util/validation/validation.go, field/errors.go) ---------------------------------------

_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS_SUBDOMAIN_FMT = _DNS_LABEL_FMT + "(\\." + _DNS_LABEL_FMT + ")*"
_DNS_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_NAME_CHARS = _ALNUM | frozenset("-_.")
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """validation.RegexError, including its ``'a',  or 'b', `` punctuation."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


def _range(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


def _blen(s: str) -> int:
    """Length in bytes, as Go's len() counts it."""
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def go_quote(s: str) -> str:
    """Go's strconv.Quote (``%q``), as used for bad values in field errors."""
    out = []
    for c in s:
        if c in ('"', "\\"):
            out.append("\\" + c)
        elif c in _GO_ESCAPES:
            out.append(_GO_ESCAPES[c])
        elif c.isprintable():
            out.append(c)
        elif ord(c) < 0x80:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


def _bad_value(value: Any) -> str:
    """Field Error.ErrorBody's value rendering: %q for strings, %v for scalars, JSON otherwise."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


# ---- cause constructors (field.Required, field.Invalid, ...) -----------------------------------------


def required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), path)


def invalid_value(path: str, value: Any, detail: str = "") -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {_bad_value(value)}" + (f": {detail}" if detail else ""), path)


def not_supported(path: str, value: Any, supported: Sequence[str]) -> Cause:
    detail = "supported values: " + ", ".join(go_quote(s) for s in supported)
    return Cause("FieldValueNotSupported", f"Unsupported value: {_bad_value(value)}: {detail}", path)


def forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", path)


def duplicate(path: str, value: Any) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {_bad_value(value)}", path)


def not_found(path: str, value: Any) -> Cause:
    return Cause("FieldValueNotFound", f"Not found: {_bad_value(value)}", path)


def too_long(path: str, max_bytes: int) -> Cause:
    return Cause("FieldValueTooLong", f"Too long: may not be more than {max_bytes} bytes", path)


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "object": dict,
    "array": list,
}


def _json_type(value: Any) -> str:
    for name, t in (("null", type(None)), ("boolean", bool), ("integer", int), ("number", float)):
        if isinstance(value, t):
            return name
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def type_invalid(path: str, value: Any, expected: str) -> Cause:
    """kube-openapi's wording: ``Invalid value: "string": spec.x in body must be of type integer: "string"``."""
    actual = _json_type(value)
    return Cause(
        "FieldValueTypeInvalid",
        f'Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"',
        path,
    )


# ---- typed access: a wrong JSON type is a cause, never an exception ---------------------------------


def _get(errs: list[Cause], obj: JSONDict, key: str, path: str, kind: str) -> Any:
    """obj[key] when it has JSON type `kind`; None when absent or null (Go's zero value), or mistyped."""
    value = obj.get(key)
    if value is None:
        return None
    ok = isinstance(value, _JSON_TYPES[kind]) and not (kind == "integer" and isinstance(value, bool))
    if not ok:
        errs.append(type_invalid(path, value, kind))
        return None
    return value


def _str(errs: list[Cause], obj: JSONDict, key: str, path: str) -> str:
    return _get(errs, obj, key, path, "string") or ""


def _objects(errs: list[Cause], obj: JSONDict, key: str, path: str) -> list[tuple[int, JSONDict]]:
    items = _get(errs, obj, key, path, "array") or []
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            out.append((i, item))
        elif item is not None:
            errs.append(type_invalid(f"{path}[{i}]", item, "object"))
    return out


def _strings(errs: list[Cause], obj: JSONDict, key: str, path: str) -> list[str]:
    items = _get(errs, obj, key, path, "array") or []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            errs.append(type_invalid(f"{path}[{i}]", item, "string"))
    return [s for s in items if isinstance(s, str)]


def _string_map(errs: list[Cause], obj: JSONDict, key: str, path: str) -> dict[str, str]:
    items = _get(errs, obj, key, path, "object") or {}
    for k, v in items.items():
        if v is not None and not isinstance(v, str):
            errs.append(type_invalid(f"{path}[{k}]", v, "string"))
    return {k: v for k, v in items.items() if isinstance(v, str)}


# ---- names and label syntax ---------------------------------------------------------------------------


def _label_ok(s: str) -> bool:
    return bool(s) and s[0] in _LOWER_ALNUM and s[-1] in _LOWER_ALNUM and all(c in _LOWER_ALNUM or c == "-" for c in s)


def _subdomain_ok(s: str) -> bool:
    return all(_label_ok(part) for part in s.split("."))


def _name_ok(s: str) -> bool:
    return bool(s) and s[0] in _ALNUM and s[-1] in _ALNUM and all(c in _NAME_CHARS for c in s)


def is_dns1123_label(s: str) -> bool:
    """Lowercase RFC 1123 label of at most 63 characters (namespace and container names)."""
    return isinstance(s, str) and len(s) <= 63 and _label_ok(s)


def is_dns1123_subdomain(s: str) -> bool:
    """Lowercase RFC 1123 subdomain of at most 253 characters (most object names)."""
    return isinstance(s, str) and len(s) <= 253 and _subdomain_ok(s)


def dns1123_label_errors(s: str) -> list[str]:
    errs = [_max_len(63)] if _blen(s) > 63 else []
    if not _label_ok(s):
        errs.append(
            "must not contain dots"
            if _subdomain_ok(s)
            else _regex_error(_DNS_LABEL_MSG, _DNS_LABEL_FMT, "my-name", "123-abc")
        )
    return errs


def dns1123_subdomain_errors(s: str) -> list[str]:
    errs = [_max_len(253)] if _blen(s) > 253 else []
    if not _subdomain_ok(s):
        errs.append(_regex_error(_DNS_SUBDOMAIN_MSG, _DNS_SUBDOMAIN_FMT, "example.com"))
    return errs


def qualified_name_errors(value: str) -> list[str]:
    """IsQualifiedName (label keys, annotation keys, finalizers): ``[dns-subdomain/]name``."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    errs: list[str] = []
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in dns1123_subdomain_errors(parts[0])]
    name = parts[-1]
    if not name:
        errs.append("name part must be non-empty")
    elif _blen(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _name_ok(name):
        errs.append("name part " + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def label_value_errors(value: str) -> list[str]:
    errs = [_max_len(63)] if _blen(value) > 63 else []
    if value and not _name_ok(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, f"({_NAME_FMT})?", "MyValue", "my_value", "12345"))
    return errs


def validate_label_key(k: str) -> str | None:
    """The error detail for a bad label key (messages joined by ``; `` as the selector parser does), else None."""
    errs = qualified_name_errors(k)
    return "; ".join(errs) if errs else None


def validate_label_value(v: str) -> str | None:
    errs = label_value_errors(v)
    return "; ".join(errs) if errs else None


def _name_errors(name: str, rule: str, prefix: bool = False) -> list[str]:
    """NameIsDNSSubdomain / NameIsDNSLabel; a generateName prefix may end in '-'."""
    if prefix and len(name) > 1 and name.endswith("-"):
        name = name[:-1] + "a"
    return dns1123_label_errors(name) if rule == "label" else dns1123_subdomain_errors(name)


_TIME_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))", re.ASCII
)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (metav1.Time or MicroTime, any fraction) as an aware UTC datetime, else None."""
    m = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micros = int((m.group(7) or "0").ljust(9, "0")[:6])
    try:
        t = datetime(year, month, day, hour, minute, second, micros, tzinfo=UTC)
    except ValueError:
        return None
    if m.group(9):
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        t -= offset if m.group(9) == "+" else -offset
    return t


# ---- metadata -----------------------------------------------------------------------------------------


def _labels(errs: list[Cause], labels: dict[str, str], path: str) -> None:
    """ValidateLabels: every cause is on the map's path, keys and values alike."""
    for k, v in labels.items():
        errs += [invalid_value(path, k, m) for m in qualified_name_errors(k)]
        errs += [invalid_value(path, v, m) for m in label_value_errors(v)]


def validate_metadata(meta: dict, namespaced: bool, name_rule: str = "subdomain") -> list[Cause]:
    """ValidateObjectMeta minus the name-required check, which the server adds when both names are missing.

    ``name_rule`` is "subdomain" (most kinds) or "label" (namespaces). The server clears the namespace
    of cluster-scoped objects before calling this, so it is not checked for them.
    """
    if not isinstance(meta, dict):
        return [type_invalid("metadata", meta, "object")]
    errs: list[Cause] = []
    generate_name = _str(errs, meta, "generateName", "metadata.generateName")
    if generate_name:
        errs += [
            invalid_value("metadata.generateName", generate_name, m)
            for m in _name_errors(generate_name, name_rule, True)
        ]
    name = _str(errs, meta, "name", "metadata.name")
    if name:
        errs += [invalid_value("metadata.name", name, m) for m in _name_errors(name, name_rule)]
    if namespaced:
        ns = _str(errs, meta, "namespace", "metadata.namespace")
        if not ns:
            errs.append(required("metadata.namespace"))
        errs += [invalid_value("metadata.namespace", ns, m) for m in (dns1123_label_errors(ns) if ns else [])]
    generation = _get(errs, meta, "generation", "metadata.generation", "integer")
    if generation is not None and generation < 0:
        errs.append(invalid_value("metadata.generation", generation, "must be greater than or equal to 0"))
    _labels(errs, _string_map(errs, meta, "labels", "metadata.labels"), "metadata.labels")
    annotations = _string_map(errs, meta, "annotations", "metadata.annotations")
    for k in annotations:
        errs += [invalid_value("metadata.annotations", k, m) for m in qualified_name_errors(k.lower())]
    if sum(_blen(k) + _blen(v) for k, v in annotations.items()) > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long("metadata.annotations", TOTAL_ANNOTATION_SIZE_LIMIT))
    finalizers = _strings(errs, meta, "finalizers", "metadata.finalizers")
    for f in finalizers:
        errs += [invalid_value("metadata.finalizers", f, m) for m in qualified_name_errors(f)]
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(
            invalid_value(
                "metadata.finalizers", finalizers, "finalizer orphan and foregroundDeletion cannot be both set"
            )
        )
    for _, ref in _objects(errs, meta, "ownerReferences", "metadata.ownerReferences"):
        path = "metadata.ownerReferences"
        api_version = _str(errs, ref, "apiVersion", path + ".apiVersion")
        if not api_version or api_version.endswith("/"):
            errs.append(invalid_value(path + ".apiVersion", api_version, "version must not be empty"))
        for key in ("kind", "name", "uid"):
            if not _str(errs, ref, key, f"{path}.{key}"):
                errs.append(invalid_value(f"{path}.{key}", "", "must not be empty"))
    return errs


# ---- pods ---------------------------------------------------------------------------------------------

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef")
_STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _enum(errs: list[Cause], obj: JSONDict, key: str, path: str, allowed: Sequence[str]) -> str:
    """An enum whose empty value the defaulter fills in, so only a wrong non-empty value is an error."""
    value = _str(errs, obj, key, path)
    if value and value not in allowed:
        errs.append(not_supported(path, value, allowed))
    return value


def _port_name_errors(name: str) -> list[str]:
    """IsValidPortName (IANA service name)."""
    errs = [_max_len(15)] if len(name) > 15 else []
    if not all(c in _LOWER_ALNUM or c == "-" for c in name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not any(c.isalpha() and c in _LOWER_ALNUM for c in name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _validate_ports(errs: list[Cause], c: JSONDict, path: str) -> None:
    names: set[str] = set()
    for i, port in _objects(errs, c, "ports", path):
        p = f"{path}[{i}]"
        name = _str(errs, port, "name", p + ".name")
        if name:
            msgs = _port_name_errors(name)
            errs += [invalid_value(p + ".name", name, m) for m in msgs]
            if not msgs and name in names:
                errs.append(duplicate(p + ".name", name))
            names.add(name)
        number = _get(errs, port, "containerPort", p + ".containerPort", "integer")
        if not number:
            errs.append(required(p + ".containerPort"))
        elif not 1 <= number <= 65535:
            errs.append(invalid_value(p + ".containerPort", number, _range(1, 65535)))
        host = _get(errs, port, "hostPort", p + ".hostPort", "integer")
        if host and not 1 <= host <= 65535:
            errs.append(invalid_value(p + ".hostPort", host, _range(1, 65535)))
        _enum(errs, port, "protocol", p + ".protocol", _PROTOCOLS)


def _validate_env(errs: list[Cause], c: JSONDict, path: str) -> None:
    for i, env in _objects(errs, c, "env", path):
        p = f"{path}[{i}]"
        name = _str(errs, env, "name", p + ".name")
        if env.get("name") in (None, ""):
            errs += [
                required(p + ".name"),
                invalid_value(p + ".name", name, "environment variable name must be non-empty"),
            ]
        elif any(not (" " <= ch <= "~") or ch == "=" for ch in name):  # RelaxedEnvironmentVariableValidation (GA)
            msg = "a valid environment variable name must consist only of printable ASCII characters other than '='"
            errs.append(invalid_value(p + ".name", name, msg))
        value = _str(errs, env, "value", p + ".value")
        source = _get(errs, env, "valueFrom", p + ".valueFrom", "object")
        if source is not None:
            count = sum(1 for k in _ENV_SOURCES if source.get(k) is not None)
            if count == 0:
                msg = "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
                errs.append(invalid_value(p + ".valueFrom", "", msg))
            elif value:
                errs.append(invalid_value(p + ".valueFrom", "", "may not be specified when `value` is not empty"))
            elif count > 1:
                errs.append(invalid_value(p + ".valueFrom", "", "may not have more than one field specified at a time"))


def _native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _validate_resources(errs: list[Cause], c: JSONDict, path: str) -> None:
    """ValidateContainerResourceRequirements: names, non-negative quantities, requests within limits."""
    res = _get(errs, c, "resources", path, "object")
    if not res:
        return
    parsed: dict[str, dict[str, tuple[Any, Decimal]]] = {}
    for kind in ("limits", "requests"):
        parsed[kind] = {}
        for name, raw in (_get(errs, res, kind, f"{path}.{kind}", "object") or {}).items():
            p = f"{path}.{kind}[{name}]"
            errs += [invalid_value(p, name, m) for m in qualified_name_errors(name)]
            if "/" not in name and name not in _STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
                errs.append(invalid_value(p, name, "must be a standard resource for containers"))
            if raw is None:  # a null Quantity decodes as zero
                continue
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                errs.append(type_invalid(p, raw, "string"))
                continue
            q = parse_quantity(raw)
            if q is None:
                errs.append(invalid_value(p, raw, QUANTITY_FORMAT_MSG))
            elif q < 0:
                errs.append(invalid_value(p, str(raw), "must be greater than or equal to 0"))
            else:
                if not _native(name) and q != q.to_integral_value():
                    errs.append(invalid_value(p, str(raw), "must be an integer"))
                parsed[kind][name] = (raw, q)
    for name, (raw, q) in parsed["requests"].items():
        overcommit = _native(name) and not name.startswith("hugepages-")
        if name in parsed["limits"]:
            lim_raw, lim = parsed["limits"][name]
            if q != lim and not overcommit:
                errs.append(invalid_value(path + ".requests", str(raw), f"must be equal to {name} limit of {lim_raw}"))
            elif q > lim:
                errs.append(
                    invalid_value(
                        path + ".requests", str(raw), f"must be less than or equal to {name} limit of {lim_raw}"
                    )
                )
        elif not overcommit:
            errs.append(required(path + ".limits", "Limit must be set for non overcommitable resources"))


def _validate_container(errs: list[Cause], c: JSONDict, path: str, volumes: set[str], init: bool) -> str:
    """validateContainerCommon plus the pod-only image whitespace rule; returns the container name."""
    name = _str(errs, c, "name", path + ".name")
    if c.get("name") in (None, ""):  # a mistyped value already has its cause
        errs.append(required(path + ".name"))
    errs += [invalid_value(path + ".name", name, m) for m in (dns1123_label_errors(name) if name else [])]
    image = _str(errs, c, "image", path + ".image")
    if c.get("image") in (None, ""):
        errs.append(required(path + ".image"))
    elif image.strip() != image:
        errs.append(invalid_value(path + ".image", image, "must not have leading or trailing whitespace"))
    _strings(errs, c, "command", path + ".command")
    _strings(errs, c, "args", path + ".args")
    _str(errs, c, "workingDir", path + ".workingDir")
    _enum(errs, c, "terminationMessagePolicy", path + ".terminationMessagePolicy", _TERMINATION_MESSAGE_POLICIES)
    _validate_ports(errs, c, path + ".ports")
    _validate_env(errs, c, path + ".env")
    mount_paths: set[str] = set()
    for i, mount in _objects(errs, c, "volumeMounts", path + ".volumeMounts"):
        p = f"{path}.volumeMounts[{i}]"
        vol = _str(errs, mount, "name", p + ".name")
        if not vol:
            errs.append(required(p + ".name"))
        if vol not in volumes:
            errs.append(not_found(p + ".name", vol))
        mount_path = _str(errs, mount, "mountPath", p + ".mountPath")
        if not mount_path:
            errs.append(required(p + ".mountPath"))
        if mount_path in mount_paths:
            errs.append(invalid_value(p + ".mountPath", mount_path, "must be unique"))
        mount_paths.add(mount_path)
    _enum(errs, c, "imagePullPolicy", path + ".imagePullPolicy", _PULL_POLICIES)
    _validate_resources(errs, c, path + ".resources")
    for key in ("stdin", "stdinOnce", "tty"):
        _get(errs, c, key, f"{path}.{key}", "boolean")
    restart = _str(errs, c, "restartPolicy", path + ".restartPolicy")
    if not init and c.get("restartPolicy") is not None:
        errs.append(forbidden(path + ".restartPolicy", "may not be set for non-init containers"))
    elif init and restart != "Always":
        if c.get("restartPolicy") is not None:
            errs.append(not_supported(path + ".restartPolicy", restart, ["Always"]))
        for key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(key) is not None:
                errs.append(
                    forbidden(f"{path}.{key}", "may not be set for init containers without restartPolicy=Always")
                )
    return name


def _validate_tolerations(errs: list[Cause], spec: JSONDict) -> None:
    for i, t in _objects(errs, spec, "tolerations", "spec.tolerations"):
        p = f"spec.tolerations[{i}]"
        key, op = _str(errs, t, "key", p + ".key"), _str(errs, t, "operator", p + ".operator")
        value, effect = _str(errs, t, "value", p + ".value"), _str(errs, t, "effect", p + ".effect")
        seconds = _get(errs, t, "tolerationSeconds", p + ".tolerationSeconds", "integer")
        errs += [invalid_value(p + ".key", key, m) for m in (qualified_name_errors(key) if key else [])]
        if not key and op != "Exists":
            msg = 'operator must be Exists when `key` is empty, which means "match all values and all keys"'
            errs.append(invalid_value(p + ".operator", op, msg))
        if seconds is not None and effect != "NoExecute":
            errs.append(
                invalid_value(p + ".effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set")
            )
        if op in ("", "Equal"):
            if label_value_errors(value):
                errs.append(invalid_value(p + ".operator", value, ";".join(label_value_errors(value))))
        elif op == "Exists":
            if value:
                errs.append(invalid_value(p + ".operator", t, "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(not_supported(p + ".operator", op, ["Equal", "Exists"]))
        if effect and effect not in _TAINT_EFFECTS:
            errs.append(not_supported(p + ".effect", effect, _TAINT_EFFECTS))


def _validate_pod_spec(errs: list[Cause], spec: JSONDict) -> None:
    volumes: set[str] = set()
    for i, vol in _objects(errs, spec, "volumes", "spec.volumes"):
        p = f"spec.volumes[{i}].name"
        name = _str(errs, vol, "name", p)
        bad = [required(p)] if not name else [invalid_value(p, name, m) for m in dns1123_label_errors(name)]
        bad += [duplicate(p, name)] if name in volumes else []
        errs += bad
        volumes |= set() if bad else {name}
    containers = _objects(errs, spec, "containers", "spec.containers")
    if not spec.get("containers"):
        errs.append(required("spec.containers"))
    names: set[str] = set()
    for i, c in containers:
        name = _validate_container(errs, c, f"spec.containers[{i}]", volumes, init=False)
        if name in names:
            errs.append(duplicate(f"spec.containers[{i}].name", name))
        names.add(name)
    for i, c in _objects(errs, spec, "initContainers", "spec.initContainers"):
        name = _validate_container(errs, c, f"spec.initContainers[{i}]", volumes, init=True)
        if name in names:
            errs.append(duplicate(f"spec.initContainers[{i}].name", name))
        elif name:
            names.add(name)
    _enum(errs, spec, "restartPolicy", "spec.restartPolicy", _RESTART_POLICIES)
    _enum(errs, spec, "dnsPolicy", "spec.dnsPolicy", _DNS_POLICIES)
    _enum(errs, spec, "preemptionPolicy", "spec.preemptionPolicy", ("PreemptLowerPriority", "Never"))
    _labels(errs, _string_map(errs, spec, "nodeSelector", "spec.nodeSelector"), "spec.nodeSelector")
    for key in ("serviceAccountName", "nodeName", "priorityClassName"):
        value = _str(errs, spec, key, "spec." + key)
        errs += [invalid_value("spec." + key, value, m) for m in (dns1123_subdomain_errors(value) if value else [])]
    for key in ("hostname", "subdomain"):
        value = _str(errs, spec, key, "spec." + key)
        errs += [invalid_value("spec." + key, value, m) for m in (dns1123_label_errors(value) if value else [])]
    for key in ("hostNetwork", "hostPID", "hostIPC", "enableServiceLinks", "automountServiceAccountToken"):
        _get(errs, spec, key, "spec." + key, "boolean")
    deadline = _get(errs, spec, "activeDeadlineSeconds", "spec.activeDeadlineSeconds", "integer")
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        errs.append(invalid_value("spec.activeDeadlineSeconds", deadline, _range(1, MAX_INT32)))
    grace = _get(errs, spec, "terminationGracePeriodSeconds", "spec.terminationGracePeriodSeconds", "integer")
    if grace is not None and grace < 0:
        errs.append(invalid_value("spec.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"))
    _validate_tolerations(errs, spec)
    gates: set[str] = set()
    for i, gate in _objects(errs, spec, "schedulingGates", "spec.schedulingGates"):
        name = _str(errs, gate, "name", f"spec.schedulingGates[{i}].name")
        errs += [invalid_value(f"spec.schedulingGates[{i}]", name, m) for m in qualified_name_errors(name)]
        errs += [duplicate(f"spec.schedulingGates[{i}]", name)] if name in gates else []
        gates.add(name)


def validate_pod(pod: dict) -> list[Cause]:
    """Pod create/update validation of everything but metadata (the server runs `validate_metadata`)."""
    spec = pod.get("spec") if isinstance(pod, dict) else None
    if spec is not None and not isinstance(spec, dict):
        return [type_invalid("spec", spec, "object")]
    errs: list[Cause] = []
    _validate_pod_spec(errs, spec or {})
    return errs


def _prune(value: Any) -> Any:
    """Drop zero values, as Go's typed structs cannot tell ``""``/``[]``/``{}``/false from absent."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if not (v is None or v is False or v in ("", [], {}))}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _toleration_key(t: Any) -> Any:
    return _prune({k: v for k, v in t.items() if k != "tolerationSeconds"}) if isinstance(t, dict) else t


def _internal_spec(spec: JSONDict) -> JSONDict:
    """The spec as the internal type sees it: defaulted, with the deprecated serviceAccount folded in."""
    out = default_pod_spec(spec)
    account = out.pop("serviceAccount", None)
    out["serviceAccountName"] = out.get("serviceAccountName") or account
    return out


def _str_set(value: Any) -> set[str]:
    return {s for s in value if isinstance(s, str)} if isinstance(value, list) else set()


def validate_pod_update(old: dict, new: dict) -> list[Cause]:
    """ValidatePodUpdate's update-only rules: immutable identity and the few mutable spec fields.

    Run after `validate_metadata` and `validate_pod` on the new object (the server does both), so
    neither is repeated here. Both specs are compared after scheme defaulting, as the server decodes
    a PUT body with defaults applied.
    """
    errs: list[Cause] = []
    old_meta = old.get("metadata") if isinstance(old.get("metadata"), dict) else {}
    new_meta = new.get("metadata") if isinstance(new.get("metadata"), dict) else {}
    for key in ("name", "namespace", "uid"):
        was, now = old_meta.get(key) or "", new_meta.get(key) or ""
        if was != now and not (key == "uid" and not now):  # a missing uid is filled from the old object
            errs.append(invalid_value("metadata." + key, now, FIELD_IMMUTABLE))
    if old_meta.get("deletionTimestamp"):
        added = sorted(_str_set(new_meta.get("finalizers")) - _str_set(old_meta.get("finalizers")))
        if added:
            listed = ", ".join(json.dumps(f) for f in added)
            msg = f"no new finalizers can be added if the object is being deleted, found new finalizers []string{{{listed}}}"
            errs.append(forbidden("metadata.finalizers", msg))
    old_spec, new_spec = old.get("spec"), new.get("spec")
    if not isinstance(old_spec, dict) or not isinstance(new_spec, dict):
        return errs
    old_spec, new_spec = _internal_spec(old_spec), _internal_spec(new_spec)
    for key in ("priority", "preemptionPolicy"):  # Priority admission keeps the old values on update
        if new_spec.get(key) is None:
            new_spec[key] = old_spec.get(key)
    for key in ("containers", "initContainers"):
        was, now = old_spec.get(key) or [], new_spec.get(key) or []
        if not isinstance(was, list) or not isinstance(now, list) or len(was) != len(now):
            errs.append(forbidden("spec." + key, "pod updates may not add or remove containers"))
            return errs
    old_deadline, deadline = old_spec.get("activeDeadlineSeconds"), new_spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int):
        if not 0 <= deadline <= MAX_INT32:
            errs.append(invalid_value("spec.activeDeadlineSeconds", deadline, _range(0, MAX_INT32)))
            return errs
        if isinstance(old_deadline, int) and old_deadline < deadline:
            errs.append(
                invalid_value("spec.activeDeadlineSeconds", deadline, "must be less than or equal to previous value")
            )
            return errs
    elif old_deadline is not None:
        errs.append(
            invalid_value("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value")
        )
    new_tolerations = with_default_tolerations(new_spec.get("tolerations"))  # admission re-adds these on update
    now_keys = [_toleration_key(t) for t in new_tolerations]
    if any(_toleration_key(t) not in now_keys for t in old_spec.get("tolerations") or []):
        errs.append(
            forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")
        )
    old_gates = [g.get("name") for g in old_spec.get("schedulingGates") or [] if isinstance(g, dict)]
    for g in new_spec.get("schedulingGates") or []:
        if isinstance(g, dict) and g.get("name") not in old_gates:
            msg = f"only deletion is allowed, but found new scheduling gate '{g.get('name')}'"
            errs.append(forbidden("spec.schedulingGates", msg))
    munged = dict(new_spec)
    for key in ("containers", "initContainers"):
        if key in munged:
            munged[key] = [
                {**c, "image": o.get("image")} if isinstance(c, dict) and isinstance(o, dict) else c
                for c, o in zip(munged[key], old_spec.get(key) or [], strict=False)
            ]
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        munged[key] = old_spec.get(key)
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if _prune(munged) != _prune(old_spec):
        errs.append(forbidden("spec", POD_UPDATE_FORBIDDEN))
    return errs


# ---- leases, events, namespaces -----------------------------------------------------------------------

_MICROTIME_MSG = 'must be an RFC 3339 time with microseconds, e.g. "2006-01-02T15:04:05.000000Z"'


def _time_field(errs: list[Cause], obj: JSONDict, key: str, path: str) -> None:
    value = _str(errs, obj, key, path)
    if value and parse_time(value) is None:
        errs.append(invalid_value(path, value, _MICROTIME_MSG))


def validate_lease(lease: dict) -> list[Cause]:
    """ValidateLeaseSpec (coordination.k8s.io/v1): every field optional, but sane when set."""
    spec = lease.get("spec")
    if spec is None:
        return []
    if not isinstance(spec, dict):
        return [type_invalid("spec", spec, "object")]
    errs: list[Cause] = []
    _str(errs, spec, "holderIdentity", "spec.holderIdentity")
    duration = _get(errs, spec, "leaseDurationSeconds", "spec.leaseDurationSeconds", "integer")
    if duration is not None and duration <= 0:
        errs.append(invalid_value("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = _get(errs, spec, "leaseTransitions", "spec.leaseTransitions", "integer")
    if transitions is not None and transitions < 0:
        errs.append(invalid_value("spec.leaseTransitions", transitions, "must be greater than or equal to 0"))
    for key in ("acquireTime", "renewTime"):
        _time_field(errs, spec, key, "spec." + key)
    strategy = _enum(errs, spec, "strategy", "spec.strategy", ["OldestEmulationVersion"])
    if _str(errs, spec, "preferredHolder", "spec.preferredHolder") and not strategy:
        errs.append(forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"))
    return errs


def validate_event(ev: dict) -> list[Cause]:
    """legacyValidateEvent for core/v1 Events, plus a required involvedObject."""
    errs: list[Cause] = []
    involved = ev.get("involvedObject")
    if involved is None:
        return [required("involvedObject")]
    if not isinstance(involved, dict):
        return [type_invalid("involvedObject", involved, "object")]
    for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"):
        _str(errs, involved, key, "involvedObject." + key)
    fields = ("reason", "message", "type", "reportingComponent", "reportingInstance", "action")
    reason, message, _, component, instance, action = (_str(errs, ev, k, k) for k in fields)
    _get(errs, ev, "count", "count", "integer")
    for key in ("firstTimestamp", "lastTimestamp", "eventTime"):
        _time_field(errs, ev, key, key)
    meta = ev.get("metadata") if isinstance(ev.get("metadata"), dict) else {}
    ns, involved_ns = meta.get("namespace") or "", involved.get("namespace") or ""
    mismatch = invalid_value("involvedObject.namespace", involved_ns, "does not match event.namespace")
    if not ev.get("eventTime"):
        if (not involved_ns and ns not in ("", "default")) or (involved_ns and ns != involved_ns):
            errs.append(mismatch)
        return errs
    if not involved_ns and ns not in ("default", "kube-system"):
        errs.append(mismatch)
    if not component:
        errs.append(required("reportingComponent"))
    errs += [invalid_value("reportingComponent", component, m) for m in qualified_name_errors(component)]
    for key, value, limit in (("reportingInstance", instance, 128), ("action", action, 128), ("reason", reason, 128)):
        if not value:
            errs.append(required(key))
        if len(value) > limit:
            errs.append(invalid_value(key, "", f"can have at most {limit} characters"))
    if len(message) > 1024:
        errs.append(invalid_value("message", "", "can have at most 1024 characters"))
    return errs


def validate_namespace(ns: dict) -> list[Cause]:
    """ValidateNamespace beyond metadata (whose name the server checks as a DNS-1123 label): spec.finalizers."""
    spec = ns.get("spec")
    if spec is None:
        return []
    if not isinstance(spec, dict):
        return [type_invalid("spec", spec, "object")]
    errs: list[Cause] = []
    for f in _strings(errs, spec, "finalizers", "spec.finalizers"):
        msgs = qualified_name_errors(f)
        if not msgs and "/" not in f and f not in ("kubernetes", "orphan", "foregroundDeletion"):
            msgs = ["name is neither a standard finalizer name nor is it fully qualified"]
        errs += [invalid_value("spec.finalizers", f, m) for m in msgs]
    return errs
