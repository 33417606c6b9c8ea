"""The detail screens' panels: a plotext figure, a facts table, tool shares, one scan's card, a line of scans.

:class:`FigurePanel` holds a textual-plotext plot drawn by one of the pure
builders of :mod:`scantui.plots` (``per_day``, ``port_histogram``,
``split_bars``...), or a line of text while the data is read. The figures are
binned before they get here (at most a few hundred bars), because plotext
redraws the whole figure on every render. Panels can take the focus (tab), so
the detail screen scrolls to them from the keyboard.

Every text that comes from the data (AS names, hostnames, label ids) goes
through :func:`scantui.safetext.safe_text` and into ``rich.text.Text``, never
markup.

Under the App's time range a figure's title names the days it covers (:meth:`FigurePanel.name_days`), whole
where the panel is wide enough, else without the years (``02-04..02-10``; the header names the range whole):
:func:`fit_title` picks the fullest form that fits, so a title is never cut mid-word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import Static

from scantui.safetext import safe_text

if TYPE_CHECKING:
    from scantui.analysis.collab_types import CandidateScan

BAR_CELLS = 16  # width of a tool share bar
CARD_ROWS = 3  # member rows drawn in a scan card
#: Cells of a bordered panel's top edge that are not its title: the corners, a rule cell and a space each side.
TITLE_MARGIN = 6

_ISO_DAY = re.compile(r"\b[0-9]{4}-([0-9]{2}-[0-9]{2})\b")


def without_years(text: str) -> str:
    """``scans 2 of 3 in 2024-02-04..2024-02-10`` -> ``scans 2 of 3 in 02-04..02-10``."""
    return _ISO_DAY.sub(r"\1", text)


def fit_title(forms: Sequence[str], width: int) -> str:
    """The first of *forms* (the fullest first) that fits the top border of a panel *width* cells wide; the last
    one where none does (Textual cuts it then: only on a screen far narrower than 80 columns)."""
    return next((form for form in forms if cell_len(form) <= width - TITLE_MARGIN), forms[-1])


class FigurePanel(Container, can_focus=True):
    """A bordered panel with one plotext figure; :meth:`draw` builds it, :meth:`show_text` replaces it."""

    DEFAULT_CSS = """
    FigurePanel { height: 14; min-height: 8; padding: 0; }
    FigurePanel > .figure--text { color: $text-muted; padding: 0 1; }
    """

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.border_title = self.figure_title = title
        self.days = ""  # the time range the figure covers, named in its title ("" every day: the title alone)
        self._plot: Any = None
        self.drawn = False

    def name_days(self, days: str) -> None:
        """The figure covers *days* (``2024-02-04..2024-02-10``; "": every day): its title says so."""
        self.days = days
        self.border_title = self.figure_title
        self._fit_title()

    def _fit_title(self) -> None:
        if self.days:
            title = self.figure_title
            self.border_title = fit_title([f"{title} · {self.days}", f"{title} · {without_years(self.days)}"],
                                          self.size.width or self.app.size.width)

    def on_resize(self) -> None:
        self._fit_title()

    def compose(self) -> ComposeResult:
        yield Static("reading…", classes="figure--text", markup=False)

    def show_text(self, text: str) -> None:
        label = self.query_one(".figure--text", Static)
        label.update(Text(safe_text(text)))
        label.display = True
        if self._plot is not None:
            self._plot.display = False
        self.drawn = False

    def draw(self, build: Callable[[Any], None]) -> None:
        """Clear the figure and call ``build(plt)`` (a :mod:`scantui.plots` builder with its data bound)."""
        if self._plot is None:
            from textual_plotext import PlotextPlot
            from scantui.plots.plotext_order import stable_tick_order
            stable_tick_order()

            self._plot = PlotextPlot(classes="figure--plot")
            self.mount(self._plot)
        plt = self._plot.plt
        plt.clear_figure()
        build(plt)
        self.query_one(".figure--text", Static).display = False
        self._plot.display = True
        self._plot.refresh()
        self.drawn = True


def facts_table(rows: Sequence[tuple[str, Text | str]]) -> Table:
    """Label / value rows; plain ``str`` values are untrusted and shown literally."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value if isinstance(value, Text) else Text(safe_text(value)))
    return table


def tools_table(counts: dict[str, int]) -> Table | Text:
    """Packets per tool with a share bar, largest first (from :func:`scantui.analysis.detail.tools`)."""
    total = sum(counts.values())
    if not total:
        return Text("no probes", style="dim")
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for tool, n in counts.items():
        share = n / total
        cells = max(1, round(share * BAR_CELLS)) if n else 0
        table.add_row(safe_text(tool), Text("█" * cells + "·" * (BAR_CELLS - cells), style="bold"), f"{share:.1%}", f"{n:,}")
    return table


def scan_card(ref: CandidateScan, rows: Sequence[str], *, more: int, width: int) -> Text:
    """One scan of a group, compact: port, day, members; hours and timing; then its first members' strips.

    *ref* is a candidate scan; *rows* the strips of its first members (first seen first), *more* how many
    members are not drawn.
    """
    text = Text(no_wrap=True, overflow="crop")
    text.append(f"{ref.port} · {ref.day:%m-%d}", style="bold")
    text.append(f" · {ref.n_sources} src")
    text.append(f"\n{ref.start:%H:%M}–{ref.end:%H:%M} {ref.timing}")
    for row in rows[:CARD_ROWS]:
        text.append("\n" + row[:width], style="bold")
    if more > 0:
        text.append(f"\n+{more} more", style="dim")
    return text


class ScanCard(Static):
    """One scan in a group's row of scans; the selected one is highlighted."""

    DEFAULT_CSS = """
    ScanCard {
        width: 26;
        height: 100%;
        border: round $primary 40%;
        padding: 0 0;
        background: $surface;
    }
    ScanCard.-selected { border: heavy $accent; }
    """

    def __init__(self, index: int, ref: CandidateScan, **kwargs: Any) -> None:
        super().__init__(scan_card(ref, ["…"], more=0, width=24), **kwargs)
        self.index = index
        self.ref = ref

    def set_strips(self, rows: Sequence[str], more: int) -> None:
        self.update(scan_card(self.ref, rows, more=more, width=24))


def scan_label(ref: CandidateScan) -> str:
    """A scan in a few cells: ``3306 02-05 9src``."""
    return f"{ref.port} {ref.day:%m-%d} {ref.n_sources}src"


def scan_tabs(refs: Sequence[CandidateScan], selected: int, width: int) -> Text:
    """The scans of a group on one line of *width* cells, the *selected* one highlighted.

    Only whole scans are drawn: those that do not fit are counted at the ends (``◂2`` / ``3▸``), and the
    window of scans shown always holds the selected one.
    """
    labels = [f" {scan_label(r)} " for r in refs]
    if not labels:
        return Text("")
    selected = max(0, min(selected, len(labels) - 1))

    def room(a: int, b: int) -> int:
        marks = (len(f"◂{a} ") if a > 0 else 0) + (len(f" {len(labels) - b}▸") if b < len(labels) else 0)
        return sum(len(x) for x in labels[a:b]) + (b - a - 1) + marks

    a, b = selected, selected + 1
    for start in range(selected + 1):  # the leftmost window that still holds the selected scan: it moves little
        end = start + 1
        while end < len(labels) and room(start, end + 1) <= width:
            end += 1
        if end > selected:
            a, b = start, end
            break
    text = Text(no_wrap=True, overflow="crop")
    if a > 0:
        text.append(f"◂{a} ", style="dim")
    for i in range(a, b):
        if i > a:
            text.append("│", style="dim")
        text.append(labels[i], style="reverse bold" if i == selected else "")
    if b < len(labels):
        text.append(f" {len(labels) - b}▸", style="dim")
    return text
