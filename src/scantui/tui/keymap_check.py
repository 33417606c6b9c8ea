"""The binding ids of ``tui.keymap`` that no key of the app has: a typo in the config file is said, not ignored.

Textual's ``App.set_keymap`` silently skips an id no binding carries, so ``app.qiut: "x"`` left ``q`` quitting
and ``x`` doing nothing, with no word why. The ids the app knows are those of the ``Binding``s in the
``BINDINGS`` of every widget, screen and App class of :mod:`scantui.tui` (every module imported first: many
screens are imported only when first opened). It imports the whole TUI, so the App runs it in a thread worker,
and only when the config file has a keymap.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def known_binding_ids() -> frozenset[str]:
    """Every binding id of the TUI's widgets, screens and App (Textual's own widgets carry none)."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    import scantui.tui

    for module in pkgutil.walk_packages(scantui.tui.__path__, "scantui.tui."):
        importlib.import_module(module.name)
    return frozenset(binding.id for cls in set(_subclasses(DOMNode)) for binding in cls.__dict__.get("BINDINGS", ())
                     if isinstance(binding, Binding) and binding.id)


def unknown_ids(ids: Iterable[str]) -> list[tuple[str, str | None]]:
    """(id, the known id closest to it or None) for each of *ids* that no binding of the TUI has, in order."""
    from difflib import get_close_matches

    known = known_binding_ids()
    return [(binding_id, next(iter(get_close_matches(binding_id, known, n=1)), None))
            for binding_id in ids if binding_id not in known]


def unknown_ids_text(unknown: list[tuple[str, str | None]], path: object) -> str:
    """The notification's words: the file, then each unknown id quoted as data (``repr``: no control character)."""
    said = "; ".join(repr(binding_id) + (f" (did you mean {close!r}?)" if close else "") for binding_id, close in unknown)
    return (f"{path}: tui.keymap: no key has the binding id{'s' if len(unknown) > 1 else ''} {said}: ignored "
            "(the ids: the README's key remapping)")
