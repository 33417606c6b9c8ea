"""``enter`` on a packet: its dissection, layer by layer, with a hex view beside it.

:class:`DissectionScreen` asks the model's :func:`~scantui.analysis.packets.dissect`
(made by scapy, imported by that call: the first packet opened loads it, never the
start-up) in a thread worker: one section per layer with its fields, and
:func:`~scantui.analysis.packets.hexdump` of the bytes. From a capture the bytes
are the packet's own record; from Parquet/CSV/LOG data they are a frame
synthesized from the packet's fields, and the note at the top says so. Side by
side from 120 columns; narrower, the bytes sit under the layers (which scroll).
Every value is data: plain text, unsafe characters escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from scantui.io import read_panics
from scantui.safetext import safe_line
from scantui.tui.columns import ip_text
from scantui.tui.state import error_text, explained
from scantui.tui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from scantui.analysis.packets import Dissection


def layers_renderable(dissection: Dissection) -> Group:
    """One section per layer: its name, then a (field, value) row per field, all plain text."""
    parts: list[Any] = []
    for layer in dissection.layers:
        parts.append(Text(safe_line(layer.name), style="bold"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for name, value in layer.fields:
            grid.add_row(Text(safe_line(name)), Text(safe_line(value)))
        parts.extend([grid, Text("")])
    return Group(*parts) if parts else Group(Text("no layers", style="italic"))


def hex_renderable(lines: list[str]) -> Text:
    return Text("\n".join(safe_line(line) for line in lines) or "no bytes", no_wrap=True)


class DissectionScreen(Screen):
    """One packet, dissected; escape goes back to the packets."""

    HELP = ("The packet's layers as scapy dissects them, and its bytes in hex. From a pcap/pcapng input the bytes "
            "are the packet's own record in the capture; from Parquet, CSV or LOG data they are a frame made from "
            "the packet's fields (the note says so). tab moves between the two panels.")
    DEFAULT_CSS = """
    DissectionScreen #dissect-note { height: auto; padding: 0 1; color: $warning; }
    DissectionScreen #dissect-body { layout: vertical; height: 1fr; }
    DissectionScreen.-wide #dissect-body { layout: horizontal; }
    DissectionScreen .dissect-panel { border: round $primary; padding: 0 1; }
    DissectionScreen #dissect-layers-panel { height: 1fr; }
    DissectionScreen #dissect-hex-panel { height: auto; max-height: 50%; }
    DissectionScreen.-wide #dissect-layers-panel { width: 1fr; }
    DissectionScreen.-wide #dissect-hex-panel { width: 80; height: 1fr; max-height: 100%; }
    """
    BINDINGS = [Binding("escape", "app.back", "Back", id="dissect.back", priority=True)]

    def __init__(self, row: dict[str, Any], files: list[Any]) -> None:
        super().__init__()
        self.row = row
        self.files = files
        self.dissection: Dissection | None = None
        src, dst = row.get("src"), row.get("dst")
        who = f"{ip_text(src)} → {ip_text(dst)}" if src is not None and dst is not None else "packet"
        when = row.get("ts")
        self.title = f"packet · {who}" + (f" · {when:%Y-%m-%d %H:%M:%S.%f}" if when is not None else "")

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield Static("", id="dissect-note", markup=False)
        with Container(id="dissect-body"):
            with VerticalScroll(id="dissect-layers-panel", classes="dissect-panel") as layers:
                layers.border_title = "layers"
                yield Static("dissecting…", id="dissect-layers", markup=False)
            with VerticalScroll(id="dissect-hex-panel", classes="dissect-panel") as hexpanel:
                hexpanel.border_title = "bytes"
                yield Static("", id="dissect-hex", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#dissect-layers-panel").focus()
        self._dissect(self.row)

    @work(thread=True, exclusive=True, group="dissect", exit_on_error=False, description="dissect")
    def _dissect(self, row: dict[str, Any]) -> None:
        from scantui.analysis.packets import dissect, hexdump

        worker = get_current_worker()
        try:
            found = dissect(row, self.files)
            lines = hexdump(found.raw)
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; the screen stays
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, explained(exc))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, found, lines)

    def _show(self, found: Dissection, lines: list[str]) -> None:
        if not self.is_attached:
            return
        self.dissection = found
        self.query_one("#dissect-layers", Static).update(layers_renderable(found))
        self.query_one("#dissect-hex", Static).update(hex_renderable(lines))
        self.query_one("#dissect-hex-panel").border_title = f"bytes ({len(found.raw)})"
        note = found.note or ("" if found.from_capture else "synthesized from the packet's fields")
        self.query_one("#dissect-note", Static).update(safe_line(note))
        self.query_one("#dissect-note").display = bool(note)

    def _failed(self, exc: Exception) -> None:
        self.notify(error_text(exc), title="could not dissect the packet", severity="error", timeout=10, markup=False)
        if self.is_attached:
            self.query_one("#dissect-layers", Static).update(safe_line(f"could not dissect the packet: {error_text(exc)}"))
