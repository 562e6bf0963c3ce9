"""Pod defaulting on create, as the API server and its default admission plugins apply it.

Scheme defaults come from ``pkg/apis/core/v1/defaults.go`` (run on every decoded Pod body);
admission adds the service account, priority and the NoExecute tolerations; the pod strategy's
PrepareForCreate discards client status and computes the QoS class (API.md §7). Resource
quantities are parsed here too, because both QoS and validation compare them.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from podherd.localcluster.validation.imageref import parse_image_reference

JSONDict = dict[str, Any]

QUANTITY_FORMAT_MSG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_QUANTITY_RE = re.compile(
    r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?", re.ASCII
)
_DECIMAL_EXP = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_EXP = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}

TERMINATION_MESSAGE_PATH = "/dev/termination-log"
DEFAULT_TOLERATION_SECONDS = 300
_NOT_READY = "node.kubernetes.io/not-ready"
_UNREACHABLE = "node.kubernetes.io/unreachable"
_SYSTEM_PRIORITIES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
_QOS_RESOURCES = ("cpu", "memory")
_IMMUTABLE_SCALARS = frozenset({str, int, float, bool, type(None)})

# Go struct field order, so stored pods serialise like a real server's (kubectl -o yaml looks familiar).
_POD_ORDER = ("metadata", "spec", "status")
_SPEC_ORDER = [
    "volumes",
    "initContainers",
    "containers",
    "ephemeralContainers",
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "activeDeadlineSeconds",
    "dnsPolicy",
    "nodeSelector",
    "serviceAccountName",
    "serviceAccount",
    "automountServiceAccountToken",
    "nodeName",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "shareProcessNamespace",
    "securityContext",
    "imagePullSecrets",
    "hostname",
    "subdomain",
    "affinity",
    "schedulerName",
    "tolerations",
    "hostAliases",
    "priorityClassName",
    "priority",
    "dnsConfig",
    "readinessGates",
    "runtimeClassName",
    "enableServiceLinks",
    "preemptionPolicy",
    "overhead",
    "topologySpreadConstraints",
    "setHostnameAsFQDN",
    "os",
    "hostUsers",
    "schedulingGates",
    "resourceClaims",
    "resources",
]
_CONTAINER_ORDER = [
    "name",
    "image",
    "command",
    "args",
    "workingDir",
    "ports",
    "envFrom",
    "env",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "volumeMounts",
    "volumeDevices",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
    "securityContext",
    "stdin",
    "stdinOnce",
    "tty",
]


def parse_quantity(value: Any) -> Decimal | None:
    """resource.ParseQuantity: a JSON string or number like ``500m``, ``1Gi``, ``1e3``; None if invalid."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = value if isinstance(value, str) else repr(value)
    m = _QUANTITY_RE.fullmatch(text)
    if m is None:
        return None
    number, suffix = m.group(1), m.group(2) or ""
    try:
        amount = Decimal(number)
        if suffix in _BINARY_EXP:
            return amount * (2 ** _BINARY_EXP[suffix])
        if suffix[:1] in ("e", "E") and len(suffix) > 1:
            return amount.scaleb(int(suffix[1:]))
        return amount.scaleb(_DECIMAL_EXP.get(suffix, 0))
    except (InvalidOperation, ValueError, OverflowError):
        return None


def default_pull_policy(image: str) -> str:
    """SetDefaults_Container: Always for ``:latest`` or no tag (digest-only pins are IfNotPresent)."""
    ref = parse_image_reference(image)
    return "Always" if ref is not None and ref.pull_tag == "latest" else "IfNotPresent"


def _ordered(d: JSONDict, order: tuple[str, ...] | list[str]) -> JSONDict:
    out = {k: d[k] for k in order if k in d}
    out.update((k, v) for k, v in d.items() if k not in out)
    return out


def _dicts(value: Any) -> list[JSONDict]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _default_handler(handler: Any) -> None:
    """SetDefaults_HTTPGetAction inside probes and lifecycle hooks."""
    if isinstance(handler, dict) and isinstance(handler.get("httpGet"), dict):
        handler["httpGet"].setdefault("path", "/")
        handler["httpGet"].setdefault("scheme", "HTTP")


def _default_probe(probe: Any) -> None:
    """SetDefaults_Probe."""
    if not isinstance(probe, dict):
        return
    _default_handler(probe)
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = value


def _default_container(c: JSONDict, host_network: bool) -> JSONDict:
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = default_pull_policy(c.get("image") if isinstance(c.get("image"), str) else "")
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = TERMINATION_MESSAGE_PATH
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    if c.get("resources") is None:
        c["resources"] = {}
    resources = c["resources"]
    if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
        # SetDefaults_Pod: requests default to limits, key by key.
        requests = resources.get("requests")
        if not isinstance(requests, dict):
            requests = {}
        resources["requests"] = {**resources["limits"], **requests}
    for port in _dicts(c.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if host_network and not port.get("hostPort") and port.get("containerPort"):
            port["hostPort"] = port["containerPort"]
    for env in _dicts(c.get("env")):
        ref = env.get("valueFrom", {}).get("fieldRef") if isinstance(env.get("valueFrom"), dict) else None
        if isinstance(ref, dict) and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(key))
    if isinstance(c.get("lifecycle"), dict):
        for hook in ("postStart", "preStop"):
            _default_handler(c["lifecycle"].get(hook))
    return _ordered(c, _CONTAINER_ORDER)


def _default_volume(v: JSONDict) -> None:
    """SetDefaults_Volume (no source means emptyDir) and the 0644 defaultMode of file projections."""
    if all(val is None for key, val in v.items() if key != "name"):
        v["emptyDir"] = {}
    for source in ("secret", "configMap", "projected", "downwardAPI"):
        if isinstance(v.get(source), dict) and v[source].get("defaultMode") is None:
            v[source]["defaultMode"] = 420


def json_copy(value: Any) -> Any:
    """A deep copy of decoded JSON (dicts, lists, scalars), several times faster than `copy.deepcopy`.

    Unlike deepcopy it does not preserve aliasing (a dict referenced twice is copied twice), which
    JSON bodies never have. Values of any other type fall back to `copy.deepcopy`.
    """
    t = type(value)
    if t is dict:
        return {k: v if type(v) in _IMMUTABLE_SCALARS else json_copy(v) for k, v in value.items()}
    if t is list:
        return [v if type(v) in _IMMUTABLE_SCALARS else json_copy(v) for v in value]
    if t in _IMMUTABLE_SCALARS:
        return value
    return copy.deepcopy(value)


def default_pod_spec(spec: JSONDict) -> JSONDict:
    """Scheme defaults for a PodSpec (a deep copy). The decoder applies these to every Pod body, updates too."""
    return _default_spec_in_place(json_copy(spec))


def _default_spec_in_place(spec: JSONDict) -> JSONDict:
    """`default_pod_spec` on a spec the caller owns: nested values are defaulted in place."""
    host_network = spec.get("hostNetwork") is True
    for v in _dicts(spec.get("volumes")):
        _default_volume(v)
    for key in ("initContainers", "containers"):
        if isinstance(spec.get(key), list):
            spec[key] = [_default_container(c, host_network) if isinstance(c, dict) else c for c in spec[key]]
    for key, value in (
        ("restartPolicy", "Always"),
        ("terminationGracePeriodSeconds", 30),
        ("dnsPolicy", "ClusterFirst"),
        ("securityContext", {}),
        ("schedulerName", "default-scheduler"),
        ("enableServiceLinks", True),
    ):
        if spec.get(key) is None or spec.get(key) == "":
            spec[key] = value
    return _ordered(spec, _SPEC_ORDER)


def with_default_tolerations(tolerations: Any) -> list[Any]:
    """DefaultTolerationSeconds admission: tolerate not-ready/unreachable for 300 s unless already tolerated."""
    out = list(tolerations) if isinstance(tolerations, list) else []
    current = _dicts(out)
    for key in (_NOT_READY, _UNREACHABLE):
        tolerated = any(t.get("key") in (key, "", None) and t.get("effect") in ("NoExecute", "", None) for t in current)
        if not tolerated:
            out.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
                }
            )
    return out


def default_pod(pod: JSONDict) -> JSONDict:
    """A new pod with create-time defaults: scheme defaults, admission fields, and a fresh Pending status."""
    out = json_copy(pod)
    spec = out.get("spec")
    if isinstance(spec, dict):
        spec = _default_spec_in_place(spec)  # `out` is already a copy
        # ServiceAccount admission; the v1 conversion mirrors the name into the deprecated field.
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        spec["serviceAccountName"] = spec["serviceAccount"] = account
        # Priority admission, with no PriorityClass objects beyond the two built-in system classes.
        spec["priority"] = _SYSTEM_PRIORITIES.get(spec.get("priorityClassName") or "", 0)
        if not spec.get("preemptionPolicy"):
            spec["preemptionPolicy"] = "PreemptLowerPriority"
        spec["tolerations"] = with_default_tolerations(spec.get("tolerations"))
        out["spec"] = _ordered(spec, _SPEC_ORDER)
    out["status"] = {"phase": "Pending", "qosClass": qos_class(out)}
    return _ordered(out, _POD_ORDER)


def _positive(value: Any) -> Decimal | None:
    q = parse_quantity(value)
    return q if q is not None and q > 0 else None


def qos_class(pod: JSONDict) -> str:
    """ComputePodQOS over containers and init containers (requests default to limits)."""
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for c in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        res = c.get("resources") if isinstance(c.get("resources"), dict) else {}
        lim = res.get("limits") if isinstance(res.get("limits"), dict) else {}
        req = res.get("requests") if isinstance(res.get("requests"), dict) else {}
        for name, value in {**lim, **req}.items():
            q = _positive(value) if name in _QOS_RESOURCES else None
            if q is not None:
                requests[name] = requests.get(name, Decimal(0)) + q
        found = set()
        for name, value in lim.items():
            q = _positive(value) if name in _QOS_RESOURCES else None
            if q is not None:
                found.add(name)
                limits[name] = limits.get(name, Decimal(0)) + q
        if not found.issuperset(_QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and len(requests) == len(limits) and all(limits.get(n) == q for n, q in requests.items()):
        return "Guaranteed"
    return "Burstable"
