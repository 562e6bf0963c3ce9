"""The registry's generic store: get, create, update and patch semantics for every kind (API.md §5, §7).

Kubernetes' `registry.Store`: resourceVersion preconditions, dry-run, server-owned metadata,
managedFields, generateName and no-op detection are implemented once here; what differs per kind
comes from its strategy (`strategies/`). This layer knows Kubernetes rules but not HTTP: handlers
decode requests, call these methods and render their results or `ApiError`s. Deletion lives in
`deletion`, namespace admission and termination in `namespaces`.
"""

from __future__ import annotations

import contextlib
import copy
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.apimachinery.kinds import NAMESPACES, ResourceType, lookup_resource
from podherd.localcluster.patch.apply import apply_patch
from podherd.localcluster.registry.managedfields.fieldmanager import FieldManager
from podherd.localcluster.registry.namespaces import NamespaceLifecycle
from podherd.localcluster.registry.strategies.base import Strategy
from podherd.localcluster.registry.strategies.catalog import strategy_for
from podherd.localcluster.storage.store import Key, Store, now_rfc3339
from podherd.localcluster.validation.metadata import validate_metadata

GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
SERVER_META = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds")


class Api:
    """Kubernetes write rules over the `Store`. All methods run on the server's loop thread."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.namespaces = NamespaceLifecycle(store, clock)
        self.fields = FieldManager(clock)
        self.create_namespace_object("default")

    # ---- helpers ------------------------------------------------------------------------------
    def key(self, rtype: ResourceType, namespace: str, name: str) -> Key:
        return (namespace if rtype.namespaced else "", name)

    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rtype.plural, self.key(rtype, namespace, name))
        if obj is None:
            raise errors.not_found(rtype.plural, name, rtype.group)
        return obj

    def _body_object(self, rtype: ResourceType, body: Any, namespace: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        kind = body.get("kind")
        if kind is not None and kind != rtype.kind:
            raise errors.bad_request(f"the kind of the object ({kind}) does not match the resource ({rtype.kind})")
        api_version = body.get("apiVersion")
        if api_version is not None and api_version != rtype.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version ({rtype.api_version})"
            )
        meta = body.get("metadata")
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        obj = {k: v for k, v in body.items() if k not in ("kind", "apiVersion")}
        obj["metadata"] = dict(meta)
        if rtype.namespaced:
            body_ns = meta.get("namespace") or ""
            if body_ns and body_ns != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            obj["metadata"]["namespace"] = namespace
        else:
            obj["metadata"].pop("namespace", None)
        return strategy_for(rtype).decode(obj)

    def _invalid_if(self, rtype: ResourceType, obj: dict[str, Any], causes: list[Cause]) -> None:
        if causes:
            name = obj["metadata"].get("name") or obj["metadata"].get("generateName") or ""
            raise errors.invalid(rtype.kind, name if isinstance(name, str) else "", causes, rtype.group)

    # ---- create -------------------------------------------------------------------------------
    def create(
        self,
        rtype: ResourceType,
        namespace: str,
        body: Any,
        manager: str = "unknown",
        dry_run: bool = False,
        managed_fields: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Create; `managed_fields` are an apply's (otherwise `manager`'s Update entry is computed)."""
        strategy = strategy_for(rtype)
        obj = self._body_object(rtype, body, namespace)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise errors.internal("resourceVersion should not be set on objects to be created")
        causes = validate_metadata(meta, rtype.namespaced, strategy.name_rule)
        if not meta.get("name") and not meta.get("generateName"):
            causes.insert(
                0, Cause("FieldValueRequired", "Required value: name or generateName is required", "metadata.name")
            )
        causes += strategy.validate(obj)
        self._invalid_if(rtype, obj, causes)
        if rtype.namespaced:
            self.namespaces.check_writable(namespace, rtype.plural, meta.get("name") or meta.get("generateName") or "")

        if not meta.get("name"):
            meta["name"] = self._generate_name(rtype, namespace, str(meta["generateName"]))
        key = self.key(rtype, namespace, meta["name"])
        existing = self.store.get(rtype.plural, key)
        if existing is not None:
            raise errors.already_exists(
                rtype.plural, meta["name"], rtype.group, "deletionTimestamp" in existing["metadata"]
            )
        for k in SERVER_META:
            meta.pop(k, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339(self.clock())
        if strategy.tracks_generation:
            meta["generation"] = 1
        if managed_fields is None:
            defaulted = strategy.scheme_defaults(obj)
            managed_fields = self.fields.update(rtype, strategy.has_status_subresource, None, defaulted, manager)
        obj = _with_managed_fields(strategy.canonicalize(strategy.prepare_for_create(obj)), managed_fields)
        if dry_run:
            return obj
        created = self.store.create(rtype.plural, key, obj)
        for resource, ns, body in strategy.companions(created):
            self.create_companion(resource, ns, body)
        return created

    def create_companion(self, resource: str, namespace: str, body: dict[str, Any]) -> None:
        """Create what a controller would for another object, unless it exists (controllers never fail a write)."""
        rtype = lookup_resource(resource)
        if rtype is None or self.store.get(resource, self.key(rtype, namespace, body["metadata"]["name"])):
            return
        with contextlib.suppress(errors.ApiError):  # e.g. a terminating namespace: the controller would not either
            self.create(rtype, namespace, body, manager="kube-controller-manager")

    def _generate_name(self, rtype: ResourceType, namespace: str, base: str) -> str:
        base = base[:58]
        for _ in range(8):
            name = base + "".join(random.choice(GENERATE_ALPHABET) for _ in range(5))
            if self.store.get(rtype.plural, self.key(rtype, namespace, name)) is None:
                return name
        raise errors.already_exists(rtype.plural, base, rtype.group)

    def create_namespace_object(self, name: str) -> dict[str, Any]:
        return self.create(NAMESPACES, "", {"metadata": {"name": name}}, manager="podherd-localcluster")

    # ---- update / patch -----------------------------------------------------------------------
    def update(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        subresource: str = "",
        manager: str = "unknown",
        dry_run: bool = False,
    ) -> dict[str, Any]:
        old = self.get(rtype, namespace, name)
        new = self._body_object(rtype, body, namespace)
        body_name = new["metadata"].get("name")
        if body_name != name:
            raise errors.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        rv = new["metadata"].get("resourceVersion") or ""
        if not rv and not strategy_for(rtype).allow_unconditional_update:
            raise errors.invalid(
                rtype.kind,
                name,
                [
                    Cause(
                        "FieldValueInvalid",
                        "Invalid value: 0: must be specified for an update",
                        "metadata.resourceVersion",
                    )
                ],
                rtype.group,
            )
        return self._write(rtype, old, new, rv, subresource, dry_run, manager)

    def patch(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        patch_type: str,
        raw: bytes,
        subresource: str = "",
        dry_run: bool = False,
        manager: str = "unknown",
    ) -> dict[str, Any]:
        old = self.get(rtype, namespace, name)
        full = {"kind": rtype.kind, "apiVersion": rtype.api_version, **old}
        patched = apply_patch(full, patch_type, raw, rtype.plural)
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
            raise errors.ApiError(422, "Invalid", "the server rejected our request due to an error in our request", {})
        if patched["metadata"].get("name") != name:
            raise errors.bad_request(
                f"the name of the object ({patched['metadata'].get('name')}) does not match the name on the URL ({name})"
            )
        new = self._body_object(rtype, patched, namespace)
        rv = new["metadata"].get("resourceVersion") or ""
        return self._write(rtype, old, new, rv, subresource, dry_run, manager)

    def write_applied(
        self,
        rtype: ResourceType,
        old: dict[str, Any],
        new: dict[str, Any],
        rv: str,
        subresource: str,
        dry_run: bool,
        manager: str,
        managed_fields: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        """Write what server-side apply computed over `old`, with the managedFields it computed."""
        return self._write(rtype, old, new, rv, subresource, dry_run, manager, managed_fields)

    def _write(
        self,
        rtype: ResourceType,
        old: dict[str, Any],
        new: dict[str, Any],
        rv: str,
        subresource: str,
        dry_run: bool,
        manager: str = "unknown",
        managed_fields: list[dict[str, Any]] | bool | None = False,
    ) -> dict[str, Any]:
        """Write `new` over `old`; `managed_fields` are an apply's (False: compute `manager`'s Update)."""
        name = old["metadata"]["name"]
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.optimistic_lock(rtype.plural, name, rtype.group)
        strategy = strategy_for(rtype)
        requested = new["metadata"].get("managedFields")
        new = self._carry_server_fields(strategy, old, new, subresource)
        causes = validate_metadata(new["metadata"], rtype.namespaced, strategy.name_rule)
        causes += strategy.validate(new)
        if subresource == "status":
            causes += strategy.validate_status_update(old, new)
        else:
            causes += strategy.validate_update(old, new)
        self._invalid_if(rtype, new, causes)
        if managed_fields is False:
            asked = {**new, "metadata": {**new["metadata"], "managedFields": requested}}
            managed_fields = self.fields.update(
                rtype, strategy.has_status_subresource, old, asked, manager, subresource
            )
        new = _with_managed_fields(
            strategy.canonicalize(new), managed_fields if isinstance(managed_fields, list) else None
        )
        if old == new:
            return old  # no-op writes neither bump the RV nor emit an event
        if dry_run:
            return new
        key = self.key(rtype, old["metadata"].get("namespace", ""), name)
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and meta.get("deletionGracePeriodSeconds") == 0:
            return self.store.delete(rtype.plural, key)  # the last finalizer of a deleted object is gone
        return self.store.update(rtype.plural, key, new)

    def _carry_server_fields(
        self, strategy: Strategy, old: dict[str, Any], new: dict[str, Any], subresource: str
    ) -> dict[str, Any]:
        """Keep what clients cannot change: server metadata, status on the main resource, spec on /status."""
        meta = dict(new["metadata"])
        for k in SERVER_META:
            if k in old["metadata"]:
                meta[k] = old["metadata"][k]
            else:
                meta.pop(k, None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        meta["managedFields"] = old["metadata"].get("managedFields", [])
        if subresource == "status":
            out = copy.copy(old)
            status = new.get("status")
            out["status"] = {} if status is None else status  # null is the zero status, serialised as {}
            return out
        out = dict(new)
        out["metadata"] = meta
        if strategy.has_status_subresource:
            if "status" in old:
                out["status"] = old["status"]
            else:
                out.pop("status", None)
        if strategy.tracks_generation and out.get("spec") != old.get("spec"):
            meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        return out


def _with_managed_fields(obj: dict[str, Any], entries: list[dict[str, Any]] | None) -> dict[str, Any]:
    """`obj` with these managedFields (none: the key is absent, as Go omits an empty list)."""
    meta = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    if entries:
        meta["managedFields"] = entries
    return {**obj, "metadata": meta}
