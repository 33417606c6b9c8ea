"""Header-artifact fingerprints of sources, per day: collab's ``fingerprint`` key (groups across ASes).

One operator's pool split across providers shares no /24 and no AS, but its sources
usually share how their probes are built: the same tool, configured the same way.
Per (day, source) with at least :data:`MIN_PROBES` TCP SYN probes that day, the
**signature** sums those probes' header artifacts up in six fields:

=======  ======================================================================================
field    value
=======  ======================================================================================
ttl      the initial TTL guessed from the largest TTL seen (32, 64, 128 or 255); ``var`` when
         the TTLs spread over more than :data:`TTL_SPREAD` (a randomised TTL, e.g. Nmap's 37-59)
win      the TCP window when every probe has the same one, else ``var``
opt      TCP option bytes (IP length - 40) and the MSS (``4/1460``, ``0``); ``var`` when they vary
ipid     a constant IP-ID (``54321``, ``0``, ...), else the first relation holding for at least
         :data:`RELATION_SHARE` of the probes: ``dst^dport^seq`` (Masscan), ``dst`` (low 16 bits
         of the destination), ``sport``, ``seq-hi``, ``seq-lo``; else ``rnd``
seq      ``dst`` (sequence number = destination, Mirai's), ``const``, else ``rnd``
sport    one source port (its number); a spread of at least :data:`WIDE_SPORTS` ports is
         ``wide`` (an ephemeral range); else ``FROM+SPAN``: the lowest port rounded to the
         nearest :data:`SPORT_ROUND` and the spread rounded up to a power of two
         (``sport=40000+1024`` for ports drawn from 40000-40999), so that members drawing
         from one range agree. They may still disagree when a member sent few probes (its
         spread below half the range) or the range starts near a multiple of 1000 plus 500
=======  ======================================================================================

The key's text is the signature (``ttl=64 win=1025 opt=4/1460 ipid=dst seq=rnd
sport=40000+1024``); its id is the first 8 bytes of the text's BLAKE2b digest (stable
across runs and versions).

**Which signatures are keys.** Coincidental fingerprints are common: a signature is a
key on a day only when it is

* **not a known tool's default** (:data:`TOOL_DEFAULTS`: unmodified ZMap 2.x and 4.x,
  Masscan, Nmap's SYN scan, Mirai, Unicornscan, and the Linux and Windows kernels'
  ordinary SYN): thousands of unrelated scanners send exactly those;
* **rare** that day: shared by at most :data:`RARE_MAX_SOURCES` sources, and, on a day
  with more than :data:`RARE_SHARE_FROM` fingerprinted sources, by at most
  :data:`RARE_MAX_SHARE` of them.

A key then groups ``port_day`` rows like a /24 or an AS does, and the same cover test
decides (:mod:`scantui.analysis.collab`): a fingerprint alone never makes a candidate.

**Where it is kept.** :func:`write_day_fingerprints` writes :data:`DAY_FILE` (one row per
fingerprinted source: ``src``, ``fp_id``, ``fp``, ``tool_default``) into each day state,
once, from the state's packet table (one read of a dozen header columns; one group-by
per source of its TCP SYN probes);
a rollup links the days' files as ``<TABLE>/day=D/`` (:func:`scan_fingerprints`).
Without them (a LazyFrame of packets, a rollup cached before them) :func:`fingerprints_from_packets`
computes the same rows from the packets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import polars as pl

from scantui.analysis.traffic import is_probe
from scantui.fsutil import atomic_path

#: A source needs this many SYN probes in a day for a fingerprint (fewer say little about how it builds them).
MIN_PROBES = 16
#: TTLs spreading over more than this many hops are a randomised TTL.
TTL_SPREAD = 8
#: Share of a source's probes a header relation must hold for.
RELATION_SHARE = 0.9
#: Source ports spreading over at least this many are an ephemeral range (``wide``).
WIDE_SPORTS = 8_192
#: A narrower range is written as its lowest port rounded to the nearest multiple of this and its span rounded
#: up to a power of two.
SPORT_ROUND = 1000
#: A signature shared by more sources than this in a day is common, never a key.
RARE_MAX_SOURCES = 256
#: ... and so is one shared by more than this share of the day's fingerprinted sources, on a day with more
#: than :data:`RARE_SHARE_FROM` of them (below that, a share says nothing: a planted pool is a large share).
RARE_MAX_SHARE = 0.01
RARE_SHARE_FROM = 1_000

#: The day state's file and the rollup's folder of the days' files.
DAY_FILE = "fingerprints.parquet"
TABLE = "fingerprints"
SCHEMA = pl.Schema({"src": pl.UInt32(), "fp_id": pl.UInt64(), "fp": pl.String(), "tool_default": pl.String()})
FIELDS = ("ttl", "win", "opt", "ipid", "seq", "sport")

_ANY = None
#: Known tools' default signatures: per field the values it takes (None: any value). A signature matching
#: one is explained by that tool (or kernel), whatever else it shares with other sources.
TOOL_DEFAULTS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "zmap": {"ttl": ("255",), "win": ("65535",), "opt": ("4/1460",), "ipid": ("54321",), "seq": ("rnd",),
             "sport": ("wide",)},
    "zmap4": {"ttl": ("255",), "win": ("65535",), "opt": ("20/1460",), "ipid": ("rnd",), "seq": ("rnd",),
              "sport": ("wide",)},
    "masscan": {"ttl": ("255",), "win": ("1024",), "opt": ("0", "4/1460"), "ipid": ("dst^dport^seq",),
                "seq": ("rnd",), "sport": _ANY},
    "nmap": {"ttl": ("var", "64"), "win": ("1024",), "opt": ("4/1460",), "ipid": _ANY, "seq": ("rnd",),
             "sport": _ANY},
    "mirai": {"ttl": _ANY, "win": _ANY, "opt": _ANY, "ipid": _ANY, "seq": ("dst",), "sport": _ANY},
    "unicorn": {"ttl": ("64",), "win": ("4096",), "opt": ("0",), "ipid": _ANY, "seq": _ANY, "sport": _ANY},
    "linux": {"ttl": ("64",), "win": ("64240", "29200", "65535", "14600", "5840"), "opt": ("20/1460",),
              "ipid": _ANY, "seq": ("rnd",), "sport": ("wide",)},
    "windows": {"ttl": ("128",), "win": ("64240", "65535", "8192"), "opt": ("12/1460", "8/1460", "20/1460"),
                "ipid": _ANY, "seq": ("rnd",), "sport": ("wide",)},
}


# ---------------------------------------------------------------- the signature


def _u32(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.UInt32)


def _share(cond: pl.Expr) -> pl.Expr:
    return cond.fill_null(False).mean()


def _aggregates() -> list[pl.Expr]:
    ip_id, seq = _u32("ip_id"), _u32("tcp_seq")
    return [
        pl.len().alias("n"),
        pl.col("ttl").min().alias("ttl_lo"), pl.col("ttl").max().alias("ttl_hi"),
        pl.col("tcp_window").min().alias("win_lo"), pl.col("tcp_window").max().alias("win_hi"),
        pl.col("ip_len").min().alias("len_lo"), pl.col("ip_len").max().alias("len_hi"),
        pl.col("tcp_mss").min().alias("mss_lo"), pl.col("tcp_mss").max().alias("mss_hi"),
        pl.col("tcp_mss").null_count().alias("mss_nulls"),
        pl.col("ip_id").min().alias("ipid_lo"), pl.col("ip_id").max().alias("ipid_hi"),
        _share(ip_id == (_u32("dst").xor(_u32("dport")).xor(seq) & 0xFFFF)).alias("r_masscan"),
        _share(ip_id == (_u32("dst") & 0xFFFF)).alias("r_dst"),
        _share(ip_id == _u32("sport")).alias("r_sport"),
        _share(ip_id == (seq // 65536)).alias("r_seq_hi"),
        _share(ip_id == (seq & 0xFFFF)).alias("r_seq_lo"),
        _share(seq == _u32("dst")).alias("s_dst"),
        pl.col("tcp_seq").min().alias("seq_lo"), pl.col("tcp_seq").max().alias("seq_hi"),
        pl.col("sport").min().alias("sport_lo"), pl.col("sport").max().alias("sport_hi"),
    ]


def _text(v: pl.Expr) -> pl.Expr:
    return v.cast(pl.String)


def _fields() -> list[pl.Expr]:
    ttl0 = (pl.when(pl.col("ttl_hi") <= 32).then(pl.lit("32")).when(pl.col("ttl_hi") <= 64).then(pl.lit("64"))
            .when(pl.col("ttl_hi") <= 128).then(pl.lit("128")).otherwise(pl.lit("255")))
    ttl = pl.when(pl.col("ttl_hi").cast(pl.Int32) - pl.col("ttl_lo").cast(pl.Int32) > TTL_SPREAD).then(pl.lit("var")).otherwise(ttl0)
    win = pl.when(pl.col("win_lo") == pl.col("win_hi")).then(_text(pl.col("win_lo"))).otherwise(pl.lit("var"))
    mss_same = ((pl.col("mss_nulls") == pl.col("n")) | ((pl.col("mss_nulls") == 0) & (pl.col("mss_lo") == pl.col("mss_hi"))))
    opt_len = _text(pl.col("len_lo").cast(pl.Int32) - 40)
    opt = (pl.when((pl.col("len_lo") != pl.col("len_hi")) | ~mss_same).then(pl.lit("var"))
           .when(pl.col("mss_nulls") == pl.col("n")).then(opt_len)
           .otherwise(pl.concat_str(opt_len, pl.lit("/"), _text(pl.col("mss_lo")))))
    ipid = pl.when(pl.col("ipid_lo") == pl.col("ipid_hi")).then(_text(pl.col("ipid_lo")))
    for col, word in (("r_masscan", "dst^dport^seq"), ("r_dst", "dst"), ("r_sport", "sport"), ("r_seq_hi", "seq-hi"),
                      ("r_seq_lo", "seq-lo")):
        ipid = ipid.when(pl.col(col) >= RELATION_SHARE).then(pl.lit(word))
    ipid = ipid.otherwise(pl.lit("rnd"))
    seq = (pl.when(pl.col("s_dst") >= RELATION_SHARE).then(pl.lit("dst"))
           .when(pl.col("seq_lo") == pl.col("seq_hi")).then(pl.lit("const")).otherwise(pl.lit("rnd")))
    lo, hi = pl.col("sport_lo").cast(pl.Int64), pl.col("sport_hi").cast(pl.Int64)
    span = pl.lit(2, pl.Int64).pow((hi - lo + 1).cast(pl.Float64).log(2).ceil().cast(pl.Int64))
    near = (lo + SPORT_ROUND // 2) // SPORT_ROUND * SPORT_ROUND
    block = pl.concat_str(_text(near), pl.lit("+"), _text(span))
    sport = pl.when(lo == hi).then(_text(lo)).when(hi - lo >= WIDE_SPORTS).then(pl.lit("wide")).otherwise(block)
    return [e.alias(f) for e, f in zip((ttl, win, opt, ipid, seq, sport), FIELDS)]


def signature_text(fields: dict[str, str]) -> str:
    """``ttl=64 win=1025 opt=4/1460 ipid=dst seq=rnd sport=40000+1024``: the key's text."""
    return " ".join(f"{f}={fields[f]}" for f in FIELDS)


def key_id(text: str) -> int:
    """The key's stable id: the first 8 bytes of the text's BLAKE2b digest, as an unsigned integer."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def tool_default(fields: dict[str, str]) -> str | None:
    """The known tool whose default signature this is (:data:`TOOL_DEFAULTS`), or None."""
    for tool, want in TOOL_DEFAULTS.items():
        if all(allowed is None or fields[f] in allowed for f, allowed in want.items()):
            return tool
    return None


def _signatures(packets: pl.LazyFrame, by: tuple[str, ...]) -> pl.DataFrame:
    """Per *by* group (``src``, or ``day`` and ``src``) of SYN probes: the fields, with at least MIN_PROBES probes."""
    rows = (packets.filter(is_probe().fill_null(False)).group_by(*by).agg(_aggregates())
            .filter(pl.col("n") >= MIN_PROBES).select(*by, *_fields()))
    df = rows.collect(engine="streaming")
    # id, text and tool default once per distinct signature (a few thousand a day), in Python: stable ids
    distinct = df.select(FIELDS).unique()
    texts, ids, tools = [], [], []
    for row in distinct.iter_rows(named=True):
        text = signature_text(row)
        texts.append(text)
        ids.append(key_id(text))
        tools.append(tool_default(row))
    named = distinct.with_columns(pl.Series("fp", texts, pl.String), pl.Series("fp_id", ids, pl.UInt64),
                                  pl.Series("tool_default", tools, pl.String))
    return df.join(named, on=list(FIELDS), how="left", nulls_equal=True).select(*by, "fp_id", "fp", "tool_default")


def day_fingerprints(packets: pl.LazyFrame) -> pl.DataFrame:
    """One day's :data:`SCHEMA` rows from its canonical packets, sorted by source."""
    return _signatures(packets, ("src",)).sort("src").cast(dict(SCHEMA))


def fingerprints_from_packets(packets: pl.LazyFrame) -> pl.LazyFrame:
    """``day`` and :data:`SCHEMA` rows of every day of *packets* (no rollup table: computed here)."""
    days = packets.with_columns(pl.col("ts").dt.date().alias("day"))
    df = _signatures(days, ("day", "src"))
    return df.cast({"day": pl.Date(), **dict(SCHEMA)}).lazy()


# ---------------------------------------------------------------- in the day state and the rollup


def write_day_fingerprints(state: Path, packets: Callable[[], pl.LazyFrame], *, table: bool = True) -> None:
    """The day state's :data:`DAY_FILE`, once, from its packet table (``packets/``) or, in a state without
    one or with *table* False (the day held in memory as it is built), the day's *packets*: the same rows
    (every aggregate is order-free: counts, minima, maxima, shares)."""
    target = state / DAY_FILE
    if target.is_file():
        return
    from scantui.analysis.day_packets import DAY_PACKETS, day_packets_files

    cols = ("src", "dst", "proto", "sport", "dport", "ip_id", "ttl", "ip_len", "tcp_flags", "tcp_seq", "tcp_window",
            "tcp_mss")
    lf = pl.scan_parquet(day_packets_files(state), glob=False) if table and (state / DAY_PACKETS).is_dir() else packets()
    with atomic_path(target) as tmp:
        day_fingerprints(lf.select(cols)).write_parquet(tmp)


def scan_fingerprints(rollup: Path) -> pl.LazyFrame | None:
    """The rollup's linked day tables with their ``day``, or None when it has none."""
    root = rollup / TABLE
    if not root.is_dir() or not any(root.glob("day=*/*.parquet")):
        return None
    return pl.scan_parquet(root, hive_partitioning=True, hive_schema={"day": pl.Date()}, glob=False).select("day", *SCHEMA.names())


# ---------------------------------------------------------------- the keys


def rare_keys(fingerprints: pl.LazyFrame, *, rare_only: bool = True) -> pl.LazyFrame:
    """(day, src, key) of the sources whose signature that day is a key: rare and no tool's default.
    ``rare_only=False`` keys every signature two sources share (to measure what the two rules avoid)."""
    lf = fingerprints.filter(pl.col("tool_default").is_null()) if rare_only else fingerprints
    total = fingerprints.group_by("day").agg(pl.len().alias("total"))
    counts = lf.group_by("day", "fp_id").agg(pl.len().alias("n")).join(total, on="day")
    share_ok = (pl.col("total") <= RARE_SHARE_FROM) | (pl.col("n") <= RARE_MAX_SHARE * pl.col("total"))
    rare = counts.filter((pl.col("n") >= 2) & ((pl.col("n") <= RARE_MAX_SOURCES) & share_ok | (not rare_only)))
    rare = rare.select("day", "fp_id")
    return lf.join(rare, on=["day", "fp_id"], how="semi").select("day", "src", pl.col("fp_id").alias("key"))


def labels(fingerprints: pl.LazyFrame, ids: list[int]) -> dict[int, str]:
    """The text of each key id in *ids*."""
    if not ids:
        return {}
    df = (fingerprints.filter(pl.col("fp_id").is_in(pl.Series(ids, dtype=pl.UInt64).implode()))
          .select("fp_id", "fp").unique("fp_id").collect())
    return {int(i): t for i, t in df.iter_rows()}


def shuffled(fingerprints: pl.LazyFrame, seed: int = 0) -> pl.LazyFrame:
    """The randomised control: each day's signatures shuffled across its fingerprinted sources."""
    df = fingerprints.collect()
    parts = []
    for i, (_, part) in enumerate(df.sort("day", "src").partition_by("day", as_dict=True, maintain_order=True).items()):
        moved = part.select(pl.exclude("day", "src")).sample(fraction=1.0, shuffle=True, seed=seed + i)
        parts.append(pl.concat([part.select("day", "src"), moved], how="horizontal"))
    return (pl.concat(parts) if parts else df).lazy()
