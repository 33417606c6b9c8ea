"""The table export every view uses: CSV (safe cells), Parquet (types kept), IP lists; atomic; clear errors."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from scantui.errors import InputError
from scantui.io.table_export import export_format, write_table


def _frame() -> pl.DataFrame:
    return pl.DataFrame({
        "src": pl.Series([3323068416, 3323068417, 3323068416], dtype=pl.UInt32),
        "name": ["=HYPERLINK(\"x\")", "evil\x1b[2Jname", "ok"],
        "packets": [10, 20, 30],
        "first_seen": [dt.datetime(2024, 2, 5, 9, tzinfo=dt.timezone.utc)] * 3,
    })


def test_csv_cells_are_safe_and_reread(tmp_path):
    out = tmp_path / "view.csv"
    assert write_table(_frame(), out) == 3
    text = out.read_text()
    assert "\x1b" not in text
    back = pl.read_csv(out)
    assert back["name"][0].startswith("'=")
    assert back["packets"].to_list() == [10, 20, 30]
    assert back["first_seen"][0] == "2024-02-05T09:00:00Z"


def test_parquet_keeps_types(tmp_path):
    out = tmp_path / "view.parquet"
    write_table(_frame(), out)
    assert pl.read_parquet(out).equals(_frame())


def test_ip_list_is_unique_dotted_in_order(tmp_path):
    out = tmp_path / "ips.txt"
    assert write_table(_frame(), out) == 2
    assert out.read_text() == "198.18.0.0\n198.18.0.1\n"


@pytest.mark.parametrize("name,why", [("view.xlsx", "cannot tell the format"), ("nope/view.csv", "does not exist")])
def test_bad_targets_are_input_errors_and_write_nothing(tmp_path, name, why):
    with pytest.raises(InputError, match=why):
        write_table(_frame(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_ip_list_needs_the_column(tmp_path):
    with pytest.raises(InputError, match="no 'ip' column"):
        write_table(_frame(), tmp_path / "x.txt", ip_column="ip")
    assert export_format("a.PQ") == "parquet"
