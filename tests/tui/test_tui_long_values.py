"""Long untrusted values from the input (a 500-character hostname, AS name, org) are cut in the scanner detail
as they are in the tables (escaped, never markup), and stay whole in the data: the scanner list's export."""

from __future__ import annotations

import polars as pl

from test_tui_table_actions import export_to
from tuihelp import make_app, run_app, screen_text, settle, tiny_frame
from scantui.safetext import SHOWN_CHARS
from scantui.tui.screens.detail import ScannerDetailScreen

HOST = "h" * 497 + ".ex"
AS_NAME = "[bold red]AS-" + "n" * 400 + "\x1b[31m"
ORG = "o" * 300


def test_a_500_character_hostname_is_cut_in_the_detail_and_whole_in_the_export(tmp_path, tui_cache):
    path = tmp_path / "long.parquet"
    frame = tiny_frame()
    frame.with_columns(
        pl.when(pl.col("hostname").is_not_null()).then(pl.lit(HOST)).alias("hostname"),
        pl.when(pl.col("as_name").is_not_null()).then(pl.lit(AS_NAME)).alias("as_name"),
        pl.lit(ORG).alias("org"),
    ).write_parquet(path)

    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        out = tmp_path / "scanners.csv"
        assert await export_to(app, pilot, out) == f"wrote 5 rows to {out}"
        exported = pl.read_csv(out, infer_schema=False)
        assert HOST in exported["hostname"].to_list() and ORG in exported["org"].to_list()

        await pilot.press("enter")  # the busiest source: 192.0.2.10, with all three
        await settle(app, pilot)
        assert isinstance(app.screen, ScannerDetailScreen)
        text = screen_text(app)
        assert "h" * (SHOWN_CHARS - 1) + "…" in text and "h" * SHOWN_CHARS not in text
        assert "o" * (SHOWN_CHARS - 1) + "…" in text and "red]AS-nnn" in text and "[bold" in text  # literal, never markup
        assert "\x1b" not in text
        facts = app.screen.query_one("#detail-facts")
        assert facts.outer_size.height <= 16  # was 23: the hostname alone filled 8 lines

    run_app(make_app([path], tui_cache), scenario)
