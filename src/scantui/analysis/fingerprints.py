"""Which scanning tool sent each packet, from header fields alone.

Rules (``../shared/docs/domain.md``), applied to TCP packets that are not
backscatter (SYN-ACK and RST are replies, not probes); UDP, ICMP and
backscatter are ``other``:

=========  ====================================================================
tool       rule
=========  ====================================================================
masscan    SYN, IP-ID == (dst ^ dport ^ seq) & 0xFFFF
unicorn    SYN, seq ^ src ^ ((sport << 16) + dport) shared by > N packets (N=150)
mirai      SYN, seq == dst, dport 23 or 2323
nmap       SYN scan: SYN, window 1024, MSS 1460, ack 0; ACK/window, NULL, FIN,
           Xmas, Maimon scans: those flags, window 1024, no MSS; OS detection:
           SEQ probes (SYN, window 1/4/16/63/512 with MSS 265/536/640/1400/1460, or
           window 4 without MSS),
           ECN (SYN+ECE+CWR, window 3), T2-T7 (windows 128, 256, 1024, 31337,
           32768, 65535 with their flags and MSS 265)
zmap       IP-ID == 54321
other      none of these
=========  ====================================================================

A packet matching several rules gets the one using more fields, in the order
of the table. Nmap's connect scan (``-sT``) sends the kernel's ordinary SYN and
is indistinguishable from any Linux client, so it stays ``other``.
A tool label is evidence, not proof: modified tools evade every rule.
"""

from __future__ import annotations

import polars as pl

from scantui.analysis.traffic import TCP, is_backscatter
from scantui.io.schema import ACK, CWR, ECE, FIN, PSH, SYN, URG

TOOLS = ("zmap", "masscan", "mirai", "unicorn", "nmap", "other")
TOOL_DTYPE = pl.Enum(TOOLS)

#: Minimum packets sharing one Unicorn session key (the honeypot study used > 150).
UNICORN_MIN_PACKETS = 150


ZMAP_IP_ID = 54321
MIRAI_PORTS = (23, 2323)

_NMAP_SEQ_WINDOWS = (1, 4, 16, 63, 512)
_NMAP_SEQ_MSS = (265, 536, 640, 1400, 1460)
# (flags, window) of the T2..T7 OS-detection probes; all carry MSS 265
_NMAP_T_PROBES = ((0, 128), (SYN | FIN | PSH | URG, 256), (ACK, 1024), (SYN, 31337), (ACK, 32768), (FIN | PSH | URG, 65535))
_NMAP_STEALTH_FLAGS = (0, FIN, FIN | PSH | URG, FIN | ACK, ACK)  # NULL, FIN, Xmas, Maimon, ACK/window


def _u32(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.UInt32)


def scan_candidate() -> pl.Expr:
    """TCP packets a scanner could have sent: not replies (SYN-ACK, RST)."""
    return (pl.col("proto") == TCP) & ~is_backscatter().fill_null(False)


def _syn_only() -> pl.Expr:
    flags = pl.col("tcp_flags")
    return ((flags & SYN) != 0) & ((flags & ACK) == 0)


def unicorn_key() -> pl.Expr:
    """Unicornscan's per-session key: seq ^ src ^ ((sport << 16) + dport), as UInt32."""
    ports = (_u32("sport") * 65536 + _u32("dport")).cast(pl.UInt32)
    return _u32("tcp_seq").xor(_u32("src")).xor(ports).alias("unicorn_key")


def masscan_rule() -> pl.Expr:
    expected = _u32("dst").xor(_u32("dport")).xor(_u32("tcp_seq")) & 0xFFFF
    return _syn_only() & (_u32("ip_id") == expected)


def mirai_rule() -> pl.Expr:
    return _syn_only() & (_u32("tcp_seq") == _u32("dst")) & pl.col("dport").is_in(MIRAI_PORTS)


def nmap_rule() -> pl.Expr:
    flags, window, mss = pl.col("tcp_flags"), pl.col("tcp_window"), pl.col("tcp_mss")
    syn_scan = (flags == SYN) & (window == 1024) & (mss == 1460) & (pl.col("tcp_ack") == 0)
    stealth = flags.is_in(_NMAP_STEALTH_FLAGS) & (window == 1024) & mss.is_null()
    seq_probes = (flags == SYN) & (
        (window.is_in(_NMAP_SEQ_WINDOWS) & mss.is_in(_NMAP_SEQ_MSS)) | ((window == 4) & mss.is_null())  # SEQ4 has no MSS
    )
    ecn = ((flags & (SYN | ECE | CWR)) == (SYN | ECE | CWR)) & (window == 3)
    t_probes = pl.any_horizontal([(flags == f) & (window == w) for f, w in _NMAP_T_PROBES]) & (mss == 265)
    return syn_scan | stealth | seq_probes | ecn | t_probes


def unicorn_eligible() -> pl.Expr:
    """Packets that are ``unicorn`` when their session key is one: the rule's place in the order
    (after masscan) and its own condition (a SYN probe)."""
    return scan_candidate().fill_null(False) & _syn_only().fill_null(False) & ~masscan_rule().fill_null(False)


def zmap_rule() -> pl.Expr:
    return _syn_only() & (pl.col("ip_id") == ZMAP_IP_ID)


#: Session keys are first counted per ``key // UNICORN_BUCKET`` (at most 2**32 / 1024 buckets).
UNICORN_BUCKET = 1024

SESSIONS_SCHEMA = pl.Schema({"unicorn_key": pl.UInt32(), "unicorn_session": pl.Boolean()})


def unicorn_sessions(lf: pl.LazyFrame, min_packets: int = UNICORN_MIN_PACKETS) -> pl.LazyFrame:
    """Session keys shared by more than *min_packets* SYN probes (one row per key).

    Exact, in two steps that keep the hash table small: packets per key bucket
    (``key // 1024``, at most 4 M groups) first, then exact per-key counts only
    inside buckets holding more than *min_packets* packets (a key over the
    threshold implies its bucket is). Counting every key directly needs one
    group per distinct key: ~40 M of them at 50 M packets of random traffic.
    """
    keys = lf.filter(scan_candidate() & _syn_only()).select(unicorn_key())
    bucket = (pl.col("unicorn_key") // UNICORN_BUCKET).alias("bucket")
    hot = keys.group_by(bucket).agg(pl.len().alias("n")).filter(pl.col("n") > min_packets).select("bucket")
    return (
        keys.with_columns(bucket)
        .join(hot, on="bucket", how="semi")
        .group_by("unicorn_key")
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") > min_packets)
        .select("unicorn_key", pl.lit(True).alias("unicorn_session"))
    )


#: SYN probes per session key over a slice of the input (a day): summed over the slices and kept
#: above the threshold they give exactly :func:`unicorn_sessions` of the whole
#: (:func:`scantui.analysis.rollup_days.merge_sessions`).
KEY_COUNTS_SCHEMA = pl.Schema({"unicorn_key": pl.UInt32(), "n": pl.UInt32()})


def unicorn_candidate() -> pl.Expr:
    """The packets whose session keys are counted: SYN probes."""
    return scan_candidate() & _syn_only()


def collect_unicorn_sessions(lf: pl.LazyFrame, min_packets: int = UNICORN_MIN_PACKETS) -> pl.DataFrame:
    """:func:`unicorn_sessions` collected with the streaming engine (a small frame: one row per session).

    Collecting it before :func:`with_tool` keeps the packets from being buffered
    by the join while the counts run.
    """
    return unicorn_sessions(lf, min_packets).collect(engine="streaming").cast(dict(SESSIONS_SCHEMA))


def with_tool(
    lf: pl.LazyFrame,
    *,
    sessions: pl.DataFrame | pl.LazyFrame | None = None,
    unicorn_min_packets: int = UNICORN_MIN_PACKETS,
) -> pl.LazyFrame:
    """Add a ``tool`` column (:data:`TOOL_DTYPE`) to the canonical table.

    Unicorn needs the count of packets per session key over the whole input,
    so this joins a small per-key frame back; everything else is per row.
    *sessions* is that frame (``unicorn_key``, ``unicorn_session``) when the
    caller has already computed it, e.g. with :func:`collect_unicorn_sessions`
    (then *unicorn_min_packets* is not used); without it the counts are part of
    the lazy plan.
    """
    if sessions is None:
        sessions = unicorn_sessions(lf, unicorn_min_packets)
    if isinstance(sessions, pl.DataFrame) and sessions.height == 0:  # no session: no join over every packet
        keyed = lf.with_columns(unicorn_key(), pl.lit(False).alias("unicorn_session"))
    else:
        keyed = lf.with_columns(unicorn_key()).join(sessions.lazy(), on="unicorn_key", how="left")
    candidate = scan_candidate()

    def lit(name: str) -> pl.Expr:  # the enum's own literals: no string made per packet and cast after
        return pl.lit(name, TOOL_DTYPE)

    tool = (
        pl.when(~candidate).then(lit("other"))
        .when(masscan_rule()).then(lit("masscan"))
        .when(pl.col("unicorn_session").fill_null(False) & _syn_only()).then(lit("unicorn"))
        .when(mirai_rule()).then(lit("mirai"))
        .when(nmap_rule()).then(lit("nmap"))
        .when(zmap_rule()).then(lit("zmap"))
        .otherwise(lit("other"))
    )
    return keyed.with_columns(tool.fill_null(lit("other")).alias("tool")).drop("unicorn_key", "unicorn_session")
