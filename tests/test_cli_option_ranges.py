"""Numbers past what polars, the calendar or ``time.sleep`` hold are one line naming the option, exit 2.

Each of these stopped its command with ``internal error: OverflowError`` or ``ValueError`` (exit 70) before
:mod:`scantui.cli.option_types`: polars' row index is 32 bits, ``inf`` days is no ``timedelta``, ``nan`` passes
click's ``FloatRange`` (it compares false). The values are refused before any data is read.
"""

from __future__ import annotations

import pytest

from clihelp import SAMPLE, run


@pytest.mark.parametrize("argv, says", [
    (["scanners", SAMPLE, "--top", "99999999999999999999"], "'--top': 99999999999999999999 is more than 4,294,967,295, the most this command holds"),
    (["scanners", SAMPLE, "--min-packets", "9223372036854775808"], "'--min-packets': 9223372036854775808 is more than 9,223,372,036,854,775,807"),
    (["collab", SAMPLE, "--top", "4294967296"], "'--top': 4294967296 is more than 4,294,967,295"),
    (["groups", SAMPLE, "--min-scans", "9223372036854775808"], "'--min-scans': 9223372036854775808 is more than"),
    (["collab", SAMPLE, "--top", "0"], "'--top': 0 is less than 1"),
    (["packets", SAMPLE, "--limit", "9223372036854775807"], "'--limit': 9223372036854775807 is more than 4,294,967,295"),
    (["sample", "unwritten", "--days", "99999999999999999999"], "'--days': 99999999999999999999 is not in the range x<=36500"),
    (["sample", "unwritten", "--scale", "inf"], "'--scale': 'inf' is not a finite number"),
    (["enrich", SAMPLE, "--offline", "--refresh-days", "inf", "-o", "unwritten.parquet"], "'--refresh-days': inf is not in the range 0<=x<=36500"),
    (["enrich", SAMPLE, "--offline", "--refresh-days", "nan", "-o", "unwritten.parquet"], "'--refresh-days': 'nan' is not a finite number"),
    (["enrich", SAMPLE, "--timeout", "nan", "-o", "unwritten.parquet"], "'--timeout': 'nan' is not a finite number"),
    (["rollup", SAMPLE, "--follow", "--interval", "-1"], "'--interval': -1.0 is not in the range 0.05<=x<=86400"),
    (["rollup", SAMPLE, "--follow", "--interval", "nan"], "'--interval': 'nan' is not a finite number"),
    (["open", SAMPLE, "--follow", "--settle", "inf"], "'--settle': inf is not in the range 0<=x<=604800"),
    (["watch", SAMPLE, "--wait", "nan"], "'--wait': 'nan' is not a finite number"),
])
def test_a_number_past_what_the_command_holds_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch, argv, says):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith("scantui: error: Invalid value for ") and err.count("\n") == 1 and says in err, err
    assert list(tmp_path.iterdir()) == []  # nothing written
