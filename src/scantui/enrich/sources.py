"""Sources of enrichment behind one interface, chosen by what is configured.

A :class:`Source` answers ``lookup(ips)`` with a :class:`Lookup`: a frame of
answers (``src``, ``as_of``, the fields of :data:`scantui.enrich.answers.FIELDS`)
plus how many IPs it could not resolve and why. An IP may have several
answers with different ``as_of`` days (history); the table builder takes the
one nearest each day of the data.

* :class:`IpinfoSource`: the persistent cache first, then the IPinfo API for
  IPs with no answer or only one older than ``refresh_days`` (when a token is
  configured and not ``--offline``); new answers are stored with today as
  ``as_of``. Without a token it serves what the cache holds: the cache is used
  always.
* :class:`MmdbSource`: one MMDB file (IPinfo's free ASN/country/Lite databases
  or MaxMind GeoLite2/GeoIP2 ASN/Country/City), its build date as ``as_of``.
  Files of the same database type are snapshots of one source, so several
  dated files resolve AS per day of the data.

:func:`configured_sources` builds the list from :class:`scantui.config.EnrichSettings`:
IPinfo (cache, then service) first, then the MMDB files in the order given.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from scantui.config import EnrichSettings
from scantui.enrich.answers import FIELDS, Answer, from_mmdb
from scantui.enrich.cache import AnswerCache
from scantui.errors import InputError

ANSWER_SCHEMA = pl.Schema({
    "src": pl.UInt32(), "as_of": pl.Date(), "asn": pl.UInt32(), "as_name": pl.String(), "country": pl.String(),
    "hostname": pl.String(), "company": pl.String(),
})


@dataclass
class Lookup:
    """One source's answers for some IPs."""

    answers: pl.DataFrame  # ANSWER_SCHEMA, several rows per src when history is known
    unresolved: int = 0  # IPs the source should have answered but could not (service unreachable)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)


class Source(Protocol):
    """Anything that answers IPs: ``name`` (shown in the table's ``source`` column) and ``fields`` it can fill."""

    name: str
    fields: tuple[str, ...]

    def lookup(self, ips: Sequence[int]) -> Lookup: ...


def answers_frame(rows: Sequence[tuple[int, dt.date, Answer]]) -> pl.DataFrame:
    data = {"src": [r[0] for r in rows], "as_of": [r[1] for r in rows]}
    for f in FIELDS:
        data[f] = [getattr(r[2], f) for r in rows]
    return pl.DataFrame(data, schema=ANSWER_SCHEMA)


# ---------------------------------------------------------------- MMDB files


class MmdbSource:
    """One MMDB database file (see the module doc for the layouts)."""

    fields = ("asn", "as_name", "country", "company")

    def __init__(self, path: Path):
        import maxminddb

        self.path = Path(path)
        try:
            self._reader = maxminddb.open_database(str(self.path))
        except FileNotFoundError:
            raise InputError("no such MMDB file", path=self.path) from None
        except (maxminddb.InvalidDatabaseError, ValueError, OSError) as exc:
            raise InputError(f"not a readable MMDB database ({type(exc).__name__})", path=self.path) from None
        meta = self._reader.metadata()
        self.database_type = _clean_label(meta.database_type) or "mmdb"
        self.as_of = dt.datetime.fromtimestamp(meta.build_epoch, dt.timezone.utc).date()
        self.name = f"mmdb:{self.database_type}"

    def close(self) -> None:
        self._reader.close()

    def lookup(self, ips: Sequence[int]) -> Lookup:
        import maxminddb

        rows = []
        for ip in ips:
            try:
                record = self._reader.get(ipaddress.IPv4Address(int(ip)))
            except (ValueError, maxminddb.InvalidDatabaseError):
                continue
            answer = from_mmdb(record)
            if answer is not None and not answer.is_empty():
                rows.append((int(ip), self.as_of, answer))
        return Lookup(answers_frame(rows), stats={"answered": len(rows)})


def _clean_label(value: object) -> str:
    from scantui.enrich.answers import clean_text

    return clean_text(value, 60) or ""


# ---------------------------------------------------------------- IPinfo (cache, then the service)


class IpinfoSource:
    """IPinfo answers: cached ones, refreshed from the service when configured (see the module doc)."""

    name = "ipinfo"
    fields = FIELDS

    def __init__(self, client=None, cache: AnswerCache | None = None, *, refresh_days: float = 30.0,
                 now: dt.datetime | None = None):
        self.client, self.cache, self.refresh_days = client, cache, refresh_days
        self.now = now or dt.datetime.now(dt.timezone.utc)

    def lookup(self, ips: Sequence[int]) -> Lookup:
        ips = list(dict.fromkeys(int(i) for i in ips))
        cached = self.cache.get(self.name, ips) if self.cache is not None else []
        newest: dict[int, dt.datetime] = {}
        for c in cached:
            newest[c.ip] = max(newest.get(c.ip, c.looked_up), c.looked_up)
        horizon = self.now - dt.timedelta(days=self.refresh_days)
        ask = [ip for ip in ips if ip not in newest or newest[ip] < horizon]
        rows = [(c.ip, c.as_of, c.answer) for c in cached]
        stats = {"cached": len(newest), "stale": sum(1 for ip in ask if ip in newest), "asked": 0, "answered": 0}
        notes: list[str] = []
        unresolved = 0
        if self.client is not None and ask:
            from scantui.enrich.ipinfo_source import dotted

            result = self.client.lookup(dotted(ask))
            today = self.now.date()
            fresh = [(int(ipaddress.IPv4Address(ip)), today, a) for ip, a in result.answers.items()]
            if self.cache is not None:
                self.cache.put(self.name, fresh, looked_up=self.now)
            rows.extend(fresh)
            stats.update(asked=len(ask), answered=len(fresh), requests=result.requests, retries=result.retries)
            if result.problem:
                unresolved = result.unresolved
                kept = sum(1 for ip in ask[len(ask) - result.unresolved:] if ip in newest)
                notes.append(
                    f"IPinfo: {result.problem}; {result.unresolved:,} of {len(ask):,} IPs unresolved"
                    + (f" ({kept:,} of them served from older cached answers)" if kept else "")
                    + "; the run goes on without them"
                )
        return Lookup(answers_frame(rows), unresolved=unresolved, notes=notes, stats=stats)


# ---------------------------------------------------------------- what is configured


def configured_sources(settings: EnrichSettings, *, client_factory=None) -> tuple[list[Source], list[str]]:
    """The sources *settings* allow, in priority order, and notes on what is not available.

    *client_factory* (tests) makes the IPinfo client from the settings; by default
    :class:`scantui.enrich.ipinfo_source.IpinfoClient`.
    """
    notes: list[str] = []
    sources: list[Source] = []
    cache = None
    if settings.use_cache:
        try:
            cache = AnswerCache(settings.cache)
        except InputError as exc:  # a broken or unwritable cache costs the cache, not the run
            notes.append(f"look-up cache not used: {exc.message}")
    client = None
    if settings.has_token and not settings.offline:
        if client_factory is None:
            from scantui.enrich.ipinfo_source import IpinfoClient

            client = IpinfoClient(settings.ipinfo_token, base_url=settings.ipinfo_url, timeout=settings.timeout,
                                  retries=settings.retries)
        else:
            client = client_factory(settings)
    if client is not None or cache is not None:
        sources.append(IpinfoSource(client, cache, refresh_days=settings.refresh_days))
    sources.extend(MmdbSource(p) for p in settings.mmdb)
    if client is None and not settings.mmdb:
        notes.append(NO_SOURCE_NOTE if not settings.offline else "offline: only cached answers are used")
    return sources, notes


#: Said once when nothing can look IPs up.
NO_SOURCE_NOTE = (
    "no look-up source configured: set IPINFO_TOKEN (or --ipinfo-token, or enrich.ipinfo_token in the config file) "
    "or give an MMDB file with --mmdb (IPinfo's free ASN/country databases or GeoLite2-ASN); "
    "using the data's own columns, the cache and the address rules only"
)
