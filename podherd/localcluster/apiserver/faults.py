"""Fault injection for reliability tests: errors, throttling, latency, watch drops, compaction.

Set at start (`podherd cluster up --fault ...`) or at runtime through the
token-protected admin endpoint `PUT /admin/faults` with the same JSON shape
`Faults.to_dict()` returns. Faults touch only API resource requests, never
discovery or the admin endpoint.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apimachinery.errors import ApiError

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


@dataclass
class Faults:
    """What to break, and how often. Rates are probabilities in [0, 1]."""

    error_rate: dict[str, float] = field(default_factory=dict)  # verb (or "*") -> rate of 500/503
    error_codes: list[int] = field(default_factory=lambda: [500, 503])
    throttle_rate: float = 0.0  # rate of 429 with Retry-After
    retry_after: int = 1
    latency_ms: float = 0.0  # added to every API request
    drop_watches_every: float = 0.0  # seconds; 0 = off
    compact_every: float = 0.0  # seconds; 0 = off
    forbid: list[str] = field(default_factory=list)  # "verb" or "verb/resource": answer 403 as RBAC would
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._rng.seed(self.seed)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_rng")
        return d

    def update(self, data: Any) -> None:
        """Apply a partial update; bad input raises a 400/422 ApiError and changes nothing."""
        if not isinstance(data, dict):
            raise errors.bad_request("faults must be a JSON object")
        known = {f.name for f in fields(self) if not f.name.startswith("_")}
        unknown = sorted(set(data) - known)
        if unknown:
            raise errors.bad_request(
                f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        staged = Faults(**{**self.to_dict(), **data})
        staged.validate()
        for name in known:
            setattr(self, name, getattr(staged, name))
        if "seed" in data and self.seed is not None:
            self._rng.seed(self.seed)

    def validate(self) -> None:
        def rate(name: str, v: Any) -> None:
            if not isinstance(v, int | float) or not 0 <= v <= 1:
                raise errors.bad_request(f"{name} must be a number between 0 and 1, got {v!r}")

        if not isinstance(self.error_rate, dict):
            raise errors.bad_request("error_rate must map a verb (or '*') to a rate")
        for verb, v in self.error_rate.items():
            if verb != "*" and verb not in VERBS:
                raise errors.bad_request(f"error_rate: unknown verb {verb!r}; verbs: *, {', '.join(VERBS)}")
            rate(f"error_rate[{verb}]", v)
        rate("throttle_rate", self.throttle_rate)
        if not self.error_codes or any(c not in (500, 502, 503, 504) for c in self.error_codes):
            raise errors.bad_request("error_codes must be a non-empty list of 500, 502, 503, 504")
        if not isinstance(self.forbid, list) or any(
            not isinstance(f, str) or f.split("/", 1)[0] not in VERBS for f in self.forbid
        ):
            raise errors.bad_request(f"forbid must be a list of 'verb' or 'verb/resource'; verbs: {', '.join(VERBS)}")
        for name in ("retry_after", "latency_ms", "drop_watches_every", "compact_every"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or v < 0:
                raise errors.bad_request(f"{name} must be a non-negative number, got {v!r}")

    def forbids(self, verb: str, resource: str) -> bool:
        """Whether RBAC, as `forbid` sets it up, denies `verb` on `resource`. Access reviews themselves are
        always allowed, as the system:basic-user role grants them to everyone."""
        if resource == "selfsubjectaccessreviews":
            return False
        return verb in self.forbid or f"{verb}/{resource}" in self.forbid

    def injected_error(self, verb: str, resource: str = "", namespace: str = "") -> ApiError | None:
        """The error to answer instead of serving this request, if the dice (or `forbid`) say so."""
        if self.forbids(verb, resource):
            return errors.rbac_forbidden(verb, resource, namespace)
        if self.throttle_rate and self._rng.random() < self.throttle_rate:
            return errors.too_many_requests(int(self.retry_after))
        rate = self.error_rate.get(verb, self.error_rate.get("*", 0.0))
        if rate and self._rng.random() < rate:
            code = self._rng.choice(self.error_codes)
            if code == 503:
                return errors.service_unavailable(
                    "injected fault: the server is currently unable to handle the request"
                )
            if code == 504:
                return errors.timeout("injected fault: the request timed out")
            return errors.ApiError(code, "InternalError", "Internal error occurred: injected fault", {})
        return None

    @classmethod
    def parse_flag(cls, specs: list[str]) -> Faults:
        """Parse `--fault key=value` flags, e.g. `error_rate.create=0.05`, `throttle_rate=0.01`."""
        data: dict[str, Any] = {}
        rates: dict[str, float] = {}
        for spec in specs:
            if "=" not in spec:
                raise ValueError(f"--fault {spec!r}: expected KEY=VALUE")
            key, value = spec.split("=", 1)
            key = key.strip().replace("-", "_")
            try:
                if key.startswith("error_rate."):
                    rates[key.split(".", 1)[1]] = float(value)
                elif key == "error_rate":
                    rates["*"] = float(value)
                elif key == "forbid":
                    data[key] = [x for x in value.split(",") if x]
                elif key == "error_codes":
                    data[key] = [int(x) for x in value.split(",") if x]
                elif key in ("seed", "retry_after"):
                    data[key] = int(value)
                else:
                    data[key] = float(value)
            except ValueError:
                raise ValueError(f"--fault {spec!r}: {value!r} is not a number") from None
        if rates:
            data["error_rate"] = rates
        f = cls()
        try:
            f.update(data)
        except ApiError as e:
            raise ValueError(f"--fault: {e.message}") from None
        return f
