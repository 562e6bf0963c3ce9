"""DELETE semantics: options, preconditions, pod grace periods, namespaces (API.md §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import ApiError, Cause
from podherd.localcluster.apimachinery.kinds import NAMESPACES, PODS, RESOURCES, ResourceType
from podherd.localcluster.registry.store import Api
from podherd.localcluster.storage.store import now_rfc3339
from podherd.timefmt import parse

POLICIES = ("Background", "Foreground", "Orphan")


@dataclass(frozen=True)
class DeleteOptions:
    grace_period: int | None = None
    uid: str | None = None
    resource_version: str | None = None
    dry_run: bool = False
    propagation: str | None = None


def parse_delete_options(body: Any, query: dict[str, str]) -> DeleteOptions:
    """Options come from a non-empty body; only with an empty body are query parameters used."""
    src: dict[str, Any]
    if body:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was not a DeleteOptions object")
        src = body
        pre = src.get("preconditions") or {}
        if not isinstance(pre, dict):
            raise errors.bad_request("preconditions must be an object")
        dry = src.get("dryRun") or []
        grace = src.get("gracePeriodSeconds")
        policy = src.get("propagationPolicy")
        orphan = src.get("orphanDependents")
    else:
        pre = {}
        dry = [query["dryRun"]] if query.get("dryRun") else []
        grace = query.get("gracePeriodSeconds")
        policy = query.get("propagationPolicy")
        orphan = query.get("orphanDependents")
    causes: list[Cause] = []
    if grace is not None:
        try:
            grace = int(grace)
        except (TypeError, ValueError):
            raise errors.bad_request(f"invalid gracePeriodSeconds: {grace!r}") from None
    if policy is not None and policy not in POLICIES:
        causes.append(
            Cause(
                "FieldValueNotSupported",
                f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"',
                "propagationPolicy",
            )
        )
    if policy is not None and orphan is not None:
        causes.append(
            Cause(
                "FieldValueInvalid",
                'Invalid value: "orphanDependents": orphanDependents and deletionPropagation cannot be both set',
                "propagationPolicy",
            )
        )
    if dry and (not isinstance(dry, list) or any(d != "All" for d in dry)):
        causes.append(Cause("FieldValueNotSupported", 'Unsupported value: supported values: "All"', "dryRun"))
    if causes:
        raise errors.invalid("DeleteOptions", "", causes, group="meta.k8s.io")
    uid = pre.get("uid")
    rv = pre.get("resourceVersion")
    return DeleteOptions(grace, uid or None, rv or None, bool(dry), policy)


def _check_preconditions(rtype: ResourceType, obj: dict[str, Any], opts: DeleteOptions) -> None:
    meta = obj["metadata"]
    name = meta["name"]
    if opts.uid is not None and opts.uid != meta.get("uid"):
        raise _precondition_conflict(
            rtype,
            name,
            f"the UID in the precondition ({opts.uid}) does not match the UID in record ({meta.get('uid')}). "
            "The object might have been deleted and then recreated",
        )
    if opts.resource_version is not None and opts.resource_version != meta.get("resourceVersion"):
        raise _precondition_conflict(
            rtype,
            name,
            f"the ResourceVersion in the precondition ({opts.resource_version}) does not match the "
            f"ResourceVersion in record ({meta.get('resourceVersion')}). The object might have been modified",
        )


def _precondition_conflict(rtype: ResourceType, name: str, why: str) -> ApiError:
    """Delete-precondition conflicts name the Kind, not the resource (store.go)."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rtype.kind} "{name}": {why}',
        {"name": name, "kind": rtype.kind},
    )


def _success_status(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {"name": obj["metadata"]["name"]}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    details["uid"] = obj["metadata"].get("uid", "")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def pod_grace_period(pod: dict[str, Any], requested: int | None) -> int:
    """CheckGracefulDelete for pods."""
    spec = pod.get("spec") or {}
    period = requested if requested is not None else spec.get("terminationGracePeriodSeconds", 30)
    if not isinstance(period, int):
        period = 30
    phase = (pod.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0
    return 1 if period < 0 else period


class Deleter:
    """Applies DELETE to one object; returns (body to send, deleted-now flag)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def delete(self, rtype: ResourceType, namespace: str, name: str, opts: DeleteOptions) -> dict[str, Any]:
        obj = self.api.get(rtype, namespace, name)
        _check_preconditions(rtype, obj, opts)
        if opts.dry_run:
            return self._answer(rtype, obj)
        if rtype is NAMESPACES:
            return self._delete_namespace(obj)
        key = self.api.key(rtype, namespace, name)
        meta = obj["metadata"]
        period = pod_grace_period(obj, opts.grace_period) if rtype is PODS else 0
        if meta.get("deletionTimestamp"):
            current = meta.get("deletionGracePeriodSeconds", 0)
            if period >= current:
                return self._answer(rtype, obj)  # a second DELETE may only shorten the grace
        if period > 0 or meta.get("finalizers"):
            start = self.api.clock()
            if meta.get("deletionTimestamp"):
                # Shortening: the first request's time plus the new period (BeforeDelete), not now + period.
                first = parse(meta["deletionTimestamp"])
                if first is not None:
                    start = first - int(meta.get("deletionGracePeriodSeconds") or 0)
            updated = dict(obj)
            updated["metadata"] = {
                **meta,
                "deletionTimestamp": now_rfc3339(start + period),
                "deletionGracePeriodSeconds": period,
            }
            if rtype is PODS and "generation" in meta:
                updated["metadata"]["generation"] = int(meta["generation"]) + 1
            return self._answer(rtype, self.store.update(rtype.plural, key, updated))
        return self._answer(rtype, self.store.delete(rtype.plural, key))

    def _answer(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if rtype.returns_deleted_object or rtype is NAMESPACES:
            return {"kind": rtype.kind, "apiVersion": rtype.api_version, **obj}
        return _success_status(rtype, obj)

    def _delete_namespace(self, ns: dict[str, Any]) -> dict[str, Any]:
        """Mark Terminating, delete the content; `finalize_namespaces` removes it once empty."""
        name = ns["metadata"]["name"]
        if ns.get("status", {}).get("phase") != "Terminating":
            updated = dict(ns)
            updated["metadata"] = {
                **ns["metadata"],
                "deletionTimestamp": now_rfc3339(self.api.clock()),
                "deletionGracePeriodSeconds": 0,
            }
            updated["status"] = {"phase": "Terminating"}
            ns = self.store.update("namespaces", ("", name), updated)
        for rtype in RESOURCES.values():
            if not rtype.namespaced:
                continue
            for key, obj in list(self.store.items(rtype.plural, name)):
                if "deletionTimestamp" in obj["metadata"]:
                    continue
                self.delete(rtype, key[0], key[1], DeleteOptions())
        self.finalize_namespaces()
        return {"kind": "Namespace", "apiVersion": "v1", **ns}

    def finalize_namespaces(self) -> None:
        """Remove terminating namespaces that hold nothing any more (the namespace controller's job)."""
        for key, ns in list(self.store.items("namespaces", None)):
            if ns.get("status", {}).get("phase") != "Terminating":
                continue
            empty = all(
                not any(True for _ in self.store.items(r.plural, key[1])) for r in RESOURCES.values() if r.namespaced
            )
            if empty:
                self.store.delete("namespaces", key)

    def delete_collection(
        self, rtype: ResourceType, namespace: str | None, match: Any, opts: DeleteOptions
    ) -> dict[str, Any]:
        items = []
        for key, obj in list(self.store.items(rtype.plural, namespace)):
            if not match(obj):
                continue
            try:
                out = self.delete(rtype, key[0], key[1], opts)
            except ApiError as e:
                if e.code == 404:
                    continue
                raise
            if out.get("kind") == rtype.kind:
                out = {k: v for k, v in out.items() if k not in ("kind", "apiVersion")}
            else:
                out = obj
            items.append(out)
        return {
            "kind": rtype.list_kind,
            "apiVersion": rtype.api_version,
            "metadata": {"resourceVersion": str(self.store.rv)},
            "items": items,
        }
