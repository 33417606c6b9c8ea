"""The cells both front ends print (scantui.present): one formatting for ``scantui groups``/``collab`` and the TUI lists."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

from scantui.present import asns_cell, cover_cell, days_cell, list_cell, reasons_cell, split_cell


def test_days_cell_shows_month_day_and_a_count_for_a_span():
    assert days_cell([date(2024, 2, 5)]) == "02-05"
    assert days_cell([date(2024, 2, 5), date(2024, 2, 7), date(2024, 2, 12)]) == "02-05..02-12 (3)"


def test_asns_cell_labels_the_numbers():
    assert asns_cell([202425, 14061]) == "AS202425,AS14061"
    assert asns_cell([]) == ""


def test_split_cell_equal_shares_unequal_percentages_and_covers():
    assert split_cell([]) == ""
    assert split_cell([1 / 9] * 9) == "1/9 each"
    assert split_cell([0.25] * 4, cover=2) == "1/2 each x2"
    assert split_cell([0.83, 0.17]) == "83:17"
    assert split_cell([0.5, 0.2, 0.1, 0.1, 0.1]) == "50:20:10:10…"


def test_reasons_cell_short_names_unknown_kept_none_is_dash():
    assert reasons_cell(["shared_ips", "timing", "partition"]) == "ips+time+split"
    assert reasons_cell(["asn"]) == "asn"
    assert reasons_cell([]) == "-"


def test_list_cell_cuts_with_an_ellipsis():
    assert list_cell([22, 80, 443], 4) == "22,80,443"
    assert list_cell([22, 80, 443, 3306, 5432], 4) == "22,80,443,3306…"
    assert list_cell(["a", "b", "c"], 2, ", ") == "a, b…"


def test_cover_cell_without_a_telescope_size_has_no_share():
    assert cover_cell(1, 992, 1000) == "1x 99.2%"
    assert cover_cell(2, 5, 0) == "2x"


def test_present_imports_no_front_end_and_nothing_heavy():
    code = ("import sys, scantui.present; "
            "print(','.join(m for m in ('click', 'textual', 'polars', 'scantui.cli', 'scantui.tui') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == ""
