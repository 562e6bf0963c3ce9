"""Image references parse like distribution/reference.ParseNormalizedNamed."""

from __future__ import annotations

import pytest

from podherd.localcluster.validation.imageref import ImageRef, is_valid_image_reference, parse_image_reference

SHA = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "ref",
    [
        "busybox",
        "busybox:1.36",
        "python:3.11-slim",
        "library/python:3.11",
        "ghcr.io/a/b:1",
        "ghcr.io/org/sub/repo",
        "localhost/x",
        "localhost:5000/x@" + SHA,
        "registry.example.com:443/team/app:v1.2.3_rc-1",
        "Registry.Example.com/app",  # the domain may be uppercase, the path may not
        "[::1]:5000/img:tag",
        "127.0.0.1:5000/img",
        "a__b/c--d/e.f",
        "x:latest@" + SHA,
        "x@sha512:" + "b" * 128,
        "x:" + "t" * 128,
    ],
)
def test_valid_references(ref: str) -> None:
    assert is_valid_image_reference(ref), ref


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "UPPER",
        "library/Upper",
        "bad image",
        "a::b",
        "a:",
        "a@",
        ":tag",
        "/x",
        "x/",
        "a//b",
        "a/-b",
        "a_/b",
        "x:" + "t" * 129,  # tag too long
        "x:-tag",  # a tag starts with a word character
        "x@sha256:" + "a" * 63,  # wrong digest length
        "x@sha256:" + "A" * 64,  # go-digest wants lowercase hex
        "x@md5:" + "a" * 32,  # unregistered algorithm
        "a" * 64,  # a bare 64-hex identifier is refused
        "example.com/" + "a" * 250,  # name over 255 characters
        "exa mple.com/x",
        "x\n",
    ],
)
def test_invalid_references(ref: str) -> None:
    assert not is_valid_image_reference(ref), ref


def test_docker_hub_normalisation() -> None:
    assert parse_image_reference("busybox") == ImageRef("docker.io/library/busybox", "", "")
    assert parse_image_reference("index.docker.io/foo/bar:1") == ImageRef("docker.io/foo/bar", "1", "")
    assert parse_image_reference("docker.io/busybox:1.36") == ImageRef("docker.io/library/busybox", "1.36", "")
    assert parse_image_reference("myorg/app") == ImageRef("docker.io/myorg/app", "", "")
    assert parse_image_reference("localhost:5000/x:2") == ImageRef("localhost:5000/x", "2", "")


def test_pull_tag_is_latest_only_without_tag_or_digest() -> None:
    assert parse_image_reference("busybox").pull_tag == "latest"  # type: ignore[union-attr]
    assert parse_image_reference("busybox:1.36").pull_tag == "1.36"  # type: ignore[union-attr]
    assert parse_image_reference("busybox@" + SHA).pull_tag == ""  # type: ignore[union-attr]
    ref = parse_image_reference("busybox:1@" + SHA)
    assert ref is not None and str(ref) == "docker.io/library/busybox:1@" + SHA


def test_non_string_is_invalid() -> None:
    assert not is_valid_image_reference(None)  # type: ignore[arg-type]
    assert not is_valid_image_reference(5)  # type: ignore[arg-type]


@pytest.mark.timeout(60)  # a backtracking pattern would take hours on these: the timeout fails it
def test_long_hostile_input_is_refused_without_backtracking() -> None:
    for ref in ("a" * 100_000 + "!", "a-" * 50_000 + "!", "a." * 50_000 + "/!", "a" * 100_000 + ":" + "b" * 1000):
        assert not is_valid_image_reference(ref)
