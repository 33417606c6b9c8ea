"""``scantui groups --pools``: the pool summary of each group of 100+ sources after the table (issue 15 part 5)."""

from __future__ import annotations

import pytest

from clihelp import SAMPLE, run

pytestmark = pytest.mark.usefixtures("shared_rollup_cache")


def test_pools_follow_the_table_for_the_large_groups_only(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["groups", SAMPLE, "--window", "day", "--pools"], capsys)
    assert code == 0, err
    table, _, pools = out.partition("\npool ")
    assert "S04" in table and "S01" in table
    lines = ("pool " + pools).splitlines()
    assert lines[0].startswith("pool S04: 240 sources · 2 /24s · 1 AS · 2024-02-04T15:29:38Z → 2024-02-14T18:22:13Z")
    assert lines[1].startswith("  active per 6h: ") and "240 of 240 seen" in lines[1]
    assert lines[2] == "  shares: min 0.42% · median 0.49% · max 0.51% · ÷ mean: 0.75-0.9× 1 · 0.9-1.1× 239"
    assert lines[3] == "  by /24: 64.62.156.0/24 120 · 64.62.157.0/24 120"
    assert lines[4].startswith("  by AS: AS6939 240 (")
    assert len(lines) == 5  # no other group of the sample has 100 sources


def test_pools_is_text_only(capsys):
    code, out, err = run(["groups", SAMPLE, "--pools", "--json"], capsys)
    assert code == 2 and out == "" and "--pools prints text after the table" in err


def test_a_pool_read_that_fails_leaves_stdout_empty(capsys, monkeypatch):
    """The pools' packets are read before the table is printed: a read that fails (an input cut meanwhile) is the
    one error line, with nothing on stdout before it (as ``packets``)."""
    import scantui.analysis.pool_summary as pool_summary
    from scantui.errors import InputError

    def cut(*args, **kwargs):
        raise InputError("changed while it was read (cut meanwhile): nothing was written", path=SAMPLE)

    monkeypatch.setattr(pool_summary, "scans_summary", cut)
    code, out, err = run(["groups", SAMPLE, "--window", "day", "--pools"], capsys)
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == f"scantui: error: {SAMPLE}: changed while it was read (cut meanwhile): nothing was written"
