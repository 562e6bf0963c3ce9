"""The local cluster's patch engine: PATCH bodies applied the way kube-apiserver does (API.md §5).

Pure logic, no I/O: the server hands over the stored object and the raw body
and gets back a new object (the input is never modified) or an `ApiError`
shaped like the real one. Optimistic locking, `fieldManager` checks and
validation of the result stay with the server.

Server-side apply (`application/apply-patch+yaml`) is not a patch of the stored
object but a merge decided by field ownership; it lives in `registry.apply`
(with `registry.managedfields`). Only its body decoding is here:
`parse_apply_yaml` reads YAML as sigs.k8s.io/yaml does.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

import jsonpatch
import yaml
from jsonpointer import JsonPointerException

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.patch.schema import schema_for
from podherd.localcluster.patch.strategic import rejected, strategic_merge
from podherd.localcluster.validation.defaults import json_copy

JSON_PATCH: Final = "application/json-patch+json"
MERGE_PATCH: Final = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
APPLY_PATCH_YAML: Final = "application/apply-patch+yaml"
# The order kube-apiserver lists them in its 415 message.
SUPPORTED_PATCH_TYPES: Final[tuple[str, ...]] = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH_YAML)

MAX_JSON_PATCH_OPERATIONS: Final = 10000  # apiserver handlers/patch.go maxJSONPatchOperations
INVALID_JSON_PATCH: Final = "invalid JSON patch"

_NEEDS_VALUE: Final = frozenset({"add", "replace", "test"})
_NEEDS_FROM: Final = frozenset({"move", "copy"})
_OPERATIONS: Final = _NEEDS_VALUE | _NEEDS_FROM | {"remove"}


def normalize_patch_type(content_type: str | None) -> str:
    """The bare media type of a PATCH `Content-Type` (parameters such as charset dropped), or 415."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in SUPPORTED_PATCH_TYPES:
        return media
    raise errors.unsupported_media_type(content_type or "", list(SUPPORTED_PATCH_TYPES))


def apply_patch(original: dict[str, Any], patch_type: str, body: bytes, resource: str) -> dict[str, Any]:
    """Apply a PATCH body of `patch_type` to `original`, returning a new object.

    `resource` is the plural ("pods") and picks the strategic-merge schema. Server-side apply is not a
    patch of this kind: `registry.apply` handles it.
    """
    kind = normalize_patch_type(patch_type)
    if kind == APPLY_PATCH_YAML:
        raise ValueError("server-side apply goes through registry.apply, not apply_patch")
    if kind == JSON_PATCH:
        return _apply_json_patch(original, _parse_json(body))
    if kind == MERGE_PATCH:
        patch = _parse_json(body)
        if not isinstance(patch, dict):
            raise errors.bad_request("Invalid JSON Patch")  # evanphx/json-patch ErrBadJSONPatch
        return _merge_patch(json_copy(original), patch)
    patch = _parse_json(body)
    if not isinstance(patch, dict):
        raise errors.bad_request(
            f"json: cannot unmarshal {_json_type(patch)} into Go value of type map[string]interface {{}}"
        )
    return strategic_merge(json_copy(original), patch, schema_for(resource))


# --- decoding ------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are Python extensions, not JSON."""
    raise ValueError(f"invalid JSON constant {name}")


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise errors.bad_request(INVALID_JSON_PATCH) from None


def _json_type(value: Any) -> str:
    """Go's name for a JSON value's type in unmarshal errors."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "string"


class _ApplyLoader(yaml.SafeLoader):
    """YAML as sigs.k8s.io/yaml reads it: timestamps stay strings; aliases are refused (no bombs)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases are not supported", event.start_mark)
        return super().compose_node(parent, index)


_ApplyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_apply_yaml(body: bytes) -> Any:
    """An apply body: YAML (JSON is YAML), with timestamps as strings and no aliases; 400 when unreadable."""
    if not body or not body.strip():
        raise errors.bad_request("error decoding YAML: the request body is empty")
    try:
        return _json_compatible(yaml.load(body, Loader=_ApplyLoader))  # a SafeLoader subclass
    except yaml.YAMLError as err:
        raise errors.bad_request(f"error decoding YAML: {err}") from None
    except (ValueError, RecursionError) as err:
        raise errors.bad_request(f"error decoding YAML: {err}") from None


def _json_compatible(value: Any) -> Any:
    """Map keys become strings (as YAML-to-JSON conversion does); non-JSON values are refused."""
    if isinstance(value, dict):
        return {_key_string(k): _json_compatible(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_compatible(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not representable in JSON")
    if value is None or isinstance(value, str | int | float):
        return value
    raise ValueError(f"unsupported YAML value of type {type(value).__name__}")


def _key_string(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, str | int | float):
        return str(key)
    raise ValueError(f"unsupported YAML map key of type {type(key).__name__}")


# --- JSON patch (RFC 6902) -----------------------------------------------------------------------


def _check_operations(ops: Any) -> list[dict[str, Any]]:
    """The document's shape: 400 when malformed, 413 when too long (checked in apiserver order)."""
    if not isinstance(ops, list):
        raise errors.bad_request(f"{INVALID_JSON_PATCH}: the document must be an array of operations")
    if not all(isinstance(op, dict) for op in ops):
        raise errors.bad_request(f"{INVALID_JSON_PATCH}: every operation must be an object")
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise errors.request_entity_too_large(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}"
        )
    for index, op in enumerate(ops):
        name = op.get("op")
        if not isinstance(name, str) or name not in _OPERATIONS:
            raise errors.bad_request(f"{INVALID_JSON_PATCH}: operation {index} has no valid 'op'")
        if not isinstance(op.get("path"), str):
            raise errors.bad_request(f"{INVALID_JSON_PATCH}: operation {index} has no 'path'")
        if name in _NEEDS_VALUE and "value" not in op:
            raise errors.bad_request(f"{INVALID_JSON_PATCH}: operation {index} ({name}) has no 'value'")
        if name in _NEEDS_FROM and not isinstance(op.get("from"), str):
            raise errors.bad_request(f"{INVALID_JSON_PATCH}: operation {index} ({name}) has no 'from'")
    return ops


def _apply_json_patch(original: dict[str, Any], ops: Any) -> dict[str, Any]:
    """Any failure while applying (test, missing path, bad pointer) is the generic 422."""
    checked = _check_operations(ops)
    try:
        result = jsonpatch.JsonPatch(checked).apply(original)  # works on a deep copy
    except (
        jsonpatch.JsonPatchException,
        JsonPointerException,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
    ):
        raise rejected() from None
    if not isinstance(result, dict):
        raise rejected()
    return result


# --- merge patch (RFC 7386) ----------------------------------------------------------------------


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result
