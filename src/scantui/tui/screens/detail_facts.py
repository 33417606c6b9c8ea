"""The facts panels of the detail screens: a scanner row, a candidate scan or a suggested group as labelled lines.

Every value that came from a file or a service (AS names, hostnames, keys, label
ids) goes through :func:`scantui.safetext.safe_line`, so it is shown as text; the input's
own columns (AS name, hostname, org, sensor ...) through :func:`~scantui.safetext.safe_value`,
cut as shown (the full value: the scanner list's export, ``scantui scanners --json``). The
candidate scans and groups are typed results (:mod:`scantui.analysis.collab_types`):
times, IPs and AS numbers are read from their fields, never parsed back from text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text

from scantui.analysis.collab_types import utc_time

from scantui.safetext import safe_line, safe_value
from scantui.tui.app_views import range_text
from scantui.tui.columns import NULL, ip_text, percent_text, time_text, tools_text
from scantui.tui.widgets.timing import span_text

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup
    from scantui.analysis.scanner_row import ScannerRow


def _list_text(values: Any, limit: int = 8) -> str:
    values = list(values or [])
    if not values:
        return NULL
    shown = ", ".join(safe_line(v) for v in values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def review_text(state: str, matches: list[dict[str, Any]]) -> Text:
    """``new`` / ``labelled as G1 (collaborative, 100%)`` / ``rejected as ...``: label ids are data."""
    text = Text("same IPs, scans not recorded," if state == "same_ips" else state, style="bold")
    if matches:
        text.append(" as ")
        text.append(", ".join(f"{safe_line(m['id'])} ({safe_line(m.get('verdict'))}, {m['share']:.0%})" for m in matches[:3]))
    return text



def lists_text(row: ScannerRow, limit: int = 4) -> str:
    """The known-scanner lists holding the source, with the entries that hold it (``mass_scanner 71.6.216.0/27
    labs.rapid7.com (research)``); names come from the list files: data, escaped."""
    from scantui.enrich.lists import entries_holding, load_lists
    from scantui.errors import ScantuiError

    try:
        wanted = set(row.list)
        found = entries_holding(row.src, [k for k in load_lists() if k.info.name in wanted])
    except ScantuiError:  # a list file went bad since the list was computed: the names alone
        found = []
    if not found:
        return ", ".join(safe_value(n) for n in row.list)
    parts = [" ".join(x for x in (safe_value(lst), safe_value(entry), safe_value(name or ""),
                                  f"({safe_value(cat)})" if cat else "") if x)
             for lst, entry, name, cat in found[:limit]]
    return " · ".join(parts) + (f" (+{len(found) - limit} more)" if len(found) > limit else "")


def _count(n: int, noun: str) -> str:
    """``1 port``, ``3 ports``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def scanner_facts(row: ScannerRow) -> list[tuple[str, Text | str]]:
    """A scanner row (``scantui scanners``) as facts: who, how much, when, with what, how."""
    def get(key: str) -> Any:
        return getattr(row, key)

    asn = f"AS{get('asn')} {safe_value(get('as_name') or '')}".rstrip() if get("asn") is not None else "no AS data"
    who = f"{ip_text(get('src'))} · {asn} · {safe_value(get('country') or NULL)}"
    org = f"org {safe_value(get('org') or NULL)} · category {safe_value(get('category') or NULL)} · host {safe_value(get('hostname') or NULL)}"
    traffic = " · ".join(_count(get(key) or 0, noun) for key, noun in
                         (("packets", "packet"), ("ports", "port"), ("dsts", "dst"), ("days_active", "day")))
    traffic += " active"
    seen = f"{time_text(get('first_seen'))} → {time_text(get('last_seen'))}" if get("first_seen") else NULL
    shares = " · ".join(f"{name} {percent_text(get(key))}" for name, key in
                        (("well-known", "well_known_share"), ("registered", "registered_share"), ("ephemeral", "ephemeral_share"))
                        if get(key) is not None)
    period = f" every {get('period_days'):g} days" if get("period_days") and get("schedule") == "periodic" else ""
    strength = f" (strength {get('schedule_strength'):.1f})" if get("schedule_strength") else ""
    coverage = f"coverage max {percent_text(get('coverage_max'))}" if get("coverage_max") is not None else ""
    days = f"days scanned {percent_text(get('days_scanned'))}" if get("days_scanned") is not None else ""
    rule = [("rule", safe_value(get("rule")))] if get("rule") else []
    listed = [("lists", lists_text(row))] if row.list else []
    return [
        ("source", who),
        ("", org),
        *rule,
        *listed,
        ("traffic", traffic),
        ("seen", seen),
        ("tools", (tools_text(dict(row.tools)) if row.tools else safe_value(get("tool") or NULL))
         + (" · zmap (walk)" if get("variant") == "walk" else "")),
        ("range", f"{safe_line(get('range_class') or NULL)}" + (f" · {shares}" if shares else "")),
        ("schedule", " · ".join(x for x in (f"{safe_line(get('schedule') or NULL)}{period}{strength}", days, coverage,
                                             f"picture {safe_line(get('picture') or NULL)}") if x)),
    ]


def candidate_facts(c: CandidateScan) -> list[tuple[str, Text | str]]:
    """A candidate scan as facts: where, who, cover, timing, score, and why it is one scan (its ``reasons``)."""
    span = " (" + span_text(c.end_us - c.start_us) + ")"
    key = safe_line(c.key.text)
    asn = f"AS{c.asn}" if c.asn else ""
    window = safe_line(c.window or "day")
    where = f"{c.port}/{safe_line(c.proto)} · {c.day.isoformat()}" + (
        f" ({window} window)" if window != "day" else "") + f" · key {key}" + (f" · {asn}" if asn and asn != key else "")
    union, size, total = c.union, c.telescope_size, c.total
    cover = (f"union {union:,} = {union / size:.2f} × telescope · N {c.cover_multiple} · "
             f"sum {total:,} · overlap {c.overlap:.1%}") if size else f"union {union:,}"
    score = f"{c.score} = " + " + ".join(f"{weight:g}×{value:.2f} {name}" for name, weight, value in c.score_parts.weighted())
    why = [("why", "; ".join(safe_line(r) for r in c.reasons))] if c.reasons else []
    if c.sensor_cover:  # several sensors: the space it was found on, and its share of each sensor's
        from scantui.present import sensors_cell

        found, reached = sensors_cell(c, name=safe_value)
        why.append(("sensors", f"found on {found} · reached {reached}"))
    return [
        ("scan", where),
        ("members", f"{c.n_sources} sources · {c.packets:,} packets"),
        ("cover", cover),
        ("timing", f"{c.timing} (containment {c.timing_containment:.2f}) · "
                   f"{c.start:%H:%M:%S} → {c.end:%H:%M:%S} UTC{span}"),
        ("score", score),
        ("also", f"keys {_list_text([k.text for k in c.also_keys])} · "
                 f"standalone excluded {_list_text([ip_text(s) for s in c.excluded_standalone], 4)}"),
        *why,
    ]


def group_facts(g: SuggestedGroup, shown: Sequence[CandidateScan] | None = None,
                days: tuple[dt.date, dt.date] | None = None) -> list[tuple[str, Text | str]]:
    """A suggested group as facts: why, who, where, when, how it splits.

    Under a time range (*days*, with the scans *shown* of it) what is in the range beside what the group holds:
    ``scans 2 of 3 in 2024-02-04..2024-02-10``, the members, ports, hours and days of those scans (``231 of 240
    sources``); where none is in it (all shown), said so on the first line and the rest the group's. Without
    *days*: the group as found."""
    links = dict(g.links)
    reasons = ", ".join(f"{safe_line(r)} ×{links.get(r, 0)}" for r in g.reasons) or "none (a scan alone)"
    split = g.split
    split_text = " ".join(f"{s:.1%}" for s in split[:4]) + (f" … ({len(split)})" if len(split) > 4 else "")
    scans = list(g.scans)
    group = f"{safe_line(g.group)} · {g.n_scans} scans · score {g.score}"
    if days is not None and shown is not None and g.scans:
        span = range_text(days)
        if any(days[0] <= s.day <= days[1] for s in g.scans):
            scans = list(shown)
            group = f"{safe_line(g.group)} · scans {len(scans)} of {g.n_scans} in {span} · score {g.score}"
        else:
            group = f"{safe_line(g.group)} · {g.n_scans} scans, none in {span}: all shown · score {g.score}"
    if len(scans) == g.n_scans:
        members = f"{g.n_members} sources · per scan {_list_text(g.sizes, 8)}"
        ports, n_days = g.ports, len(g.days)
        first, last = utc_time(g.first_start_us), utc_time(g.last_end_us)
        of_days = ""
    else:
        from scantui.analysis.pool_summary import scans_members

        active = len(scans_members(scans, g.members))
        members = (f"{active} of {g.n_members} sources in those scans · per scan "
                   f"{_list_text([s.n_sources for s in scans], 8)}")
        ports = tuple(p for p in g.ports if any(s.port == p for s in scans))
        n_days = len({s.day for s in scans})
        first, last = utc_time(min(s.start_us for s in scans)), utc_time(max(s.end_us for s in scans))
        of_days = f" of {len(g.days)}"
    return [
        ("group", group),
        ("links", reasons),
        ("members", members),
        ("where", f"ports {_list_text(ports, 8)} · {_list_text([f'AS{a}' for a in g.asns], 4)}"),
        ("when", f"{first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M} UTC · {n_days}{of_days} "
                 f"day{'s' if n_days != 1 or of_days else ''}"),
        ("split", f"{safe_line(g.timing)} · N {g.cover_multiple} · typical {split_text or NULL}"),
    ]


def source_note_facts(source: Any) -> list[tuple[str, Text | str]]:
    """The labels file's note on a source (``sources:``) as facts: its tags and note (lines joined by `` / ``),
    who changed it last; nothing when it has none. Text from the file is shown escaped, never as markup."""
    if source is None:
        return []
    out: list[tuple[str, Text | str]] = []
    if source.tags:
        out.append(("tags", safe_line(", ".join(source.tags))))
    if source.note:
        by = f"  ({safe_line(source.updated_by)})" if source.updated_by else ""
        out.append(("note", " / ".join(safe_line(line) for line in source.note.strip().splitlines()) + by))
    return out
