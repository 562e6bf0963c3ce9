"""Object validation for the local API server, with apimachinery's field-error texts.

Each validator returns ``list[Cause]``; the server wraps a non-empty list with
``errors.invalid(kind, name, causes)`` (422). Rules and messages follow
``apimachinery/pkg/util/validation``, ``pkg/api/validation`` and ``pkg/apis/core/validation``
(Kubernetes 1.32). Split of work: the server calls `validate_metadata` itself (and adds "name or
generateName is required"), so the kind validators check only the rest of the object. A JSON value
of the wrong type becomes a ``FieldValueTypeInvalid`` cause worded like kube-openapi's (a real
server fails decoding with a 400 instead); nothing here raises.

This module holds metadata, lease, event and namespace validation and is the import point for
all of it: pods live in `podvalidation`, name syntax in `names`, cause builders and typed field
access in `fieldcheck`, and their public names are re-exported here.
"""

from __future__ import annotations

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.validation.fieldcheck import (
    JSONDict,
    check_labels,
    duplicate,
    field_enum,
    field_objects,
    field_str,
    field_string_map,
    field_strings,
    field_time,
    field_value,
    forbidden,
    go_quote,
    invalid_value,
    not_found,
    not_supported,
    parse_time,
    required,
    too_long,
    type_invalid,
)
from podherd.localcluster.validation.names import (
    byte_len,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    is_dns1123_label,
    is_dns1123_subdomain,
    label_value_errors,
    object_name_errors,
    qualified_name_errors,
    validate_label_key,
    validate_label_value,
)
from podherd.localcluster.validation.pods import (
    FIELD_IMMUTABLE,
    MAX_INT32,
    POD_UPDATE_FORBIDDEN,
    validate_pod,
    validate_pod_update,
)

__all__ = [
    "FIELD_IMMUTABLE",
    "MAX_INT32",
    "POD_UPDATE_FORBIDDEN",
    "TOTAL_ANNOTATION_SIZE_LIMIT",
    "Cause",
    "JSONDict",
    "dns1123_label_errors",
    "dns1123_subdomain_errors",
    "duplicate",
    "forbidden",
    "go_quote",
    "invalid_value",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "label_value_errors",
    "not_found",
    "not_supported",
    "parse_time",
    "qualified_name_errors",
    "required",
    "too_long",
    "type_invalid",
    "validate_event",
    "validate_label_key",
    "validate_label_value",
    "validate_lease",
    "validate_metadata",
    "validate_namespace",
    "validate_pod",
    "validate_pod_update",
]

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


# ---- metadata -----------------------------------------------------------------------------------------


def validate_metadata(meta: dict, namespaced: bool, name_rule: str = "subdomain") -> list[Cause]:
    """ValidateObjectMeta minus the name-required check, which the server adds when both names are missing.

    ``name_rule`` is "subdomain" (most kinds) or "label" (namespaces). The server clears the namespace
    of cluster-scoped objects before calling this, so it is not checked for them.
    """
    if not isinstance(meta, dict):
        return [type_invalid("metadata", meta, "object")]
    errs: list[Cause] = []
    generate_name = field_str(errs, meta, "generateName", "metadata.generateName")
    if generate_name:
        errs += [
            invalid_value("metadata.generateName", generate_name, m)
            for m in object_name_errors(generate_name, name_rule, True)
        ]
    name = field_str(errs, meta, "name", "metadata.name")
    if name:
        errs += [invalid_value("metadata.name", name, m) for m in object_name_errors(name, name_rule)]
    if namespaced:
        ns = field_str(errs, meta, "namespace", "metadata.namespace")
        if not ns:
            errs.append(required("metadata.namespace"))
        errs += [invalid_value("metadata.namespace", ns, m) for m in (dns1123_label_errors(ns) if ns else [])]
    generation = field_value(errs, meta, "generation", "metadata.generation", "integer")
    if generation is not None and generation < 0:
        errs.append(invalid_value("metadata.generation", generation, "must be greater than or equal to 0"))
    check_labels(errs, field_string_map(errs, meta, "labels", "metadata.labels"), "metadata.labels")
    annotations = field_string_map(errs, meta, "annotations", "metadata.annotations")
    for k in annotations:
        errs += [invalid_value("metadata.annotations", k, m) for m in qualified_name_errors(k.lower())]
    if sum(byte_len(k) + byte_len(v) for k, v in annotations.items()) > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long("metadata.annotations", TOTAL_ANNOTATION_SIZE_LIMIT))
    finalizers = field_strings(errs, meta, "finalizers", "metadata.finalizers")
    for f in finalizers:
        errs += [invalid_value("metadata.finalizers", f, m) for m in qualified_name_errors(f)]
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(
            invalid_value(
                "metadata.finalizers", finalizers, "finalizer orphan and foregroundDeletion cannot be both set"
            )
        )
    for _, ref in field_objects(errs, meta, "ownerReferences", "metadata.ownerReferences"):
        path = "metadata.ownerReferences"
        api_version = field_str(errs, ref, "apiVersion", path + ".apiVersion")
        if not api_version or api_version.endswith("/"):
            errs.append(invalid_value(path + ".apiVersion", api_version, "version must not be empty"))
        for key in ("kind", "name", "uid"):
            if not field_str(errs, ref, key, f"{path}.{key}"):
                errs.append(invalid_value(f"{path}.{key}", "", "must not be empty"))
    return errs


# ---- leases, events, namespaces -----------------------------------------------------------------------


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
