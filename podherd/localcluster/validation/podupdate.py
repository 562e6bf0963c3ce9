"""Pod update validation: ValidatePodUpdate's update-only rules (immutable identity, the few mutable spec fields).

Run by the pod strategy after `metadata.validate_metadata` and `pods.validate_pod` have checked the
new object, so neither is repeated here. Both specs are compared after scheme defaulting, as the
server decodes a PUT body with defaults applied.
"""

from __future__ import annotations

import json
from typing import Any

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.validation.defaults import default_pod_spec, with_default_tolerations
from podherd.localcluster.validation.fieldcheck import JSONDict, forbidden, inclusive_range, invalid_value
from podherd.localcluster.validation.pods import MAX_INT32

FIELD_IMMUTABLE = "field is immutable"
POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


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


def _update_rules(errs: list[Cause], old_spec: JSONDict, new_spec: JSONDict) -> bool:
    """Rules on containers, deadline, tolerations, gates (False: stop). Defaulting changes none of these."""
    for key in ("containers", "initContainers"):
        was, now = old_spec.get(key) or [], new_spec.get(key) or []
        if not isinstance(was, list) or not isinstance(now, list) or len(was) != len(now):
            errs.append(forbidden("spec." + key, "pod updates may not add or remove containers"))
            return False
    field = "spec.activeDeadlineSeconds"
    old_deadline, deadline = old_spec.get("activeDeadlineSeconds"), new_spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int):
        if not 0 <= deadline <= MAX_INT32:
            errs.append(invalid_value(field, deadline, inclusive_range(0, MAX_INT32)))
            return False
        if isinstance(old_deadline, int) and old_deadline < deadline:
            errs.append(invalid_value(field, deadline, "must be less than or equal to previous value"))
            return False
    elif old_deadline is not None:
        errs.append(invalid_value(field, None, "must not update from a positive integer to nil value"))
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
    return True


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
    if old_spec == new_spec:  # label/annotation writes: equal specs pass the whitelist comparison below
        _update_rules(errs, old_spec, new_spec)
        return errs
    old_spec, new_spec = _internal_spec(old_spec), _internal_spec(new_spec)
    for key in ("priority", "preemptionPolicy"):  # Priority admission keeps the old values on update
        if new_spec.get(key) is None:
            new_spec[key] = old_spec.get(key)
    if not _update_rules(errs, old_spec, new_spec):
        return errs
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
