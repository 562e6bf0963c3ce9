"""What decoding a ConfigMap or Secret body does before validation: base64 values checked, stringData folded in.

In kube-apiserver the JSON body is decoded into the v1 Go type and converted to the internal one:
``binaryData`` and Secret ``data`` are ``[]byte``, so a value that is not standard base64 fails the
decode (400 BadRequest, nothing written) and a valid one is re-encoded canonically on the way out;
``Convert_v1_Secret_To_core_Secret`` writes every ``stringData`` entry over ``data`` and the field is
never stored; ``SetDefaults_Secret`` gives an empty ``type`` the value ``Opaque``. This happens on
every create, update and patch, before validation, as the decode does.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from podherd.localcluster.apimachinery import errors

_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def canonical_base64(kind: str, value: Any) -> Any:
    """A base64 value re-encoded as Go encodes []byte; 400 for one Go's decoder rejects. Non-strings pass
    through (validation reports their type)."""
    if not isinstance(value, str):
        return value
    text = value.replace("\r", "").replace("\n", "")  # base64.StdEncoding skips line breaks
    try:
        return base64.b64encode(base64.b64decode(text, validate=True)).decode("ascii")
    except (binascii.Error, ValueError):
        bad = next((i for i, c in enumerate(text) if c not in _ALPHABET), len(text))
        raise errors.bad_request(
            f'{kind} in version "v1" cannot be handled as a {kind}: illegal base64 data at input byte {bad}'
        ) from None


def decode_bag(kind: str, obj: dict[str, Any], key: str) -> dict[str, Any]:
    """`obj` with every value of the base64 map `obj[key]` checked and made canonical."""
    bag = obj.get(key)
    if not isinstance(bag, dict):
        return obj
    return {**obj, key: {k: canonical_base64(kind, v) for k, v in bag.items()}}


def fold_string_data(secret: dict[str, Any]) -> dict[str, Any]:
    """stringData written over data (as base64 of its UTF-8 bytes) and dropped; an empty type becomes Opaque."""
    out = dict(secret)
    strings = out.pop("stringData", None)
    if isinstance(strings, dict) and strings:
        data = dict(out["data"]) if isinstance(out.get("data"), dict) else {}
        for k, v in strings.items():
            data[k] = base64.b64encode(v.encode()).decode("ascii") if isinstance(v, str) else v
        out["data"] = data
    if not out.get("type"):
        out["type"] = "Opaque"
    return out
