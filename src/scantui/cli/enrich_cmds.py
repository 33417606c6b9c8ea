"""``scantui enrich``: who is behind each source, written as an enrichment table; ``scantui rules``.

``enrich`` looks every source of the data up in what is configured (IPinfo
with a token, MMDB files, the persistent cache; see
:mod:`scantui.enrich.sources`), names organizations with the rules and
writes the table atomically. The run always finishes: an unreachable service
is one message with the count of unresolved IPs. Give the table as one more
PATH to every other command (``scantui scanners DATA enrich.parquet``).

``rules`` lists the organization rules in force (shipped + yours), in
precedence order, so a new rule can be checked before it is used.

The IPinfo token (``--ipinfo-token``, ``IPINFO_TOKEN`` or the config file) is
never printed; prefer the environment or the config file, since a command
line is visible to other users of the machine.
"""

from __future__ import annotations

from pathlib import Path

import click

from scantui.cli.data_cmds import PATHS, RULES_OPTION, check_parquet_name, list_output_options, load_options
from scantui.cli.option_types import seconds
from scantui.cli.output import message, print_csv, print_json, print_jsonl, print_table
from scantui.cli.write_errors import writes


def _note(text: str) -> None:
    message(f"scantui: note: {text}")


@click.command("enrich")
@PATHS
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path), help="The enrichment table to write (Parquet only: a name ending .csv, .json, ... is refused).")
@click.option("--mmdb", "mmdb", multiple=True, metavar="FILE",
              help="An MMDB database (IPinfo ASN/country/Lite, MaxMind GeoLite2 ASN/Country/City); repeat for several. "
                   "Replaces the configured ones.")
@click.option("--ipinfo-token", "token", default=None, metavar="TOKEN",
              help="IPinfo API token (better: the IPINFO_TOKEN environment variable or the config file).")
@click.option("--offline", is_flag=True, help="Do not contact IPinfo; use the cache, MMDB files and rules only.")
@click.option("--refresh-days", type=seconds(0, 36_500), default=None, metavar="DAYS",
              help="Look an IP up again when its newest cached answer is older (default 30, or enrich.refresh_days).")
@click.option("--timeout", type=seconds(0.1, 3_600), default=None, metavar="SECONDS", help="Per IPinfo batch request (default 10).")
@click.option("--cache", "cache_path", default=None, metavar="FILE", help="The look-up cache file (default: enrich.sqlite in the user cache folder).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the look-up cache.")
@RULES_OPTION
@load_options
@click.option("--json", "as_json", is_flag=True, help="Print the run's report as one JSON document.")
@writes("out")
def enrich_cmd(paths, out, mmdb, token, offline, refresh_days, timeout, cache_path, no_cache, rules_path, load_opts, as_json):
    """Look sources up (IPinfo, MMDB, cache), name their organizations, write the enrichment table."""
    from scantui.config import enrich_settings
    from scantui.enrich.build import build_table
    from scantui.enrich.rules import load_rules
    from scantui.enrich.sources import configured_sources
    from scantui.enrich.table import write_table

    check_parquet_name(out, "enrich")
    settings = enrich_settings(token=token, mmdb=mmdb, rules=rules_path, cache=cache_path, use_cache=not no_cache,
                               offline=offline, refresh_days=refresh_days, timeout=timeout)
    rules = load_rules(settings.rules)
    if not out.parent.exists():
        from scantui.errors import InputError

        raise InputError("output folder does not exist", path=out.parent)
    sources, notes = configured_sources(settings)  # opens the MMDB files: a bad one fails before the data is read
    try:
        active, known = _data(paths, load_opts)
        table, report = build_table(active, known, sources, rules)
    finally:
        for source in sources:
            for closer in (getattr(source, "close", None), getattr(getattr(source, "cache", None), "close", None)):
                if closer is not None:
                    closer()
    write_table(table, out)
    for note in dict.fromkeys([*notes, *report.notes]):
        _note(note)
    named = sum(report.identified.values())
    cats = ", ".join(f"{c} {n:,}" for c, n in sorted(report.identified.items()))
    message(
        f"enriched {report.sources:,} sources ({report.looked_up:,} looked up"
        + "".join(f", {name} answered {n:,}" for name, n in report.answered.items())
        + (f", {report.unresolved:,} unresolved" if report.unresolved else "")
        + f"); organizations named for {named:,}" + (f" ({cats}; {report.low_confidence:,} by keyword, low confidence)" if named else "")
        + f"; AS unknown for {report.unknown_asn:,}; wrote {report.rows:,} rows to {out}"
    )
    if as_json:
        print_json({**report.as_dict(), "output": str(out)})


def _data(paths, load_opts):
    """Every (src, day) of the data and its own enrichment per (src, day), from the cached rollup."""
    from scantui.analysis import rollup as ru
    from scantui.cli.data_cmds import open_workspace

    rollup = open_workspace(paths, load_opts, (None, None)).rollup()
    return ru.scan_port_day(rollup.path).select("src", "day").unique(), rollup.enrichment


@click.command("rules")
@RULES_OPTION
@list_output_options
def rules_cmd(rules_path, fmt):
    """The organization rules in force (shipped + yours), in precedence order."""
    from scantui.enrich.rules import LOW_CONFIDENCE, load_rules

    rules = load_rules(rules_path)
    rows = [{"order": i + 1, "kind": r.kind, "pattern": r.pattern, "org": r.org, "category": r.category,
             "from": "user" if r.user else "shipped", "rule": r.text} for i, r in enumerate(rules.rules)]
    start = len(rows)
    rows += [{"order": start + i + 1, "kind": "keyword", "pattern": word, "org": None, "category": cat,
              "from": "keywords", "rule": f"keyword '{word}' → {cat} ({LOW_CONFIDENCE})"}
             for i, (cat, word) in enumerate(rules.keywords)]
    columns = ("order", "kind", "pattern", "org", "category", "from", "rule")
    if fmt == "json":
        print_json({"files": list(rules.files), "rules": rows, "keyword_exceptions": list(rules.exceptions)})
    elif fmt == "jsonl":
        print_jsonl(rows)  # one rule per line; files and keyword exceptions are in --json
    elif fmt == "csv":
        print_csv(rows, columns)
    else:
        print_table(f"rules: {len(rows)} from {', '.join(rules.files)}", columns[:-1],
                    ([r[c] if r[c] is not None else "-" for c in columns[:-1]] for r in rows))


COMMANDS = [enrich_cmd, rules_cmd]
