"""The facts panels of the detail screens: a scanner row, a candidate scan or a suggested group as labelled lines.

Every value that came from a file or a service (AS names, hostnames, keys, label
ids) goes through :func:`scantui.safetext.safe_line`, so it is shown as text. Also
the small readers of a record's own fields the detail screens need: an ISO time
as µs (:func:`iso_us`), a dotted IP as an integer (:func:`ip_int`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from rich.text import Text

from scantui.safetext import safe_line
from scantui.tui.columns import NULL, ip_text, percent_text, time_text, tools_text
from scantui.tui.widgets.timing import span_text


def iso_us(text: str) -> int:
    """A record's ISO time (``2024-02-05T09:00:02.015475Z``) as µs since the epoch."""
    when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return (when - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def ip_int(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))


def _hm(text: str) -> str:
    return str(text)[11:19]


def _when(text: Any) -> str:
    """``2024-02-04 15:29`` from a record's ISO time."""
    return str(text or NULL)[:16].replace("T", " ")


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



def scanner_facts(row: dict[str, Any]) -> list[tuple[str, Text | str]]:
    """A scanner row (``scantui scanners``) as facts: who, how much, when, with what, how."""
    def get(key: str) -> Any:
        return row.get(key)

    asn = f"AS{get('asn')} {safe_line(get('as_name') or '')}".rstrip() if get("asn") is not None else "no AS data"
    who = f"{ip_text(get('src'))} · {asn} · {safe_line(get('country') or NULL)}"
    org = f"org {safe_line(get('org') or NULL)} · category {safe_line(get('category') or NULL)} · host {safe_line(get('hostname') or NULL)}"
    traffic = (f"{get('packets') or 0:,} packets · {get('ports') or 0:,} ports · {get('dsts') or 0:,} dsts · "
               f"{get('days_active') or 0} days active")
    seen = f"{time_text(get('first_seen'))} → {time_text(get('last_seen'))}" if get("first_seen") else NULL
    shares = " · ".join(f"{name} {percent_text(get(key))}" for name, key in
                        (("well-known", "well_known_share"), ("registered", "registered_share"), ("ephemeral", "ephemeral_share"))
                        if get(key) is not None)
    period = f" every {get('period_days'):g} days" if get("period_days") and get("schedule") == "periodic" else ""
    strength = f" (strength {get('schedule_strength'):.1f})" if get("schedule_strength") else ""
    coverage = f"coverage max {percent_text(get('coverage_max'))}" if get("coverage_max") is not None else ""
    days = f"days scanned {percent_text(get('days_scanned'))}" if get("days_scanned") is not None else ""
    rule = [("rule", safe_line(get("rule")))] if get("rule") else []
    return [
        ("source", who),
        ("", org),
        *rule,
        ("traffic", traffic),
        ("seen", seen),
        ("tools", tools_text(get("tools")) if get("tools") else safe_line(get("tool") or NULL)),
        ("range", f"{safe_line(get('range_class') or NULL)}" + (f" · {shares}" if shares else "")),
        ("schedule", " · ".join(x for x in (f"{safe_line(get('schedule') or NULL)}{period}{strength}", days, coverage,
                                             f"picture {safe_line(get('picture') or NULL)}") if x)),
    ]


def candidate_facts(c: dict[str, Any]) -> list[tuple[str, Text | str]]:
    """A candidate scan (``collab`` record) as facts: where, who, cover, timing, score."""
    start, end = c.get("start", ""), c.get("end", "")
    try:
        span = " (" + span_text(iso_us(end) - iso_us(start)) + ")"
    except ValueError:
        span = ""
    key, asn = safe_line(c.get("key")), safe_line(c.get("asn") or "")
    window = safe_line(c.get("window") or "day")
    where = f"{c.get('port')}/{safe_line(c.get('proto') or 'tcp')} · {safe_line(c.get('day'))}" + (
        f" ({window} window)" if window != "day" else "") + f" · key {key}" + (f" · {asn}" if asn and asn != key else "")
    union, size, total = c.get("union") or 0, c.get("telescope_size") or 0, c.get("total") or 0
    cover = (f"union {union:,} = {union / size:.2f} × telescope · N {c.get('cover_multiple')} · "
             f"sum {total:,} · overlap {c.get('overlap', 0):.1%}") if size else f"union {union:,}"
    parts = c.get("score_parts") or {}
    weights = {"cover": 50, "timing": 30, "sources": 20}
    score = f"{c.get('score')}" + (" = " + " + ".join(f"{weights.get(k, 1)}×{v:.2f} {k}" for k, v in parts.items()) if parts else "")
    return [
        ("scan", where),
        ("members", f"{c.get('n_sources') or len(c.get('sources') or ())} sources · {c.get('packets', 0):,} packets"),
        ("cover", cover),
        ("timing", f"{safe_line(c.get('timing'))} (containment {c.get('timing_containment', 0):.2f}) · "
                   f"{_hm(start)} → {_hm(end)} UTC{span}"),
        ("score", score),
        ("also", f"keys {_list_text(c.get('also_keys'))} · standalone excluded {_list_text(c.get('excluded_standalone'), 4)}"),
    ]


def group_facts(g: dict[str, Any]) -> list[tuple[str, Text | str]]:
    """A suggested group (``groups`` record) as facts: why, who, where, when, how it splits."""
    links = g.get("links") or {}
    reasons = ", ".join(f"{safe_line(r)} ×{links.get(r, 0)}" for r in g.get("reasons") or ()) or "none (a scan alone)"
    split = g.get("split") or []
    split_text = " ".join(f"{s:.1%}" for s in split[:4]) + (f" … ({len(split)})" if len(split) > 4 else "")
    days = len(g.get("days") or ())
    return [
        ("group", f"{safe_line(g.get('group'))} · {g.get('scans')} scans · score {g.get('score')}"),
        ("links", reasons),
        ("members", f"{g.get('n_members') or len(g.get('members') or ())} sources · per scan {_list_text(g.get('sizes'), 8)}"),
        ("where", f"ports {_list_text(g.get('ports'), 8)} · {_list_text(g.get('asns'), 4)}"),
        ("when", f"{_when(g.get('first_start'))} → {_when(g.get('last_end'))} UTC · {days} day{'s' if days != 1 else ''}"),
        ("split", f"{safe_line(g.get('timing'))} · N {g.get('cover_multiple')} · typical {split_text or NULL}"),
    ]

