"""Container image references, parsed the way the kubelet does.

The kubelet (``pkg/util/parsers.ParseImageName``) and the API server's imagePullPolicy
defaulting both go through ``distribution/reference.ParseNormalizedNamed``. A reference that
fails it is ``InvalidImageName`` in the kubelet; one without a tag or digest means ``:latest``.
This module reproduces that grammar (``reference/regexp.go``), the Docker Hub normalisation
(``normalize.go`` splitDockerDomain) and go-digest's digest check.
"""

from __future__ import annotations

import re
from typing import NamedTuple

DEFAULT_DOMAIN = "docker.io"
_LEGACY_DEFAULT_DOMAIN = "index.docker.io"
_OFFICIAL_REPO_PREFIX = "library/"
NAME_TOTAL_LENGTH_MAX = 255

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_AND_PORT = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

# RE2's \w is ASCII-only, hence re.ASCII.
_REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_ANCHORED_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")
# go-digest: only the algorithms registered by importing crypto/sha256 and crypto/sha512.
_DIGEST_HEX_LEN = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX_RE = re.compile(r"[a-f0-9]+")


class ImageRef(NamedTuple):
    """A parsed reference: fully qualified repository name, tag ('' if none), digest ('' if none)."""

    name: str
    tag: str
    digest: str

    @property
    def pull_tag(self) -> str:
        """The tag the kubelet would pull: an explicit tag, else ``latest`` unless pinned by digest."""
        return self.tag or ("" if self.digest else "latest")

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out


def _split_docker_domain(name: str) -> tuple[str, str]:
    """normalize.go splitDockerDomain: decide whether the first path element is a registry."""
    maybe_domain, slash, maybe_remote = name.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, _OFFICIAL_REPO_PREFIX + name
    if maybe_domain == "localhost" or any(c in maybe_domain for c in ".:") or maybe_domain.lower() != maybe_domain:
        domain, remote = maybe_domain, maybe_remote
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == _LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = _OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def _valid_digest(digest: str) -> bool:
    """go-digest Digest.Validate: a registered algorithm and exactly its length of lowercase hex."""
    algorithm, _, encoded = digest.partition(":")
    want = _DIGEST_HEX_LEN.get(algorithm)
    return want is not None and len(encoded) == want and _LOWER_HEX_RE.fullmatch(encoded) is not None


def parse_image_reference(ref: str) -> ImageRef | None:
    """ParseNormalizedNamed; None where Go returns an error (the kubelet's InvalidImageName)."""
    if not isinstance(ref, str) or not ref or _ANCHORED_IDENTIFIER_RE.fullmatch(ref):
        return None
    domain, remainder = _split_docker_domain(ref)
    remote_name = remainder.split(":", 1)[0]
    if remote_name.lower() != remote_name:
        return None
    match = _REFERENCE_RE.fullmatch(domain + "/" + remainder)
    if match is None:
        return None
    name, tag, digest = match.group(1), match.group(2) or "", match.group(3) or ""
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        return None
    if digest and not _valid_digest(digest):
        return None
    return ImageRef(name, tag, digest)


def is_valid_image_reference(ref: str) -> bool:
    """True when the kubelet could pull this reference (it would not report InvalidImageName)."""
    return parse_image_reference(ref) is not None
