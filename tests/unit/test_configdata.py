"""ConfigMap and Secret validation and body decoding (validation.configdata, registry.strategies.configdata)."""

from __future__ import annotations

import base64

import pytest

from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.registry.strategies.configdata import canonical_base64, fold_string_data
from podherd.localcluster.validation.configdata import (
    config_key_errors,
    validate_config_map,
    validate_frozen,
    validate_secret,
)


@pytest.mark.parametrize("key", ["a", "A_b-c.d", ".hidden", "x" * 253, "..a"[1:]])
def test_valid_keys(key: str) -> None:
    assert config_key_errors(key) == []


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("", "a valid config key"),
        ("a/b", "a valid config key"),
        (".", "must not be '.'"),
        ("..", "must not be '..'"),
        ("..data", "must not start with '..'"),
        ("x" * 254, "must be no more than 253 characters"),
    ],
)
def test_invalid_keys(key: str, fragment: str) -> None:
    assert any(fragment in m for m in config_key_errors(key))


def test_config_map_sizes_count_decoded_binary_data() -> None:
    half = base64.b64encode(b"\0" * (512 * 1024)).decode()
    assert validate_config_map({"data": {"a": "x" * (512 * 1024)}, "binaryData": {"b": half}}) == []
    causes = validate_config_map({"data": {"a": "x" * (512 * 1024) + "y"}, "binaryData": {"b": half}})
    assert [c.field for c in causes] == [""] and "1048576" in causes[0].message


def test_wrong_types_are_causes_not_exceptions() -> None:
    causes = validate_config_map({"data": {"a": 1}, "immutable": "yes"})
    assert {c.field for c in causes} == {"data[a]", "immutable"}


def test_frozen_objects() -> None:
    old = {"data": {"a": "1"}, "immutable": True}
    assert validate_frozen(old, {"data": {"a": "1"}, "immutable": True}, ("data",)) == []
    fields = [c.field for c in validate_frozen(old, {"data": {"a": "2"}}, ("data", "binaryData"))]
    assert fields == ["immutable", "data"]
    assert validate_frozen({"data": {}}, {"data": {"a": "2"}}, ("data",)) == []


@pytest.mark.parametrize(
    ("kind", "data", "fields"),
    [
        ("Opaque", {}, []),
        ("kubernetes.io/tls", {"tls.crt": "eA=="}, ["data[tls.key]"]),
        ("kubernetes.io/basic-auth", {}, ["data[username]", "data[password]"]),
        ("kubernetes.io/basic-auth", {"password": ""}, []),
        ("kubernetes.io/ssh-auth", {"ssh-privatekey": ""}, ["data[ssh-privatekey]"]),
        ("kubernetes.io/dockerconfigjson", {".dockerconfigjson": base64.b64encode(b"{}").decode()}, []),
        (
            "kubernetes.io/dockerconfigjson",
            {".dockerconfigjson": base64.b64encode(b"[1]").decode()},
            ["data[.dockerconfigjson]"],
        ),
        ("kubernetes.io/service-account-token", {}, ["metadata.annotations[kubernetes.io/service-account.name]"]),
        ("example.com/custom", {}, []),
    ],
)
def test_secret_type_rules(kind: str, data: dict[str, str], fields: list[str]) -> None:
    assert [c.field for c in validate_secret({"type": kind, "data": data})] == fields


def test_base64_values_are_made_canonical_or_refused() -> None:
    assert canonical_base64("Secret", "aGk=\n") == "aGk="
    with pytest.raises(ApiError) as ei:
        canonical_base64("Secret", "aG!k")
    assert ei.value.code == 400 and ei.value.message.endswith("illegal base64 data at input byte 2")
    assert canonical_base64("Secret", 5) == 5


def test_string_data_overwrites_data_and_type_defaults() -> None:
    out = fold_string_data({"data": {"a": "MQ==", "b": "Mg=="}, "stringData": {"a": "one"}})
    assert out == {"data": {"a": base64.b64encode(b"one").decode(), "b": "Mg=="}, "type": "Opaque"}
    assert fold_string_data({"type": "kubernetes.io/tls"})["type"] == "kubernetes.io/tls"
