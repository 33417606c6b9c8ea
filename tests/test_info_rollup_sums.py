"""``scantui info`` from the rollup's per-source tables: per protocol and per traffic class (protocols other than
TCP, UDP and ICMP, a packet without a protocol), tools and organizations without organization columns, equal to
the pass over the packets."""

from __future__ import annotations

import polars as pl

from scantui.analysis.summary import summarize
from scantui.enrich.rules import load_rules
from scantui.io.loader import open_inputs
from scantui.workspace import Workspace


def test_other_protocols_and_no_organization_columns_equal_the_packet_pass(tmp_path, canonical_df):
    n = canonical_df.height
    odd = canonical_df.head(40).with_columns(  # GRE, ESP, SCTP and no protocol at all, among the usual ones
        pl.Series("proto", [47] * 10 + [50] * 10 + [132] * 15 + [None] * 5, dtype=canonical_df.schema["proto"]))
    path = tmp_path / "odd.parquet"
    pl.concat([canonical_df.tail(n - 40), odd]).write_parquet(path)
    rules = load_rules(None)
    want = summarize(open_inputs([path]).lf, rules=rules)
    got = Workspace.open([path], cache_dir=tmp_path / "cache").summary(rules)
    assert got == want
    assert {"47", "50", "132", "unknown", "tcp"} <= set(got["protocols"]) and got["protocols"]["unknown"] == 5
    assert sum(got["protocols"].values()) == got["packets"] == n
    assert got["traffic"]["other"] >= 40 and got["organizations"]
