"""Sources that behave like a scanner or a labelled group's members: a small ranked table.

Pushed from the scanner detail (``m``, or "detail: similar sources" in the palette) and from a
labelled group's track screen ("track: similar sources"). The ranking is
:meth:`scantui.workspace.Workspace.similar` (memoized; :mod:`scantui.analysis.similar`), run in a
thread worker; a failure is a notification and the screen says so. Each row shows the score, its
parts and why; enter opens the source's scanner detail. The same ranking:
``scantui similar PATH --src IP`` or ``--group ID --labels FILE``.
"""

from __future__ import annotations

import ipaddress
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
from scantui.safetext import safe_text
from scantui.tui.columns import Column, int_text, ip_text, plain_int_text
from scantui.tui.safe import line_content
from scantui.tui.state import error_text, explained
from scantui.tui.widgets.footer import KeysFooter
from scantui.tui.widgets.table import VirtualTable

if TYPE_CHECKING:
    import polars as pl

    from scantui.analysis.similar_types import SimilarResult
    from scantui.workspace import Workspace

#: Sources ranked on the screen.
SCREEN_TOP = 50


def _part(value: Any) -> str:
    return f"{value:.2f}"


def _why(value: Any) -> str:
    return "; ".join(value) if isinstance(value, (list, tuple)) else str(value)


COLUMNS = (
    Column("rank", "#", 3, "right", plain_int_text),
    Column("src", "src", 15, fmt=ip_text),
    Column("score", "score", 5, "right", _part),
    Column("like", "like", 15, fmt=ip_text),
    Column("ports", "ports", 5, "right", _part),
    Column("tools", "tools", 5, "right", _part),
    Column("rate", "rate", 5, "right", _part),
    Column("coverage", "cover", 5, "right", _part),
    Column("timing", "time", 5, "right", _part),
    Column("artifacts", "head", 5, "right", _part),
    Column("tool", "tool", 7),
    Column("packets", "packets", 9, "right", int_text),
    Column("why", "why", 56, fmt=_why, sortable=False),
)


def result_frame(result: SimilarResult) -> pl.DataFrame:
    import polars as pl

    rows = result.sources
    data: dict[str, list[Any]] = {c.key: [getattr(s, c.key) for s in rows] for c in COLUMNS if c.key != "why"}
    data["why"] = [list(s.why) for s in rows]
    return pl.DataFrame(data, schema_overrides={"src": pl.UInt32, "like": pl.UInt32, "why": pl.List(pl.String)})


class SimilarScreen(Screen):
    """The sources most like some seeds, ranked; enter opens one, escape goes back."""

    HELP = ("Sources that behave like the seeds: a weighted mean of the ports they probe, their tool, packets per "
            "active day, coverage, timing and header artifacts (ttl, window, MSS, IP length, IP-ID and source-port "
            "patterns), each part shown (1 = alike). 'like' is the seed a source is nearest to; why names the parts "
            "that matched. A lead to look at, not evidence. enter opens the source. The same ranking: "
            "scantui similar PATH --src IP, or --group ID --labels FILE.")
    BINDINGS = [Binding("escape", "app.back", "Back", id="similar.back", priority=True)]
    DEFAULT_CSS = """
    SimilarScreen #similar-summary { height: auto; }
    SimilarScreen #similar-panel { height: 1fr; }
    """

    def __init__(self, seeds: Sequence[str], title: str) -> None:
        super().__init__()
        self.seeds = tuple(seeds)
        self.title_text = title
        self.result: SimilarResult | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield Static("", id="similar-summary", classes="panel")
        with Vertical(id="similar-panel", classes="panel") as panel:
            panel.border_title = "ranked (enter opens)"
            yield VirtualTable(COLUMNS, id="similar-table", empty_text="ranking…")
        yield KeysFooter()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#similar-table", VirtualTable)

    def on_mount(self) -> None:
        self.query_one("#similar-summary", Static).border_title = line_content(f"similar to {self.title_text}")
        self.table.focus()
        state = self.app.state
        if state.dataset is None or state.workspace is None or state.rollup is None:
            self._say("the data is not loaded; nothing to compare")
            return
        from scantui.analysis.similar import SimilarQuery

        try:
            nets = tuple(dict.fromkeys(ipaddress.IPv4Network(s, strict=False) for s in self.seeds))
            query = SimilarQuery(nets, top=SCREEN_TOP)
        except Exception as exc:  # noqa: BLE001 - a bad seed is said, the screen stays
            self._failed(exc)
            return
        self._say(f"ranking the sources like {self.title_text}…")
        self.rank(query, state.workspace)

    def _say(self, text: str) -> None:
        self.query_one("#similar-summary", Static).update(Text(safe_text(text)))

    @work(thread=True, exclusive=True, group="similar", exit_on_error=False, description="similar")
    def rank(self, query: Any, workspace: Workspace) -> None:
        worker = get_current_worker()
        try:
            result = workspace.similar(query)
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; the screen stays
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, explained(exc))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, result)

    def _failed(self, exc: Exception) -> None:
        self.notify(error_text(exc), title="could not rank similar sources", severity="error", timeout=10, markup=False)
        if self.is_attached:
            self.table.empty_text = "no ranking"
            self.table.refresh()
            self._say(f"could not rank similar sources: {error_text(exc)}")

    def _show(self, result: SimilarResult) -> None:
        if not self.is_attached:
            return
        self.result = result
        lines = [result.summary(), *result.notes]
        self._say("\n".join(lines))
        self.table.empty_text = "no other probing source to compare"
        self.table.set_frame(result_frame(result))

    @on(VirtualTable.RowSelected, "#similar-table")
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        src = event.row.get("src")
        if src is not None:
            self.app.open_source(int(src))

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield "similar: back", "Back to the previous screen (escape)", self.app.action_back
        yield "similar: table", "Move the keys to the ranked table", self.table.focus
