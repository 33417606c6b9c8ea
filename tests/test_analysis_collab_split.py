"""The finest exact cover (issue 13 part 2): an N-fold cover whose members form separate exact covers
with their own partition and timing is reported as those scans; an N-fold cover that cannot be split
(or whose parts are two runs of one group) stays one scan; ``reasons`` says which and why. Planted on
the 256-address telescope of :mod:`test_analysis_collab`, with a standalone decoy in the /24 and
random-bot noise."""

from __future__ import annotations

import numpy as np
import pytest

from collabbuild import candidate
from test_analysis_collab import T, find, ip, ips, probes, split_range, table, us
from scantui.analysis import collab_split as cs
from scantui.analysis.groups import suggest_groups

PORT = 8080
PREFIX = "203.0.113"


def shares(counts, rng=None):
    """Offsets of the telescope cut into parts of *counts* addresses: random (a shuffled walk) or adjacent ranges."""
    order = rng.permutation(T) if rng is not None else np.arange(T)
    edges = np.cumsum([0, *counts])
    return [order[a:b].tolist() for a, b in zip(edges[:-1], edges[1:])]


def group(first: int, parts, start_h: float, hours: float, asn: int = 64500):
    return [probes(f"{PREFIX}.{first + i}", part, PORT, start_h, hours, asn=asn) for i, part in enumerate(parts)]


def noise(rng, n_in_prefix: int = 6, n_elsewhere: int = 20):
    """Mirai-like bots: a few random telescope addresses each, some in the scans' /24, the rest all over."""
    bots = [f"{PREFIX}.{200 + k}" for k in range(n_in_prefix)]
    bots += [f"100.{64 + k}.{rng.integers(0, 256)}.{rng.integers(1, 255)}" for k in range(n_elsewhere)]
    return [probes(b, rng.choice(T, size=int(rng.integers(2, 9)), replace=False), PORT, float(rng.uniform(0, 22)),
                   float(rng.uniform(0.1, 2)), asn=int(64500 if b.startswith(PREFIX) else 64600 + k))
            for k, b in enumerate(bots)]


@pytest.mark.parametrize("layout", ["random", "ranges"])
def test_two_groups_in_one_prefix_at_overlapping_times_are_two_scans(layout):
    rng = np.random.default_rng(13 if layout == "random" else 14)
    pick = rng if layout == "random" else None
    thirds = group(10, shares([85, 85, 86], pick), 10, 2)  # three equal shares, 10:00-12:00
    pair = group(40, shares([213, 43], pick), 11, 4)  # 5/6 + 1/6, 11:00-15:00
    decoy = probes(f"{PREFIX}.99", range(T), PORT, 9, 5, asn=64500)  # a full standalone scanner in the /24
    lf = table(*thirds, *pair, decoy, *noise(rng))
    found = sorted(find(lf).candidates, key=lambda c: c.start_us)
    rolling = sorted(find(lf, window_us=24 * 3600 * 1_000_000).candidates, key=lambda c: c.start_us)
    assert [c.sources for c in rolling] == [c.sources for c in found]
    assert [c.sources for c in found] == [ips(*(f"{PREFIX}.{i}" for i in (10, 11, 12))),
                                          ips(f"{PREFIX}.40", f"{PREFIX}.41")]
    a, b = found
    assert (a.cover_multiple, a.union, a.total, a.timing, a.dsts) == (1, T, T, "parallel", (85, 85, 86))
    assert (b.cover_multiple, b.union, b.total, b.timing, b.dsts) == (1, T, T, "parallel", (213, 43))
    assert a.start_us == us("2024-02-01T10:00:00Z") and b.start_us == us("2024-02-01T11:00:00Z")
    assert a.end.isoformat().startswith("2024-02-01T11:5") and b.end.isoformat().startswith("2024-02-01T14:5")
    assert all(ip(f"{PREFIX}.99") in c.excluded_standalone for c in found)
    for c in found:
        assert c.reasons[0] == ("split from a 2-fold cover of 5 sources into two exact covers (3 and 2 sources) "
                                "that differ in partition and timing"), c.reasons
        assert any("left out by the subset search" in r for r in c.reasons[1:])  # the bots in the /24
        assert c.to_json()["reasons"] == list(c.reasons)


def test_two_groups_differing_only_in_timing_are_two_scans():
    # the same partition (halves), one group fast and early, the other slow: timing sets them apart
    rng = np.random.default_rng(5)
    early = group(10, shares([128, 128], rng), 8, 1)
    late = group(20, shares([128, 128], rng), 8.5, 6)
    found = sorted(find(table(*early, *late)).candidates, key=lambda c: c.start_us)
    assert [c.n_sources for c in found] == [2, 2] and all(c.cover_multiple == 1 for c in found)
    assert found[0].sources == ips(f"{PREFIX}.10", f"{PREFIX}.11") and "differ in timing" in found[0].reasons[0]


def test_members_with_the_same_destinations_in_both_covers_go_where_their_timing_fits():
    # adjacent ranges: the last member of each group scans the same 77 addresses; only timing tells them apart
    four = group(10, shares([75, 34, 70, 77]), 9.1, 3.7)
    two = group(20, shares([179, 77]), 8.0, 3.6)
    found = sorted(find(table(*four, *two)).candidates, key=lambda c: c.n_sources)
    assert [c.sources for c in found] == [ips(f"{PREFIX}.20", f"{PREFIX}.21"),
                                          ips(*(f"{PREFIX}.{i}" for i in (10, 11, 12, 13)))]


def test_planted_groups_recall_and_precision():
    """Random two- and three-group mixes (random or adjacent shares, uneven splits, own timing), a standalone
    decoy half the time, a partial scanner a third of the time, bots; and random double covers no split
    breaks: every planted scan found exactly, nothing else reported."""
    planted = hits = reported = 0
    for seed in range(24):
        rng = np.random.default_rng(seed)
        sizes = rng.choice(np.arange(2, 7), size=2 + seed % 2, replace=False)
        parts, truth = [], []
        for g, k in enumerate(sizes.tolist()):
            w = rng.uniform(0.3, 3, size=k)
            counts = np.floor(w / w.sum() * T).astype(int)
            counts[-1] += T - counts.sum()
            parts += group(10 + 10 * g, shares(counts.tolist(), rng if seed % 4 else None), float(rng.uniform(6, 12)),
                           float(rng.uniform(0.5, 4)))
            truth.append(ips(*(f"{PREFIX}.{10 + 10 * g + i}" for i in range(k))))
        if seed % 2:
            parts.append(probes(f"{PREFIX}.99", range(T), PORT, 9, 3, asn=64500))
        if seed % 3 == 0:  # a partial scanner in the /24 (a quarter to two thirds of the telescope)
            share = rng.choice(T, size=int(rng.integers(60, 180)), replace=False)
            parts.append(probes(f"{PREFIX}.98", share, PORT, 9, 3, asn=64500))
        found = {c.sources for c in find(table(*parts, *noise(rng, 4, 6))).candidates}
        planted, hits, reported = planted + len(truth), hits + len(set(truth) & found), reported + len(found)
    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        k = 3 + seed % 4
        owners = [[] for _ in range(k)]
        for address in range(T):  # every address to two different sources
            for o in rng.choice(k, 2, replace=False):
                owners[o].append(address)
        found = find(table(*group(10, owners, 10, 2), *noise(rng, 3, 3))).candidates
        planted, reported = planted + 1, reported + len(found)
        hits += sum(c.sources == ips(*(f"{PREFIX}.{10 + i}" for i in range(k))) and c.cover_multiple == 2 for c in found)
    assert hits == planted and reported == planted, (planted, hits, reported)


def test_true_double_cover_that_cannot_split_is_one_scan_with_a_reason():
    # three sources, each two thirds of the telescope: every address twice, no two sources a cover
    a, b, c = split_range(3)
    parts = [list(a) + list(b), list(b) + list(c), list(c) + list(a)]
    rng = np.random.default_rng(3)
    found = find(table(*group(10, parts, 10, 2), *noise(rng, 3, 5))).candidates
    assert len(found) == 1
    scan = found[0]
    assert (scan.n_sources, scan.cover_multiple, scan.union, scan.total) == (3, 2, T, 2 * T)
    assert scan.reasons[0] == "2-fold cover of 3 sources: no split into exact covers (members' destinations overlap evenly)"


def test_two_runs_of_one_group_stay_one_double_cover():
    # two halvings by four hosts, running together with the same partition and timing (the sample's N2)
    rng = np.random.default_rng(8)
    runs = group(20, shares([128, 128], rng) + shares([128, 128], rng), 5, 2)
    scan = find(table(*runs)).candidates
    assert len(scan) == 1 and (scan[0].n_sources, scan[0].cover_multiple) == (4, 2)
    assert "same partition and timing, kept as one" in scan[0].reasons[0]


def test_three_groups_and_a_cover_plus_an_unsplittable_double_cover():
    rng = np.random.default_rng(21)
    two = group(10, shares([128, 128], rng), 10, 1)
    three = group(20, shares([40, 100, 116], rng), 10.5, 3)
    four = group(30, shares([64, 64, 64, 64], rng), 11, 0.5)
    found = find(table(*two, *three, *four)).candidates
    assert sorted(c.n_sources for c in found) == [2, 3, 4] and all(c.cover_multiple == 1 for c in found)
    assert all(c.reasons[0].startswith("split from a 3-fold cover of 9 sources into three exact covers") for c in found)
    # N = 3 as a 1-fold cover (two halves) and a 2-fold cover no split can break (three 2/3 shares)
    x, y, z = split_range(3)
    double = group(40, [list(x) + list(y), list(y) + list(z), list(z) + list(x)], 10, 1)
    found = sorted(find(table(*two, *double)).candidates, key=lambda c: c.cover_multiple)
    assert [(c.n_sources, c.cover_multiple) for c in found] == [(2, 1), (3, 2)]
    assert found[1].reasons[0].startswith("split from a 3-fold cover of 5 sources into two exact covers (multiples")


def test_two_double_covers_at_once_are_two_scans():
    # N = 4: two groups that each cover the telescope twice, neither splittable (three 2/3 shares; four sources
    # holding every address twice at random), at overlapping times
    x, y, z = split_range(3)
    thirds = group(10, [list(x) + list(y), list(y) + list(z), list(z) + list(x)], 10, 1)
    rng = np.random.default_rng(4)
    owners = [[] for _ in range(4)]
    for address in range(T):
        for o in rng.choice(4, 2, replace=False):
            owners[o].append(address)
    found = sorted(find(table(*thirds, *group(20, owners, 10.5, 3))).candidates, key=lambda c: c.n_sources)
    assert [(c.n_sources, c.cover_multiple) for c in found] == [(3, 2), (4, 2)]
    assert found[0].sources == ips(*(f"{PREFIX}.{i}" for i in (10, 11, 12)))
    assert found[0].reasons[0].startswith("split from a 4-fold cover of 7 sources into two exact covers (multiples 2 and 2)")


def test_split_bound_reports_the_whole_cover(monkeypatch):
    rng = np.random.default_rng(13)
    lf = table(*group(10, shares([85, 85, 86], rng), 10, 2), *group(40, shares([213, 43], rng), 11, 4))
    monkeypatch.setattr(cs, "MAX_SPLIT_MEMBERS", 4)
    scan = find(lf).candidates
    assert len(scan) == 1 and scan[0].cover_multiple == 2 and scan[0].n_sources == 5
    assert scan[0].reasons == ("2-fold cover of 5 sources: not searched for a split into exact covers (more than 4 members)",)


def test_split_in_time_says_so():
    lf = table(*group(10, split_range(2), 2, 2), *group(50, split_range(4), 14, 2))
    found = sorted(find(lf).candidates, key=lambda c: c.start_us)
    assert [c.n_sources for c in found] == [2, 4]
    assert all(c.reasons[0].startswith("split in time from a 2-fold cover of 6 sources: 2 groups") for c in found)


def test_overlap_matrix_counts_shared_destinations():
    rng = np.random.default_rng(1)
    sets = [set(rng.choice(50, size=int(rng.integers(1, 30)), replace=False).tolist()) for _ in range(6)]
    sidx = np.array([i for i, s in enumerate(sets) for _ in s])
    pdst = np.array([d for s in sets for d in s], dtype=np.uint32)
    idx = np.array([0, 2, 3, 5])
    got = cs.overlap_matrix(sidx, pdst, idx)
    want = [[len(sets[i] & sets[j]) if i != j else 0 for j in idx] for i in idx]
    assert got.tolist() == want


# ---------------------------------------------------------------- groups ties two concurrent runs of one group


def test_groups_ties_two_concurrent_runs_of_one_group():
    """Two runs of one group at the same time, same partition and timing, reported as two candidates: one group."""
    first = candidate(key_text="203.0.113.0/24", asn=64500, sources=("203.0.113.20", "203.0.113.21"), union=256,
                      telescope_size=256)
    second = candidate(key_text="203.0.113.0/24", asn=64500, sources=("203.0.113.22", "203.0.113.23"), union=256,
                       telescope_size=256, start_us=first.start_us + 60_000_000, end_us=first.end_us + 30_000_000)
    other = candidate(key_text="203.0.113.0/24", asn=64500, sources=("203.0.113.40", "203.0.113.41"), union=256,
                      telescope_size=256, split=(0.8333, 0.1667), dsts=(213, 43))
    groups = suggest_groups([first, second, other])
    tied = next(g for g in groups if first in g.scans)
    assert second in tied.scans and other not in tied.scans
    assert set(tied.reasons) == {"timing", "partition"}
