"""What every server-side table shares: column definitions, and ages as kubectl shows them.

Kept apart from `tables` (the pod, namespace, event and lease printers) and `kindtables` (the other
kinds' printers) so that both build columns and AGE cells the same way, as ``printers.go`` does with
``metav1.ObjectMeta{}.SwaggerDoc()`` and ``translateTimestampSince``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from podherd.localcluster.validation.fieldcheck import parse_time

JSONDict = dict[str, Any]

NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended for "
    "creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is "
    "represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


def col(name: str, description: str, priority: int = 0, fmt: str = "", type_: str = "string") -> JSONDict:
    """A TableColumnDefinition."""
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


NAME_COL = col("Name", NAME_DOC, fmt="name")
AGE_COL = col("Age", CREATED_DOC)


def human_duration(d: timedelta) -> str:
    """duration.HumanDuration: ``0s``, ``90s``, ``2m``, ``5m30s``, ``61m``, ``3h``, ``3h2m``, ``30h``, ``2d``, ``2y``."""
    total_us = (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    seconds = -(-total_us // 1_000_000) if total_us < 0 else total_us // 1_000_000  # truncate toward zero
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m" if seconds % 60 == 0 else f"{minutes}m{seconds % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def since(value: Any, now: datetime) -> str:
    """translateTimestampSince: ``<unknown>`` for a missing time."""
    t = parse_time(value)
    return "<unknown>" if t is None else human_duration(now - t)
