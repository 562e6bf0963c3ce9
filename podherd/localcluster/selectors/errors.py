"""The error type and Go-style quoting shared by label and field selectors.

Why a module of its own: `label` and `field` both raise `SelectorError`, so the shared
pieces live below both.
"""

from __future__ import annotations

import json


class SelectorError(ValueError):
    """A selector apimachinery would reject; ``str()`` is the detail message."""


def go_quote(s: str) -> str:
    """Go's %q closely enough for error texts (identical for printable ASCII)."""
    return json.dumps(s, ensure_ascii=False)
