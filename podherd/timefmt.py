"""Kubernetes time formats: metav1.Time (whole seconds) and MicroTime, both UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def rfc3339(t: float | None = None) -> str:
    """Whole-second UTC timestamp, as metav1.Time serialises: 2006-01-02T15:04:05Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


def micro(t: float | None = None) -> str:
    """MicroTime: 2006-01-02T15:04:05.000000Z."""
    t = t if t is not None else time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1e6):06d}Z"


def parse(text: str) -> float | None:
    """Seconds since the epoch for an RFC 3339 time (with or without fraction); None if unparseable."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()
    except (ValueError, AttributeError, TypeError):
        return None
