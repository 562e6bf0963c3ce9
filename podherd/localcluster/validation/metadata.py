"""ObjectMeta validation (ValidateObjectMeta), shared by every kind.

Messages follow ``apimachinery/pkg/api/validation/objectmeta.go`` (Kubernetes 1.32). The name
required check is the registry's (it knows whether generateName was given); the name's syntax rule
("subdomain" or "label") comes from the kind's strategy.
"""

from __future__ import annotations

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.validation.fieldcheck import (
    check_labels,
    field_objects,
    field_str,
    field_string_map,
    field_strings,
    field_value,
    invalid_value,
    required,
    too_long,
    type_invalid,
)
from podherd.localcluster.validation.names import (
    byte_len,
    dns1123_label_errors,
    object_name_errors,
    qualified_name_errors,
)

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


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
