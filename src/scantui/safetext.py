"""Untrusted text made safe to show: AS names, hostnames and file content are data.

``safe_text`` replaces control characters (ESC included) with a visible ``\\xNN``
so no terminal sequence reaches the screen; ``safe_markup`` additionally escapes
Rich markup for places that interpret it (Rich/Textual markup strings). Widgets
that take ``rich.text.Text`` need only ``safe_text``.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe_text(value: Any, *, limit: int | None = None) -> str:
    """Printable text: control characters shown as ``\\xNN``, never sent raw; cut to *limit* chars."""
    text = "" if value is None else str(value)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def safe_markup(value: Any, *, limit: int | None = None) -> str:
    """Like :func:`safe_text`, with Rich markup escaped (``[bold]`` shows literally)."""
    from rich.markup import escape

    return escape(safe_text(value, limit=limit))
