"""OpenAPI v3 `paths` for the served resources: one operation per verb, shaped like kube-apiserver's.

What clients read from them: ``kubectl explain`` finds a resource's GVK in the
``x-kubernetes-group-version-kind`` of an operation on its path (plaintext.tmpl), and kubectl's
field-validation check (cli-runtime ``query_param_verifier_v3.go``) looks for a `fieldValidation`
query parameter on the kind's PATCH operation. Query parameter descriptions come from the comments of
meta/v1's option messages (ListOptions, PatchOptions, ...), where the real server takes them from too.
Watch paths (``/watch/...``, deprecated) and `deletecollection`'s list parameters are left out.
"""

from __future__ import annotations

from typing import Any

from podherd.localcluster.apimachinery.kinds import ResourceType
from podherd.localcluster.apimachinery.proto.schema import META, Schema
from podherd.localcluster.apiserver.openapi.schemas import REF, description, schema_name
from podherd.localcluster.registry.strategies.catalog import strategy_for

_OPTIONS = {
    "list": (
        "ListOptions",
        (
            "allowWatchBookmarks",
            "continue",
            "fieldSelector",
            "labelSelector",
            "limit",
            "resourceVersion",
            "resourceVersionMatch",
            "sendInitialEvents",
            "timeoutSeconds",
            "watch",
        ),
    ),
    "create": ("CreateOptions", ("dryRun", "fieldManager", "fieldValidation")),
    "replace": ("UpdateOptions", ("dryRun", "fieldManager", "fieldValidation")),
    "patch": ("PatchOptions", ("dryRun", "fieldManager", "fieldValidation", "force")),
    "delete": ("DeleteOptions", ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")),
    "deletecollection": ("DeleteOptions", ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")),
}
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
_ANSWERS = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_ACTIONS = {
    "read": "get",
    "list": "list",
    "create": "post",
    "replace": "put",
    "patch": "patch",
    "delete": "delete",
    "deletecollection": "deletecollection",
}
_METHODS = {
    "read": "get",
    "list": "get",
    "create": "post",
    "replace": "put",
    "patch": "patch",
    "delete": "delete",
    "deletecollection": "delete",
}


class PathBuilder:
    """The paths of one group-version's resources."""

    def __init__(self, proto: Schema, group: str, version: str) -> None:
        self.proto = proto
        self.group, self.version = group, version
        label = group.split(".", 1)[0] if group else "core"
        self.tag = f"{label}_{version}"
        self.id_infix = label[:1].upper() + label[1:] + version[:1].upper() + version[1:]
        self.prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"

    def paths(self, kinds: list[ResourceType], kind_messages: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for r in sorted(kinds, key=lambda r: r.plural):
            message = kind_messages[r.kind]
            ns = "/namespaces/{namespace}" if r.namespaced else ""
            scope = "Namespaced" if r.namespaced else ""
            collection = {
                v: op
                for v, op in (("list", "list"), ("create", "create"), ("deletecollection", "deletecollection"))
                if v in r.verbs
            }
            item = {
                v: op
                for v, op in (("get", "read"), ("update", "replace"), ("patch", "patch"), ("delete", "delete"))
                if v in r.verbs
            }
            if collection:
                out[f"{self.prefix}{ns}/{r.plural}"] = self._path(r, message, scope, collection.values(), named=False)
            if item:
                out[f"{self.prefix}{ns}/{r.plural}/{{name}}"] = self._path(r, message, scope, item.values(), named=True)
            if r.namespaced and "list" in r.verbs:
                out[f"{self.prefix}/{r.plural}"] = self._path(
                    r, message, "", ["list"], named=False, all_namespaces=True
                )
            for sub, verbs in r.subresources:
                ops = [op for v, op in (("get", "read"), ("update", "replace"), ("patch", "patch")) if v in verbs]
                out[f"{self.prefix}{ns}/{r.plural}/{{name}}/{sub}"] = self._path(
                    r, message, scope, ops, named=True, sub=sub
                )
        return dict(sorted(out.items()))

    def _path(
        self,
        r: ResourceType,
        message: str,
        scope: str,
        operations: Any,
        named: bool,
        sub: str = "",
        all_namespaces: bool = False,
    ) -> dict[str, Any]:
        path: dict[str, Any] = {}
        for op in operations:
            path[_METHODS[op]] = self._operation(r, message, scope, op, sub, all_namespaces)
        params = []
        if named:
            params.append(_path_param("name", f"name of the {r.kind}"))
        if scope:
            params.append(_path_param("namespace", "object name and auth scope, such as for teams and projects"))
        params.append(
            {
                "name": "pretty",
                "in": "query",
                "description": "If 'true', then the output is pretty printed.",
                "schema": {"type": "string", "uniqueItems": True},
            }
        )
        path["parameters"] = params
        return path

    def _operation(
        self, r: ResourceType, message: str, scope: str, op: str, sub: str, all_namespaces: bool
    ) -> dict[str, Any]:
        suffix = sub[:1].upper() + sub[1:]
        kind = r.kind + suffix
        if all_namespaces:
            operation_id = f"list{self.id_infix}{r.kind}ForAllNamespaces"
        else:
            verb = "deleteCollection" if op == "deletecollection" else op
            operation_id = f"{verb}{self.id_infix}{scope}{kind}"
        ref = {"$ref": REF + schema_name(message)}
        status = {"$ref": REF + schema_name(f"{META}.Status")}
        list_ref = {"$ref": REF + schema_name(message + "List")}
        out: dict[str, Any] = {
            "tags": [self.tag],
            "description": _describe(op, r.kind, sub, all_namespaces),
            "operationId": operation_id,
        }
        if sub != "log" and op in _OPTIONS:
            out["parameters"] = self._options(op)
        if op in ("create", "replace"):
            out["requestBody"] = {"content": {"*/*": {"schema": ref}}, "required": True}
        elif op == "patch":
            patch = {"$ref": REF + schema_name(f"{META}.Patch")}
            out["requestBody"] = {"content": {t: {"schema": patch} for t in _PATCH_TYPES}, "required": True}
        elif op in ("delete", "deletecollection"):
            out["requestBody"] = {"content": {"*/*": {"schema": {"$ref": REF + schema_name(f"{META}.DeleteOptions")}}}}
        answer = list_ref if op == "list" else ref
        if op == "deletecollection" or (op == "delete" and not strategy_for(r).returns_deleted_object):
            answer = status
        if sub == "log":
            out["responses"] = {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}}
        else:
            codes = {
                "create": ("200", "201", "202"),
                "replace": ("200", "201"),
                "patch": ("200", "201"),
                "delete": ("200", "202"),
            }.get(op, ("200",))
            out["responses"] = {
                c: {"description": _CODE_TEXT[c], "content": {t: {"schema": answer} for t in _ANSWERS}} for c in codes
            }
        out["x-kubernetes-action"] = _ACTIONS[op] if op != "read" or sub != "log" else "connect"
        out["x-kubernetes-group-version-kind"] = {"group": self.group, "version": self.version, "kind": r.kind}
        return out

    def _options(self, op: str) -> list[dict[str, Any]]:
        message_name, names = _OPTIONS[op]
        message = self.proto.message(f"{META}.{message_name}")
        out = []
        for name in names:
            f = message.by_json.get(name)
            if f is None:
                continue
            kind = {"bool": "boolean", "int32": "integer", "int64": "integer"}.get(f.type, "string")
            out.append(
                {
                    "name": name,
                    "in": "query",
                    "description": description(f.comment),
                    "schema": {"type": kind, "uniqueItems": True},
                }
            )
        return out


_CODE_TEXT = {"200": "OK", "201": "Created", "202": "Accepted"}


def _path_param(name: str, text: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "description": text,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


def _describe(op: str, kind: str, sub: str, all_namespaces: bool) -> str:
    if sub:
        return {
            "read": f"read {sub} of the specified {kind}",
            "replace": f"replace {sub} of the specified {kind}",
            "patch": f"partially update {sub} of the specified {kind}",
        }[op]
    if all_namespaces:
        return f"list or watch objects of kind {kind}"
    return {
        "read": f"read the specified {kind}",
        "list": f"list or watch objects of kind {kind}",
        "create": f"create a {kind}",
        "replace": f"replace the specified {kind}",
        "patch": f"partially update the specified {kind}",
        "delete": f"delete a {kind}",
        "deletecollection": f"delete collection of {kind}",
    }[op]
