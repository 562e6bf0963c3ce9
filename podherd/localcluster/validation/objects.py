"""Validation of the small kinds: leases, core/v1 events and namespaces (pods have `pods`).

Each validator returns ``list[Cause]`` for everything but metadata (see `metadata`); the registry
wraps a non-empty list in a 422 Invalid. Rules and messages follow ``pkg/apis/core/validation`` and
``pkg/apis/coordination/validation`` (Kubernetes 1.32). A JSON value of the wrong type becomes a
``FieldValueTypeInvalid`` cause (see `fieldcheck`); nothing here raises.
"""

from __future__ import annotations

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.validation.fieldcheck import (
    field_enum,
    field_str,
    field_strings,
    field_time,
    field_value,
    forbidden,
    invalid_value,
    required,
    type_invalid,
)
from podherd.localcluster.validation.names import qualified_name_errors


def validate_lease(lease: dict) -> list[Cause]:
    """ValidateLeaseSpec (coordination.k8s.io/v1): every field optional, but sane when set."""
    spec = lease.get("spec")
    if spec is None:
        return []
    if not isinstance(spec, dict):
        return [type_invalid("spec", spec, "object")]
    errs: list[Cause] = []
    field_str(errs, spec, "holderIdentity", "spec.holderIdentity")
    duration = field_value(errs, spec, "leaseDurationSeconds", "spec.leaseDurationSeconds", "integer")
    if duration is not None and duration <= 0:
        errs.append(invalid_value("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = field_value(errs, spec, "leaseTransitions", "spec.leaseTransitions", "integer")
    if transitions is not None and transitions < 0:
        errs.append(invalid_value("spec.leaseTransitions", transitions, "must be greater than or equal to 0"))
    for key in ("acquireTime", "renewTime"):
        field_time(errs, spec, key, "spec." + key)
    strategy = field_enum(errs, spec, "strategy", "spec.strategy", ["OldestEmulationVersion"])
    if field_str(errs, spec, "preferredHolder", "spec.preferredHolder") and not strategy:
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
        field_str(errs, involved, key, "involvedObject." + key)
    fields = ("reason", "message", "type", "reportingComponent", "reportingInstance", "action")
    reason, message, _, component, instance, action = (field_str(errs, ev, k, k) for k in fields)
    field_value(errs, ev, "count", "count", "integer")
    for key in ("firstTimestamp", "lastTimestamp", "eventTime"):
        field_time(errs, ev, key, key)
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
    for f in field_strings(errs, spec, "finalizers", "spec.finalizers"):
        msgs = qualified_name_errors(f)
        if not msgs and "/" not in f and f not in ("kubernetes", "orphan", "foregroundDeletion"):
            msgs = ["name is neither a standard finalizer name nor is it fully qualified"]
        errs += [invalid_value("spec.finalizers", f, m) for m in msgs]
    return errs
