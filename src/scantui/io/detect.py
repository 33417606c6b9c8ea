"""Which format a file holds, decided from its content, not its name.

Magic numbers identify binary formats (Parquet, pcap in both byte orders and
timestamp resolutions, pcapng); text is sniffed: netfilter ``LOG`` lines carry
``SRC=... DST=...`` pairs, an iptables-style CSV has a header naming a source
column. Bytes that are not text (a NUL, or mostly invalid UTF-8 and control
bytes) are refused as an unrecognized format before any text reader sees them. A ``.cap`` or extension-less file works the same as a ``.pcap``.

A gzip, zstd, xz or bzip2 file is sniffed inside: its first decompressed bytes
decide the format (:mod:`scantui.io.compressed` reads it as a stream).
Compressed Parquet is refused (Parquet compresses its own columns).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scantui.errors import InputError

PARQUET = "parquet"
PCAP = "pcap"
PCAPNG = "pcapng"
IPTABLES_CSV = "iptables_csv"
NETFILTER_LOG = "netfilter_log"

FORMATS = (PARQUET, PCAP, PCAPNG, IPTABLES_CSV, NETFILTER_LOG)

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4",  # microseconds, LE / BE
    b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",  # nanoseconds, LE / BE
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


SNIFF_BYTES = 64 * 1024


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def check_regular(path: str | os.PathLike[str]) -> None:
    """Refuse anything but a regular file (or a link to one), before opening it.

    Opening a FIFO without a writer blocks forever and ``/dev/zero`` never ends;
    standard input is read through :mod:`scantui.io.stdin`.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError("no such file or folder", path=path) from None
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), path=path) from None
    if stat.S_ISDIR(mode):
        raise InputError("is a directory", path=path)
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "a special file")
        raise InputError(f"not a regular file ({kind})", path=path)


#: Control bytes a text file may hold (tab, newlines, form feed, escape: a log can colour its lines).
_TEXT_CONTROLS = frozenset("\t\n\r\f\x1b")


def looks_like_text(sample: bytes) -> bool:
    """Whether *sample* reads as text: at most a quarter of its characters undecodable as UTF-8 or control
    characters. Random binary data has about half (most bytes of 0x80 and up start no valid sequence); a
    Latin-1 CSV or one with a few escapes in a field is far below."""
    text = sample.decode("utf-8", errors="replace")
    bad = sum(1 for c in text if c == "\ufffd" or ((c < " " or c == "\x7f") and c not in _TEXT_CONTROLS))
    return bad * 4 <= len(text)


def sniff(path: Path) -> str:
    """Return one of :data:`FORMATS` for *path*, or raise :class:`InputError`."""
    check_regular(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except IsADirectoryError:
        raise InputError("is a directory", path=path) from None
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), path=path) from None
    if not head:
        raise InputError("empty file (0 bytes)", path=path)
    from scantui.io import compressed

    kind = compressed.compression_of(head)
    if kind is not None:
        head = compressed.head(path, SNIFF_BYTES, kind, allow_cut=True)  # a cut file is told by its reader
        if not head:
            compressed.head(path, SNIFF_BYTES, kind)  # cut before its first byte: that error
            raise InputError(f"empty {kind}-compressed file (0 bytes decompressed)", path=path)
        inner = compressed.compression_of(head)
        if inner is not None:
            raise InputError(f"{inner} inside {kind}: only one layer of compression is read", path=path)
        if head[:4] == b"PAR1":
            raise InputError(f"{kind}-compressed Parquet is not read (Parquet compresses its own columns); "
                             "decompress it first", path=path)
    if head[:4] == b"PAR1":
        return PARQUET
    if head[:4] in _PCAP_MAGICS:
        return PCAP
    if head[:4] == _PCAPNG_MAGIC:
        return PCAPNG
    if b"\x00" in head[:4096]:
        raise InputError(
            f"unrecognized binary format (first bytes {head[:4].hex()}): not Parquet, pcap or pcapng",
            path=path, where="byte 0",
        )
    if not looks_like_text(head[:4096]):
        raise InputError(
            f"unrecognized format (first bytes {head[:4].hex()}: not text): expected Parquet, pcap, pcapng, "
            "an iptables-style CSV or netfilter LOG lines",
            path=path, where="byte 0",
        )
    from scantui.io.iptables_csv import looks_like_iptables_csv
    from scantui.io.netfilter_log import looks_like_netfilter_log

    text = head.decode("utf-8", errors="replace")
    if looks_like_netfilter_log(text):
        return NETFILTER_LOG
    first = next((ln for ln in text.lstrip("\ufeff").splitlines() if ln.strip()), "")
    if looks_like_iptables_csv(text) or any(sep in first for sep in (",", ";", "\t")):
        # a header that misses a needed column gets the CSV loader's precise message
        return IPTABLES_CSV
    raise InputError(
        "unrecognized format: not Parquet, pcap, pcapng, an iptables-style CSV (header with SRC/DST) "
        "or netfilter LOG lines (SRC=... DST=...)",
        path=path, where="line 1",
    )
