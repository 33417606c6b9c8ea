"""``scantui packets``: the packets of some sources, ports, days and a field filter; printed or written.

Every option is checked before any data is read (a bad filter, IP or day is one
line and exit 2). Without ``-o`` the packets are printed (a table of the first
``--limit`` rows, or every row as ``--json``/``--csv``: IPs dotted, TCP flags as
letters, times RFC 3339 ``Z``); with ``-o`` they are written, by the name's
suffix: ``.pcap`` through :func:`scantui.io.pcap_export.write_pcap` (original
bytes for capture inputs, synthesized frames otherwise), ``.parquet`` (the
canonical columns and types), ``.csv`` or ``.txt`` (an IP list) through
:func:`scantui.io.table_export.write_table`. What was written is said on stderr.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import click

from scantui.cli.data_cmds import PATHS, load_options, open_workspace, output_options, scale_options
from scantui.cli.output import (growing_slices, json_text, message, print_csv_pieces, print_json_encoded, print_table,
                                write_out)
from scantui.cli.option_types import counts
from scantui.cli.write_errors import writes
from scantui.errors import UsageError
from scantui.utctime import day_after, day_start, in_utc

#: Rows the table shows when ``--limit`` is not given (JSON/CSV and files hold every packet).
TABLE_DEFAULT_LIMIT = 50
_TABLE = (("ts", "time"), ("src", "src"), ("sport", "sport"), ("dst", "dst"), ("dport", "dport"), ("proto", "proto"),
          ("ttl", "ttl"), ("ip_id", "ipid"), ("tcp_window", "win"), ("tcp_flags", "flags"), ("tcp_mss", "mss"),
          ("ip_len", "len"), ("tcp_seq", "seq"))


def _time(text: str, name: str, end: bool) -> dt.datetime:
    """An ISO day or time (UTC when it has no zone); a bare day as ``--until`` means its end."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return day_after(day) if end else day_start(day)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{name}: {text!r} is not an ISO day or time (2024-02-05 or 2024-02-05T10:00Z)") from None
    try:
        return in_utc(value)
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}") from None


def _selection(src, ports, days, since, until, where):
    from scantui.analysis.packets import PacketFilterError, PacketSelection, parse_where

    srcs, nets = None, ()
    if src:
        try:
            srcs, nets = PacketSelection.parse_src(src)
        except ValueError as exc:
            raise UsageError(f"--src: {exc}") from None
    port_list = None
    if ports:
        try:
            port_list = tuple(int(p) for p in ports.split(",") if p.strip())
        except ValueError:
            raise UsageError(f"--port: {ports!r} is not a port number list") from None
        if not port_list or not all(0 <= p <= 65535 for p in port_list):
            raise UsageError(f"--port: {ports!r}: ports are 0-65535")
    day_list = None
    if days:
        try:
            day_list = tuple(dt.date.fromisoformat(d.strip()) for d in days.split(",") if d.strip())
        except ValueError:
            raise UsageError(f"--day: {days!r} is not a day list (YYYY-MM-DD[,...])") from None
    try:
        parse_where(where or "")
    except PacketFilterError as exc:
        raise UsageError(f"--where: {exc}") from None
    start = _time(since, "--since", False) if since else None
    end = _time(until, "--until", True) if until else None
    if start is not None and end is not None and start >= end:  # as scanners --since/--until: said, not an empty table
        raise UsageError(f"--since/--until: --since {since} is not before --until {until}")
    return PacketSelection(srcs=srcs, nets=nets, ports=port_list, days=day_list, since=start, until=end, where=where or "")


def _out_kind(out: Path | None) -> str | None:
    if out is None:
        return None
    if out.suffix.lower() == ".pcap":
        return "pcap"
    from scantui.io.table_export import export_format

    return export_format(out)


@click.command("packets")
@PATHS
@click.option("--src", default=None, metavar="IP|CIDR[,...]", help="Only packets from these sources.")
@click.option("--port", "ports", default=None, metavar="N[,N...]", help="Only packets to these destination ports.")
@click.option("--day", "days", default=None, metavar="YYYY-MM-DD[,...]", help="Only packets of these UTC days.")
@click.option("--since", default=None, metavar="ISO", help="Only packets at or after this time (a day: its start).")
@click.option("--until", default=None, metavar="ISO", help="Only packets before this time (a day: up to its end).")
@click.option("--where", default=None, metavar="FILTER",
              help="Field filter, e.g. 'ttl:64 ipid:54321 win:1024 flags:S sport:40000-40100' (see the README).")
@click.option("-o", "--output", "out", default=None, type=click.Path(path_type=Path),
              help="Write the packets: .pcap (Wireshark), .parquet, .csv, or .txt (the sources' IPs).")
@click.option("--limit", type=counts(rows=True), default=None, metavar="N",
              help=f"Only the first N packets (the table shows {TABLE_DEFAULT_LIMIT} without it).")
@load_options
@output_options
@scale_options
def packets_cmd(paths, src, ports, days, since, until, where, out, limit, load_opts, fmt):
    """The packets of some sources, ports and days, time-ordered; printed, or written with -o."""
    sel = _selection(src, ports, days, since, until, where)
    kind = _out_kind(out)
    if kind is not None and fmt != "table":
        raise UsageError("-o writes a file; --json/--csv print to stdout: choose one")
    if out is not None and not out.parent.is_dir():
        raise UsageError(f"folder {out.parent} does not exist", path=str(out))
    run = writes("out")(_packets) if out is not None else _packets
    run(paths=paths, sel=sel, kind=kind, out=out, limit=limit, load_opts=load_opts, fmt=fmt)


def _packets(*, paths, sel, kind, out, limit, load_opts, fmt) -> None:
    from scantui.analysis.packets import display_frame, packet_count, packet_page, select_packets
    from scantui.io.schema import drop_refs

    ws = open_workspace(paths, load_opts, (None, None))
    source, files = ws.packet_view()
    full = select_packets(source, sel)
    # the first rows from the first days that hold them (packet_page): a head() of the whole selection read every
    # day first (a top scanner's first 5 packets at 200 M: 5.5-7.0 against 0.8-1.0 CPU s)
    lf = full if limit is None else packet_page(full, 0, limit).lazy()
    if kind == "pcap":
        from scantui.io.pcap_export import write_pcap

        done = write_pcap(lf, out, files)
        what = f"{done.original:,} original" if done.original else ""
        what += (", " if what and done.synthesized else "") + (f"{done.synthesized:,} synthesized" if done.synthesized else "")
        message(f"wrote {done.packets:,} packets to {out}" + (f" ({what})" if what else ""))
        if done.note:
            message(f"scantui: note: {done.note}")
        return
    if kind is not None:
        from scantui.io.table_export import write_table

        frame = drop_refs(lf).collect()
        n = write_table(frame if kind != "csv" else display_frame(frame), out, kind)
        message(f"wrote {n:,} {'addresses' if kind == 'ips' else 'packets'} to {out}")
        return
    shown = limit if limit is not None else (TABLE_DEFAULT_LIMIT if fmt == "table" else None)
    frame = drop_refs(lf if shown is None or limit is not None else packet_page(full, 0, shown).lazy()).collect()
    if fmt in ("json", "csv"):
        # every packet read above (a failing read leaves stdout empty); made into rows a piece at a time, so a
        # reader that went away (| head -1) ends the command before the rest is converted
        shown_frames = (display_frame(frame.slice(start, n)) for start, n in growing_slices(frame.height))
        if fmt == "json":
            _print_json(shown_frames)
        else:
            _print_csv(shown_frames, list(frame.columns))
    else:
        rows = display_frame(frame).to_dicts()
        # counted before anything is printed: a read that fails there (an input cut meanwhile) leaves stdout empty
        total = packet_count(full) if limit is None and len(rows) == shown else None
        cells = [[("-" if r.get(c) is None else str(r[c])) for c, _ in _TABLE] for r in rows]
        print_table(f"packets: {len(rows):,}", [h for _, h in _TABLE], cells)
        if total is not None and total > len(rows):
            message(f"showing {len(rows):,} of {total:,} packets; use --limit N, --json or -o for more")


def _print_json(frames) -> None:
    """The rows of *frames* as one JSON list, each frame's rows encoded in polars (the bytes json.dumps
    writes, ~9x less CPU), or through json.dumps when a column has a type polars does not encode here."""
    from scantui.analysis.scanners_text import frame_json_rows

    def encoded():
        for f in frames:
            rows = frame_json_rows(f)
            yield rows if rows is not None else [json_text(r).encode() for r in f.to_dicts()]

    print_json_encoded(encoded())


def _print_csv(frames, columns: list[str]) -> None:
    """The rows of *frames* as CSV with a header, each frame written by polars (the bytes Python's csv
    writer wrote, ~5x less CPU), or through it when a column has a type not written so here."""
    from scantui.analysis.scanners_text import frame_csv_bytes

    first = True
    for f in frames:
        data = frame_csv_bytes(f, header=first)
        if data is None:
            print_csv_pieces(itertools.chain([f.to_dicts()], (g.to_dicts() for g in frames)), columns, header=first)
            return
        write_out(data)
        first = False
    if first:  # no rows: the header alone
        print_csv_pieces([], columns)


COMMANDS = [packets_cmd]
