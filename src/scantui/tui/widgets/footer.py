"""The footer every screen shows: the keys in compact style, without the command palette's key.

At 80 columns the default footer (padded keys, ``^p palette`` on the right) cut
the scanners screen's keys after ``1 O…``: the area keys did not show. The
palette key is on the ``?`` screen (and ctrl+p still opens it).

Where the screen's own keys and the App's do not fit in one row, the App's keys
are left out from the last one (they are all under ``everywhere`` in ``?``), never
``? Keys`` itself: the footer no longer ends in a cut word (``2 Sca``).

:class:`DialogFooter` is the bottom row of a pop-up (:class:`~scantui.tui.screens.dialog.DialogScreen`): the
pop-up's keys, never those of the screen beneath. A modal's ``active_bindings`` stop at the modal (the App's
keys, ``1``-``4`` and ``q``, do nothing there), so what it lists is what works; besides the keys shown in any
footer it names the keys the focused widget handles without showing them (enter in a field or a list, tab to
the next field), in the words the pop-up gives them. Typing keys (those an input consumes) are never listed.
An entry names an action's first key, or the keys the pop-up's ``FOOTER_SHOWN_KEYS`` names for it (``space/⏎``).

Textual's command palette (ctrl+p) has no footer: the bottom row under it was the screen beneath's (``q Quit``,
which types a ``q`` there). :func:`give_palette_a_footer` mounts a :class:`PaletteFooter` in it (its public
``mount``; the palette stays Textual's own class) with the palette's keys in words: run, previous, next, close.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: The App's key that stays in the footer whatever the width: it lists the ones left out.
HELP_ACTION = "help"


def key_width(key: FooterKey) -> int:
    """Columns a compact footer key takes: its key, a space and its description, then its right margin."""
    return cell_len(key.key_display) + (1 + cell_len(key.description) if key.description else 0) + 1


def left_out(keys: list[tuple[int, bool, str]], width: int) -> set[int]:
    """Which keys to leave out of a *width*-column row: *keys* are (width, may go, action) in footer order (the
    App's keys may go; in a pop-up all but the way out); those that may go go from the last one (never the help
    key) until the row fits."""
    total = sum(w for w, _app, _action in keys) - 1  # the last key's margin may fall off the edge
    out: set[int] = set()
    for i in range(len(keys) - 1, -1, -1):
        if total <= width:
            break
        w, app_key, action = keys[i]
        if app_key and action != HELP_ACTION:
            out.add(i)
            total -= w
    return out


class KeysFooter(Footer):
    """:class:`~textual.widgets.Footer`, compact, without the palette's key; the App's keys that do not fit in
    the row are left out (:func:`left_out`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        kwargs.setdefault("show_command_palette", False)
        super().__init__(**kwargs)
        self._fit: tuple[int, bool] | None = None  # (the composed keys' columns, whether some were left out)

    def _row_width(self) -> int:
        return self.size.width or self.app.size.width

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        app_keys = {(a.binding.key, a.binding.action) for a in self.screen.active_bindings.values() if a.node is self.app}
        keys = [(key_width(w), (w.key, w.action) in app_keys, w.action) for w in widgets if isinstance(w, FooterKey)]
        out = left_out(keys, self._row_width())
        self._fit = (sum(w for w, _app, _action in keys) - 1, bool(out))
        n = -1
        for widget in widgets:
            if isinstance(widget, FooterKey):
                n += 1
                if n in out:
                    continue
            yield widget

    def on_resize(self, _event: events.Resize) -> None:
        """A new width may fit the keys left out, or no longer fit those shown: compose again then."""
        if self._fit is None or not self._bindings_ready:
            return
        total, some_out = self._fit
        if some_out or total > self._row_width():
            self.call_after_refresh(self.recompose)


#: What a pop-up says a binding does there: (the node that binds it, the binding) -> its description, None: not
#: listed. :meth:`~scantui.tui.screens.dialog.DialogScreen.key_description` is the one scantui uses.
Describe = Callable[[DOMNode, Binding], "str | None"]

#: The way out of every pop-up: the action of this key is always in its footer, however narrow.
ESCAPE = "escape"


@dataclass(frozen=True)
class DialogKey:
    """One key of a pop-up's footer: the key pressed (a click simulates it), as drawn, what it does there."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool = True
    way_out: bool = False  # the action escape runs (cancel, close): never left out


def dialog_keys(screen: Any, describe: Describe, shown: Mapping[str, Sequence[str]] | None = None) -> list[DialogKey]:
    """The keys of the pop-up *screen* in footer order (the focused widget's, then its containers', then the
    pop-up's), one per action (its first key), each described by *describe*; bindings it does not describe are
    left out. Only the pop-up's ``active_bindings``: a modal's stop at the modal, the screen beneath is not in them.

    *shown* names, for an action, the keys its entry shows together (``space/⏎ Tick``: enter ticks a member as
    space does), those of them bound to it, in that order."""
    active_bindings = screen.active_bindings
    escape = active_bindings.get(ESCAPE)
    out: dict[str, DialogKey] = {}
    for active in active_bindings.values():
        binding = active.binding
        if binding.action in out:
            continue
        description = describe(active.node, binding)
        if description:
            display = screen.app.get_key_display(binding)
            if shown and binding.action in shown:
                bound = {a.binding.key: a.binding for a in active_bindings.values() if a.binding.action == binding.action}
                display = "/".join(screen.app.get_key_display(bound[k]) for k in shown[binding.action] if k in bound) or display
            out[binding.action] = DialogKey(binding.key, display, description, binding.action,
                                            active.enabled, escape is not None and escape.binding.action == binding.action)
    return list(out.values())


class DialogFooter(KeysFooter):
    """The footer of a pop-up: :func:`dialog_keys` of its screen, described by the screen's ``key_description``;
    what does not fit the row is left out from the end, whole, except the way out (what escape does)."""

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        describe: Describe = getattr(self.screen, "key_description", None) or self.describe
        keys = dialog_keys(self.screen, describe, getattr(self.screen, "FOOTER_SHOWN_KEYS", None))
        widths = [(cell_len(k.display) + 1 + cell_len(k.description) + 1, not k.way_out, k.action) for k in keys]
        out = left_out(widths, self._row_width())
        self._fit = (sum(w for w, _go, _action in widths) - 1, bool(out))
        for n, key in enumerate(keys):
            if n not in out:
                yield FooterKey(key.key, key.display, key.description, key.action,
                                disabled=not key.enabled).data_bind(compact=Footer.compact)

    def describe(self, node: DOMNode, binding: Binding) -> str | None:
        """What *binding* does, where the pop-up has no ``key_description``: its description, if shown."""
        return _shown(node, binding)

    def on_mount(self) -> None:
        """Compose at once: mounted by the pop-up after its own widgets, it may miss the pop-up's first
        bindings update (Textual's :class:`Footer` composes nothing before one)."""
        self._bindings_ready = True
        self.call_after_refresh(self.recompose)


def _shown(_node: DOMNode, binding: Binding) -> str | None:
    return binding.description if binding.show else None


#: The command palette's keys as its footer says them (key -> words; up and down are its field's, which the
#: palette's list answers); its other keys are not listed.
PALETTE_KEYS = {"enter": "Run", "up": "Previous", "down": "Next", "escape": "Close"}


class PaletteFooter(DialogFooter):
    """The bottom row of the command palette: its keys (:data:`PALETTE_KEYS`), not the screen beneath's."""

    def describe(self, _node: DOMNode, binding: Binding) -> str | None:
        return PALETTE_KEYS.get(binding.key)


def give_palette_a_footer(screen: Any) -> None:
    """Mount a :class:`PaletteFooter` in *screen* when it is the command palette (the App's screen changes)."""
    from textual.command import CommandPalette

    if isinstance(screen, CommandPalette) and not screen.query(PaletteFooter):
        screen.mount(PaletteFooter())
