"""DELETE semantics: delete options, preconditions, graceful deletion and deletecollection (API.md §6).

The generic half of `registry.Store.Delete`: options are decoded and checked here, the grace period
comes from the kind's strategy (`CheckGracefulDelete`), and a namespace's DELETE is handed to its
lifecycle (`namespaces`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import ApiError, Cause
from podherd.localcluster.apimachinery.kinds import ResourceType
from podherd.localcluster.registry.store import Api
from podherd.localcluster.registry.strategies.base import Strategy
from podherd.localcluster.registry.strategies.catalog import strategy_for
from podherd.localcluster.storage.store import Key, now_rfc3339
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


class Deleter:
    """Applies DELETE to objects of any kind and answers with the body to send."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def delete(self, rtype: ResourceType, namespace: str, name: str, opts: DeleteOptions) -> dict[str, Any]:
        self.api.namespaces.admit_delete(rtype, name)
        obj = self.api.get(rtype, namespace, name)
        _check_preconditions(rtype, obj, opts)
        strategy = strategy_for(rtype)
        if opts.dry_run:
            return self._answer(strategy, rtype, obj)
        if strategy.deleted_by_lifecycle:
            ns = self.api.namespaces.terminate(obj, self._delete_default)
            return self._answer(strategy, rtype, ns)
        key = self.api.key(rtype, namespace, name)
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            return self._delete_again(strategy, rtype, key, obj, opts)
        if strategy.graceful_delete:
            # BeforeDelete then updateForGracefulDeletionAndFinalizers: the deletionTimestamp is always written
            # first (a MODIFIED event), also with a period of 0; only then is a 0-period object removed, so
            # its DELETED event (and the answer) carry deletionTimestamp and deletionGracePeriodSeconds: 0.
            period = strategy.grace_period(obj, opts.grace_period)
            obj = self.store.update(rtype.plural, key, self._graceful(strategy, obj, period))
            return self._finish(strategy, rtype, key, obj)
        if meta.get("finalizers"):
            return self._answer(strategy, rtype, self.store.update(rtype.plural, key, self._graceful(strategy, obj, 0)))
        return self._answer(strategy, rtype, self._remove(strategy, rtype, key))

    def _delete_again(
        self, strategy: Strategy, rtype: ResourceType, key: Key, obj: dict[str, Any], opts: DeleteOptions
    ) -> dict[str, Any]:
        """A DELETE of an object already being deleted (BeforeDelete's first branch).

        An object whose grace is already 0 (or unset) is removed now, once no finalizer holds it; otherwise
        only a shorter grace period changes anything, and no period at all leaves the pending deletion as is.
        """
        current = obj["metadata"].get("deletionGracePeriodSeconds")
        if not current:
            return self._finish(strategy, rtype, key, obj)
        period = 1 if opts.grace_period is not None and opts.grace_period < 0 else opts.grace_period
        if period is None or period >= current:
            return self._answer(strategy, rtype, obj)
        obj = self.store.update(rtype.plural, key, self._graceful(strategy, obj, period))
        return self._finish(strategy, rtype, key, obj)

    def _finish(self, strategy: Strategy, rtype: ResourceType, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        """Remove a marked object whose grace period is 0 and that no finalizer holds; else leave it terminating."""
        meta = obj["metadata"]
        if meta.get("deletionGracePeriodSeconds") or meta.get("finalizers"):
            return self._answer(strategy, rtype, obj)
        return self._answer(strategy, rtype, self._remove(strategy, rtype, key))

    def _remove(self, strategy: Strategy, rtype: ResourceType, key: Key) -> dict[str, Any]:
        """Remove the object from storage; a controller may create its replacement at once (see `replacement`)."""
        last = self.store.delete(rtype.plural, key)
        again = strategy.replacement(last)
        if again is not None:
            self.api.create_companion(rtype.plural, key[0], again)
        return last

    def _graceful(self, strategy: Strategy, obj: dict[str, Any], period: int) -> dict[str, Any]:
        """The object marked for deletion in `period` seconds (BeforeDelete)."""
        meta = obj["metadata"]
        start = self.api.clock()
        if meta.get("deletionTimestamp"):
            # Shortening: the first request's time plus the new period, not now + period.
            first = parse(meta["deletionTimestamp"])
            if first is not None:
                start = first - int(meta.get("deletionGracePeriodSeconds") or 0)
        updated = dict(obj)
        updated["metadata"] = {
            **meta,
            "deletionTimestamp": now_rfc3339(start + period),
            "deletionGracePeriodSeconds": period,
        }
        if strategy.tracks_generation and "generation" in meta and not meta.get("deletionTimestamp"):
            updated["metadata"]["generation"] = int(meta["generation"]) + 1
        return updated

    def _delete_default(self, rtype: ResourceType, namespace: str, name: str) -> None:
        self.delete(rtype, namespace, name, DeleteOptions())

    def _answer(self, strategy: Strategy, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if strategy.returns_deleted_object:
            return {"kind": rtype.kind, "apiVersion": rtype.api_version, **obj}
        return _success_status(rtype, obj)

    def finalize_namespaces(self) -> None:
        """Remove terminating namespaces that hold nothing any more (run periodically by the server)."""
        self.api.namespaces.finalize()

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
