"""Pod validation: the spec rules run on every pod create and update (ValidatePodSpec and the container rules).

Why a module of its own: pods carry most of the API's rules (containers, ports, env, resources,
tolerations), and they change independently of the small validators in `objects`. The rules only
an update runs (immutability, the mutable-field whitelist) are `podupdate`'s.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.validation.defaults import (
    QUANTITY_FORMAT_MSG,
    parse_quantity,
)
from podherd.localcluster.validation.fieldcheck import (
    JSONDict,
    check_labels,
    duplicate,
    field_enum,
    field_objects,
    field_str,
    field_string_map,
    field_strings,
    field_value,
    forbidden,
    inclusive_range,
    invalid_value,
    not_found,
    not_supported,
    required,
    type_invalid,
)
from podherd.localcluster.validation.names import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    label_value_errors,
    port_name_errors,
    qualified_name_errors,
)

MAX_INT32 = 2**31 - 1

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef")
_STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _validate_ports(errs: list[Cause], c: JSONDict, path: str) -> None:
    names: set[str] = set()
    for i, port in field_objects(errs, c, "ports", path):
        p = f"{path}[{i}]"
        name = field_str(errs, port, "name", p + ".name")
        if name:
            msgs = port_name_errors(name)
            errs += [invalid_value(p + ".name", name, m) for m in msgs]
            if not msgs and name in names:
                errs.append(duplicate(p + ".name", name))
            names.add(name)
        number = field_value(errs, port, "containerPort", p + ".containerPort", "integer")
        if not number:
            errs.append(required(p + ".containerPort"))
        elif not 1 <= number <= 65535:
            errs.append(invalid_value(p + ".containerPort", number, inclusive_range(1, 65535)))
        host = field_value(errs, port, "hostPort", p + ".hostPort", "integer")
        if host and not 1 <= host <= 65535:
            errs.append(invalid_value(p + ".hostPort", host, inclusive_range(1, 65535)))
        field_enum(errs, port, "protocol", p + ".protocol", _PROTOCOLS)


def _validate_env(errs: list[Cause], c: JSONDict, path: str) -> None:
    for i, env in field_objects(errs, c, "env", path):
        p = f"{path}[{i}]"
        name = field_str(errs, env, "name", p + ".name")
        if env.get("name") in (None, ""):
            errs += [
                required(p + ".name"),
                invalid_value(p + ".name", name, "environment variable name must be non-empty"),
            ]
        elif any(not (" " <= ch <= "~") or ch == "=" for ch in name):  # RelaxedEnvironmentVariableValidation (GA)
            msg = "a valid environment variable name must consist only of printable ASCII characters other than '='"
            errs.append(invalid_value(p + ".name", name, msg))
        value = field_str(errs, env, "value", p + ".value")
        source = field_value(errs, env, "valueFrom", p + ".valueFrom", "object")
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
    res = field_value(errs, c, "resources", path, "object")
    if not res:
        return
    parsed: dict[str, dict[str, tuple[Any, Decimal]]] = {}
    for kind in ("limits", "requests"):
        parsed[kind] = {}
        for name, raw in (field_value(errs, res, kind, f"{path}.{kind}", "object") or {}).items():
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
    name = field_str(errs, c, "name", path + ".name")
    if c.get("name") in (None, ""):  # a mistyped value already has its cause
        errs.append(required(path + ".name"))
    errs += [invalid_value(path + ".name", name, m) for m in (dns1123_label_errors(name) if name else [])]
    image = field_str(errs, c, "image", path + ".image")
    if c.get("image") in (None, ""):
        errs.append(required(path + ".image"))
    elif image.strip() != image:
        errs.append(invalid_value(path + ".image", image, "must not have leading or trailing whitespace"))
    field_strings(errs, c, "command", path + ".command")
    field_strings(errs, c, "args", path + ".args")
    field_str(errs, c, "workingDir", path + ".workingDir")
    field_enum(errs, c, "terminationMessagePolicy", path + ".terminationMessagePolicy", _TERMINATION_MESSAGE_POLICIES)
    _validate_ports(errs, c, path + ".ports")
    _validate_env(errs, c, path + ".env")
    mount_paths: set[str] = set()
    for i, mount in field_objects(errs, c, "volumeMounts", path + ".volumeMounts"):
        p = f"{path}.volumeMounts[{i}]"
        vol = field_str(errs, mount, "name", p + ".name")
        if not vol:
            errs.append(required(p + ".name"))
        if vol not in volumes:
            errs.append(not_found(p + ".name", vol))
        mount_path = field_str(errs, mount, "mountPath", p + ".mountPath")
        if not mount_path:
            errs.append(required(p + ".mountPath"))
        if mount_path in mount_paths:
            errs.append(invalid_value(p + ".mountPath", mount_path, "must be unique"))
        mount_paths.add(mount_path)
    field_enum(errs, c, "imagePullPolicy", path + ".imagePullPolicy", _PULL_POLICIES)
    _validate_resources(errs, c, path + ".resources")
    for key in ("stdin", "stdinOnce", "tty"):
        field_value(errs, c, key, f"{path}.{key}", "boolean")
    restart = field_str(errs, c, "restartPolicy", path + ".restartPolicy")
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
    for i, t in field_objects(errs, spec, "tolerations", "spec.tolerations"):
        p = f"spec.tolerations[{i}]"
        key, op = field_str(errs, t, "key", p + ".key"), field_str(errs, t, "operator", p + ".operator")
        value, effect = field_str(errs, t, "value", p + ".value"), field_str(errs, t, "effect", p + ".effect")
        seconds = field_value(errs, t, "tolerationSeconds", p + ".tolerationSeconds", "integer")
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
    for i, vol in field_objects(errs, spec, "volumes", "spec.volumes"):
        p = f"spec.volumes[{i}].name"
        name = field_str(errs, vol, "name", p)
        bad = [required(p)] if not name else [invalid_value(p, name, m) for m in dns1123_label_errors(name)]
        bad += [duplicate(p, name)] if name in volumes else []
        errs += bad
        volumes |= set() if bad else {name}
    containers = field_objects(errs, spec, "containers", "spec.containers")
    if not spec.get("containers"):
        errs.append(required("spec.containers"))
    names: set[str] = set()
    for i, c in containers:
        name = _validate_container(errs, c, f"spec.containers[{i}]", volumes, init=False)
        if name in names:
            errs.append(duplicate(f"spec.containers[{i}].name", name))
        names.add(name)
    for i, c in field_objects(errs, spec, "initContainers", "spec.initContainers"):
        name = _validate_container(errs, c, f"spec.initContainers[{i}]", volumes, init=True)
        if name in names:
            errs.append(duplicate(f"spec.initContainers[{i}].name", name))
        elif name:
            names.add(name)
    field_enum(errs, spec, "restartPolicy", "spec.restartPolicy", _RESTART_POLICIES)
    field_enum(errs, spec, "dnsPolicy", "spec.dnsPolicy", _DNS_POLICIES)
    field_enum(errs, spec, "preemptionPolicy", "spec.preemptionPolicy", ("PreemptLowerPriority", "Never"))
    check_labels(errs, field_string_map(errs, spec, "nodeSelector", "spec.nodeSelector"), "spec.nodeSelector")
    for key in ("serviceAccountName", "nodeName", "priorityClassName"):
        value = field_str(errs, spec, key, "spec." + key)
        errs += [invalid_value("spec." + key, value, m) for m in (dns1123_subdomain_errors(value) if value else [])]
    for key in ("hostname", "subdomain"):
        value = field_str(errs, spec, key, "spec." + key)
        errs += [invalid_value("spec." + key, value, m) for m in (dns1123_label_errors(value) if value else [])]
    for key in ("hostNetwork", "hostPID", "hostIPC", "enableServiceLinks", "automountServiceAccountToken"):
        field_value(errs, spec, key, "spec." + key, "boolean")
    deadline = field_value(errs, spec, "activeDeadlineSeconds", "spec.activeDeadlineSeconds", "integer")
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        errs.append(invalid_value("spec.activeDeadlineSeconds", deadline, inclusive_range(1, MAX_INT32)))
    grace = field_value(errs, spec, "terminationGracePeriodSeconds", "spec.terminationGracePeriodSeconds", "integer")
    if grace is not None and grace < 0:
        errs.append(invalid_value("spec.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"))
    _validate_tolerations(errs, spec)
    gates: set[str] = set()
    for i, gate in field_objects(errs, spec, "schedulingGates", "spec.schedulingGates"):
        name = field_str(errs, gate, "name", f"spec.schedulingGates[{i}].name")
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
