"""Sensors compared: the sources sensor A saw and B did not, and the candidate scans covering A's space but not B's.

Pushed from the overview (``s``) or the palette ("sensors: compare") on data with two sensors or
more. ``a`` / ``b`` step sensor A / B through the data's sensors, ``x`` swaps them; the two lists are
:meth:`scantui.workspace.Workspace.seen_by_not` and the candidates of the App's search
(:mod:`scantui.analysis.sensor_collab`) that cover A's space and not B's, computed in a thread
worker. Enter on a source opens its scanner detail, on a scan its candidate detail. The same lists:
``scantui sensors PATH --only A --not B``. Sensor names are data: shown through the safe-text helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from scantui.io import read_panics
from scantui.present import sensors_cell
from scantui.safetext import safe_line
from scantui.tui.columns import Column, int_text, ip_text, plain_int_text
from scantui.tui.safe import line_content
from scantui.tui.state import error_text, explained
from scantui.tui.widgets.footer import KeysFooter
from scantui.tui.widgets.table import VirtualTable

if TYPE_CHECKING:
    import polars as pl

    from scantui.analysis.collab_types import CandidateScan

SOURCE_COLUMNS = (
    Column("src", "src", 15, fmt=ip_text),
    Column("packets", "packets", 9, "right", int_text),
    Column("probes", "probes", 9, "right", int_text),
    Column("ports", "ports", 5, "right", int_text),
    Column("days", "days", 4, "right", int_text),
    Column("first_day", "first", 10),
    Column("last_day", "last", 10),
)
SCAN_COLUMNS = (
    Column("port", "port", 5, "right", plain_int_text),
    Column("day", "day", 10),
    Column("key", "key", 18),
    Column("n", "n", 3, "right", plain_int_text),
    Column("found", "found on", 10),
    Column("reached", "reached", 24, sortable=False),
    Column("score", "score", 6, "right", lambda v: f"{v:.1f}"),
)


def scans_frame(scans: Sequence[CandidateScan]) -> pl.DataFrame:
    """The scans list's rows (``i``: the index in *scans*, for enter)."""
    import polars as pl

    cells = [sensors_cell(c) for c in scans]
    return pl.DataFrame({"i": list(range(len(scans))), "port": [c.port for c in scans],
                         "day": [c.day.isoformat() for c in scans], "key": [c.key.text for c in scans],
                         "n": [c.n_sources for c in scans], "found": [f for f, _r in cells],
                         "reached": [r for _f, r in cells], "score": [c.score for c in scans]},
                        schema_overrides={"i": pl.Int64, "port": pl.Int64, "n": pl.Int64, "score": pl.Float64})


class SensorsScreen(Screen):
    """Sources and scans sensor A saw and B did not; a/b choose the sensors, x swaps, enter opens a row."""

    HELP = ("What one sensor saw and another did not. Above: the sources seen by sensor A but never by B (their "
            "packets, probes, ports and days on A). Below: the candidate scans covering A's space but not B's "
            "(a sensor's space: its median daily distinct destinations; 'found on' is the space the search found "
            "the scan on, all: the whole telescope). a and b step through the sensors, x swaps them, tab moves "
            "between the lists, enter opens a source's or a scan's detail. The same lists: "
            "scantui sensors PATH --only A --not B.")
    BINDINGS = [
        Binding("a", "step('a')", "Sensor A", id="sensors.a"),
        Binding("b", "step('b')", "Sensor B", id="sensors.b"),
        Binding("x", "swap", "Swap", id="sensors.swap"),
        Binding("escape", "app.back", "Back", id="sensors.back", priority=True),
    ]
    DEFAULT_CSS = """
    SensorsScreen #sensors-summary { height: auto; }
    SensorsScreen .sensors-list { height: 1fr; }
    """

    def __init__(self, sensors: Sequence[str]) -> None:
        super().__init__()
        self.sensors = tuple(sensors)
        self.a, self.b = self.sensors[0], self.sensors[1]
        self.scans: list[CandidateScan] = []
        self.sources: pl.DataFrame | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield Static("", id="sensors-summary", classes="panel")
        with Vertical(id="sensors-sources", classes="panel sensors-list"):
            yield VirtualTable(SOURCE_COLUMNS, id="sensors-sources-table", sort_key="packets", empty_text="comparing…")
        with Vertical(id="sensors-scans", classes="panel sensors-list"):
            yield VirtualTable(SCAN_COLUMNS, id="sensors-scans-table", sort_key="score", empty_text="comparing…")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#sensors-summary", Static).border_title = "sensors compared"
        self.query_one("#sensors-sources-table", VirtualTable).focus()
        self.compare()

    def action_step(self, which: str) -> None:
        """Sensor A (or B) becomes the next sensor of the data (never the other one)."""
        current, other = (self.a, self.b) if which == "a" else (self.b, self.a)
        i = self.sensors.index(current)
        for step in range(1, len(self.sensors)):
            candidate = self.sensors[(i + step) % len(self.sensors)]
            if candidate != other:
                current = candidate
                break
        self.a, self.b = (current, other) if which == "a" else (other, current)
        self.compare()

    def action_swap(self) -> None:
        self.a, self.b = self.b, self.a
        self.compare()

    def _titles(self) -> None:
        a, b = safe_line(self.a, limit=40), safe_line(self.b, limit=40)
        self.query_one("#sensors-sources").border_title = line_content(f"sources seen by {a}, not by {b} (enter opens)")
        self.query_one("#sensors-scans").border_title = line_content(f"scans covering {a}'s space, not {b}'s (enter opens)")

    @staticmethod
    def _names(a: str, b: str) -> str:
        """"A: … B: …" for the summary line, each name cut to 40 characters (a long one would fill the screen)."""
        return f"A: {safe_line(a, limit=40)}   B: {safe_line(b, limit=40)}"

    def _say(self, text: str) -> None:
        self.query_one("#sensors-summary", Static).update(Text(safe_line(text)))

    def compare(self) -> None:
        self._titles()
        self._say(f"{self._names(self.a, self.b)}   comparing…   (a/b: other sensor, x: swap)")
        state = self.app.state
        if state.workspace is None or state.rollup is None:
            self._say("the data is not loaded; nothing to compare")
            return
        self._compare(self.a, self.b)

    @work(thread=True, exclusive=True, group="sensors", exit_on_error=False, description="sensors")
    def _compare(self, a: str, b: str) -> None:
        from scantui.analysis.sensor_collab import covering

        worker = get_current_worker()
        state = self.app.state
        try:
            sources = state.workspace.seen_by_not(a, b)
            collab = state.collab if state.collab is not None else state.build_collab()
            scans = covering(collab.candidates, a, b)
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; the screen stays
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, explained(exc))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, a, b, sources, scans)

    def _failed(self, exc: Exception) -> None:
        self.notify(error_text(exc), title="could not compare the sensors", severity="error", timeout=10, markup=False)
        if self.is_attached:
            self._say(f"could not compare the sensors: {error_text(exc)}")

    def _show(self, a: str, b: str, sources: pl.DataFrame, scans: list[CandidateScan]) -> None:
        if not self.is_attached or (a, b) != (self.a, self.b):
            return
        self.sources, self.scans = sources, scans
        self._say(f"{self._names(a, b)}   {sources.height:,} source{'s' if sources.height != 1 else ''} and {len(scans):,} scan{'s' if len(scans) != 1 else ''} A saw and B did not   "
                  f"(a/b: other sensor, x: swap)")
        table = self.query_one("#sensors-sources-table", VirtualTable)
        table.empty_text = "no source seen only by A"
        import polars as pl

        table.set_frame(sources.with_columns(pl.col("first_day", "last_day").cast(pl.String)))
        table = self.query_one("#sensors-scans-table", VirtualTable)
        table.empty_text = "no scan covering A's space but not B's"
        table.set_frame(scans_frame(scans))

    @on(VirtualTable.RowSelected, "#sensors-sources-table")
    def _source_selected(self, event: VirtualTable.RowSelected) -> None:
        src = event.row.get("src")
        if src is not None:
            self.app.open_source(int(src))

    @on(VirtualTable.RowSelected, "#sensors-scans-table")
    def _scan_selected(self, event: VirtualTable.RowSelected) -> None:
        i = event.row.get("i")
        if i is not None and 0 <= int(i) < len(self.scans):
            self.app.open_candidate(self.scans[int(i)])

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield "sensors: next sensor A", "Step sensor A to the next sensor (a)", lambda: self.action_step("a")
        yield "sensors: next sensor B", "Step sensor B to the next sensor (b)", lambda: self.action_step("b")
        yield "sensors: swap A and B", "x", self.action_swap
        yield "sensors: back", "Back to the previous screen (escape)", self.app.action_back
