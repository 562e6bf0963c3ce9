"""POST selfsubjectaccessreviews (authorization.k8s.io/v1): "may I?", answered as RBAC would here.

`kubectl auth can-i` sends a SelfSubjectAccessReview (in protobuf) and prints the answer's
`status.allowed`. This cluster has one credential, the bearer token, and it may do anything, so the
review is allowed, except for what the `forbid` fault denies (then it answers as RBAC does: not
allowed, not explicitly denied, no reason). Ported from k/k
``pkg/registry/authorization/selfsubjectaccessreview/rest.go``: the spec is validated (exactly one of
resourceAttributes and nonResourceAttributes), nothing is stored, and the answer is 201 with the
review and its status.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.apimachinery.kinds import SELF_SUBJECT_ACCESS_REVIEWS as REVIEWS
from podherd.localcluster.apiserver.faults import Faults
from podherd.localcluster.apiserver.handlers.common import read_body
from podherd.localcluster.apiserver.handlers.write import respond

ALLOWED_REASON = "podherd local cluster: the bearer token's holder may do anything the forbid fault does not deny"


def _spec_causes(spec: Any) -> list[Cause]:
    """ValidateSelfSubjectAccessReviewSpec."""
    if not isinstance(spec, dict):
        spec = {}
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        return [
            Cause(
                "FieldValueInvalid",
                'Invalid value: "": cannot be specified in combination with resourceAttributes',
                "spec.nonResourceAttributes",
            )
        ]
    if resource is None and non_resource is None:
        return [
            Cause(
                "FieldValueInvalid",
                'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
                "spec.resourceAttributes",
            )
        ]
    return []


class AccessReviews:
    """Answers access reviews from the cluster's fault settings (its only authorization policy)."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    def review(self, body: Any) -> dict[str, Any]:
        """The answered review (the request's spec, and a status)."""
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a SelfSubjectAccessReview object")
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        causes = _spec_causes(spec)
        if causes:
            raise errors.invalid(REVIEWS.kind, "", causes, REVIEWS.group)
        attributes = spec.get("resourceAttributes")
        if isinstance(attributes, dict):
            allowed = not self.faults.forbids(str(attributes.get("verb") or ""), str(attributes.get("resource") or ""))
        else:
            allowed = True  # non-resource URLs (/healthz, /version): nothing forbids them
        status: dict[str, Any] = {"allowed": allowed}
        if allowed:
            status["reason"] = ALLOWED_REASON
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        return {
            "kind": REVIEWS.kind,
            "apiVersion": REVIEWS.api_version,
            "metadata": {**meta, "creationTimestamp": None},
            "spec": spec,
            "status": status,
        }

    async def create(self, request: web.Request) -> web.Response:
        return respond(request, self.review(await read_body(request)), 201)
