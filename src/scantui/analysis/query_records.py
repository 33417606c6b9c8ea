"""The candidates' and groups' query as one polars expression: what every ``key:value`` term means for them.

:func:`record_fields` turns candidate scans and suggested groups into a frame of what the query keys test (one
row per record, in order: ports, member addresses, ASes, days, timing, key texts, sensors, the numbers the
comparisons read), built once per list of records and kept beside it. What changes with the labels file
comes beside it per filter (:func:`with_reviews`: each record's review word and the ids of the labelled groups
it matches, their titles; the source notes for ``tag:``/``note:`` as sets of addresses), and
:func:`compile_records` makes the query one expression over that frame; :func:`matching_rows` runs it. The
work is polars' (it leaves the GIL free: the TUI runs it in a thread worker while the user types); the CLI's
``--query`` and the watch use it through :func:`~scantui.analysis.query.filter_records`, so the terms mean one
thing everywhere (a property test checks it against the per-record Python filter scantui had before, kept in
the tests): same keys OR, different keys AND, negations and comparisons each AND, a comparison the record's
kind has no field for left out.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from scantui.analysis.query import Query

_GROUP_ONLY = ("scans", "n_members")
_CANDIDATE_ONLY = ("n_sources",)
_SCHEMA = {
    "is_group": pl.Boolean, "ports": pl.List(pl.Int64), "ips": pl.List(pl.Int64), "asns": pl.List(pl.String),
    "days": pl.List(pl.Date), "timing": pl.String, "texts": pl.List(pl.String), "sensors": pl.List(pl.String),
    "n_sources": pl.Int64, "scans": pl.Int64, "n_members": pl.Int64, "score": pl.Float64,
}


def record_fields(records: Sequence[Any]) -> pl.DataFrame:
    """What the query keys test in each of *records* (candidate scans or suggested groups), one row each, in order
    (text lowercased: matching is case-insensitive); ``first``/``last``: its days'
    bounds (null: no day)."""
    from scantui.analysis.collab_types import KeyKind, SuggestedGroup

    rows = []
    for record in records:
        if isinstance(record, SuggestedGroup):
            asns = [f"as{a}" for a in record.asns]
            rows.append((True, record.ports, record.members, asns, record.days,
                         _text(record.timing), [record.group.lower(), *asns],
                         sorted({n.lower() for scan in record.scans for n in scan.covered_sensors}),
                         None, record.n_scans, record.n_members, record.score))
        else:
            keys = [record.key, *record.also_keys]
            asns = ([f"as{record.asn}"] if record.asn else []) + [k.text.lower() for k in keys if k.kind is KeyKind.ASN]
            rows.append((False, (record.port,), record.sources, asns, (record.day,), _text(record.timing),
                         [k.text.lower() for k in keys], sorted({n.lower() for n in record.covered_sensors}),
                         record.n_sources, None, None, record.score))
    columns = list(zip(*rows)) if rows else [()] * len(_SCHEMA)
    frame = pl.DataFrame([list_column(name, values, dtype) if isinstance(dtype, pl.List)
                          else pl.Series(name, values, dtype=dtype) for (name, dtype), values in zip(_SCHEMA.items(), columns)])
    return frame.with_columns(first=pl.col("days").list.min(), last=pl.col("days").list.max())


def list_column(name: str, values: Sequence[Sequence[Any]], dtype: pl.List) -> pl.Series:
    """A list column from Python sequences, built flat (polars' own conversion makes a Series per row: ~10x slower)."""
    rows = pl.Series("row", [i for i, row in enumerate(values) for _ in row], dtype=pl.Int64)
    flat = pl.Series(name, [v for row in values for v in row], dtype=dtype.inner)
    lists = pl.DataFrame([rows, flat]).group_by("row").agg(pl.col(name))
    every = pl.DataFrame({"row": pl.int_range(len(values), eager=True, dtype=pl.Int64)})
    return every.join(lists, on="row", how="left", maintain_order="left").select(
        pl.col(name).fill_null(pl.lit([], dtype=dtype))).to_series()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def with_reviews(fields: pl.DataFrame, words: pl.Series | Sequence[str], labels: pl.Series | Sequence[Sequence[str]],
                 titles: Mapping[str, str | None]) -> pl.DataFrame:
    """*fields* (rows of :func:`record_fields`) with each row's review word (``new``, ``same``, ``labelled``,
    ``unsure``, ``rejected``), the ids of the labelled groups it matches and their titles (*titles*: id -> title;
    ``label:`` matches an id exactly or a word of a title), as :func:`compile_records` reads them."""
    ids = _series(labels, pl.List(pl.String))
    known = [gid for gid in ids.explode().unique().to_list() if gid is not None]
    lowered = {gid: gid.lower() for gid in known}  # (Python's lower(), as the query's values are)
    title_of = {gid: (titles.get(gid) or "").lower() for gid in known}
    return fields.with_columns(
        _series(words, pl.String).alias("review"),
        ids.list.eval(pl.element().replace_strict(lowered, default="", return_dtype=pl.String)).alias("label_ids"),
        ids.list.eval(pl.element().replace_strict(title_of, default="", return_dtype=pl.String)).alias("label_titles"),
    )


def _series(values: pl.Series | Sequence[Any], dtype: Any) -> pl.Series:
    return values.cast(dtype) if isinstance(values, pl.Series) else pl.Series(values=list(values), dtype=dtype)


def _any_element(column: str, test: pl.Expr) -> pl.Expr:
    """Whether any element of list *column* passes *test* (over ``pl.element()``); false for an empty list."""
    return pl.col(column).list.eval(test).list.any()


def _either(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([e.fill_null(False) for e in exprs]) if exprs else pl.lit(False)


def _within(value: pl.Expr, lo: Any, hi: Any) -> pl.Expr:
    parts = ([value >= lo] if lo is not None else []) + ([value <= hi] if hi is not None else [])
    return pl.all_horizontal(parts) if parts else value.is_not_null()


def _noted(notes: Mapping[int, Any] | None, test: Any) -> list[int]:
    """The addresses whose source note passes *test*."""
    return [ip for ip, source in (notes or {}).items() if test(source)]


def _cmp(column: str, op: str, value: float) -> pl.Expr:
    col = pl.col(column)
    out = {">": col > value, ">=": col >= value, "<": col < value, "<=": col <= value,
           "=": col == value, "!=": col != value}[op]
    if math.isnan(value):  # (``score<nan``) as Python compares: false but for !=
        out = pl.when(col.is_null()).then(None).otherwise(pl.lit(op == "!="))
    elif column == "score":  # Python's NaN compares false but for !=; polars orders NaN above every number
        out = pl.when(col.is_nan()).then(pl.lit(op == "!=")).otherwise(out)
    return out


def _where_known(term: Any, test: pl.Expr) -> pl.Expr:
    """*test* (the term's, negated or not) where the record has the field a comparison reads; true (the term left
    out) on a record of the other list."""
    column = term.values[0] if term.key == "cmp" else None
    if column in _GROUP_ONLY:
        return pl.when(pl.col("is_group")).then(test).otherwise(pl.lit(True))
    if column in _CANDIDATE_ONLY:
        return pl.when(pl.col("is_group")).then(pl.lit(True)).otherwise(test)
    return test


def _atom(key: str, values: Sequence[Any], notes: Mapping[int, Any] | None) -> pl.Expr:
    """Whether a row matches any of *values* of *key*."""
    element = pl.element()
    if key == "port":
        return _any_element("ports", pl.any_horizontal([element.is_between(lo, hi) for lo, hi in values]))
    if key == "src":
        nets = [ipaddress.IPv4Network(n) for n in values]
        return _any_element("ips", pl.any_horizontal([(element & int(n.netmask)) == int(n.network_address)
                                                      for n in nets]))
    if key == "as":
        exact = [f"as{v}" for v in values if isinstance(v, int)]
        words = [v for v in values if isinstance(v, str)]
        tests = ([element.is_in(exact)] if exact else []) + [element.str.contains(v, literal=True) for v in words]
        return _any_element("asns", pl.any_horizontal(tests))
    if key == "day":
        return _any_element("days", pl.any_horizontal([_within(element, lo, hi) for lo, hi in values]))
    if key == "seen":
        return _either([(pl.col("last") >= lo if lo is not None else pl.col("last").is_not_null())
                        & (pl.col("first") <= hi if hi is not None else pl.col("first").is_not_null())
                        for lo, hi in values])
    if key == "label":  # a group id (exactly) or a word of its title
        wanted = list(values)
        return _either([_any_element("label_ids", element.is_in(wanted)),
                        _any_element("label_titles", pl.any_horizontal([element.str.contains(v, literal=True)
                                                                        for v in wanted]))])
    if key in ("tag", "note"):  # a member's tag (exactly) / text in a member's note (the labels file's sources:)
        wanted = list(values)
        if key == "tag":
            ips = _noted(notes, lambda s: any(t.lower() in wanted for t in s.tags))
        else:
            ips = _noted(notes, lambda s: bool(s.note) and any(v in s.note.lower() for v in wanted))
        return _any_element("ips", element.is_in(ips)) if ips else pl.lit(False)
    if key == "timing":
        return pl.col("timing").is_in(list(values))
    if key == "sensor":
        return _any_element("sensors", element.is_in(list(values)))
    if key == "review":
        accepted = set()
        for v in values:
            accepted |= {"reviewed": {"labelled", "unsure", "rejected"}, "todo": {"new", "same"}}.get(v, {v})
        return pl.col("review").replace("same_ips", "same").is_in(sorted(accepted))
    if key == "text":
        return _any_element("texts", pl.any_horizontal([element.str.contains(v, literal=True) for v in values]))
    if key == "cmp":
        return _cmp(*values)
    raise ValueError(f"{key}: unsupported term")  # pragma: no cover - the record fields parse no other key


def compile_records(query: Query, notes: Mapping[int, Any] | None = None) -> pl.Expr | None:
    """One boolean expression for *query* (parsed with :data:`~scantui.analysis.query.RECORD_FIELDS`) over a
    frame of :func:`with_reviews`; *notes*: the source notes by address (``tag:``, ``note:``). None: every row."""
    groups: dict[str, list[Any]] = {}
    ands: list[pl.Expr] = []
    for term in query.terms:
        if term.negate:
            ands.append(_where_known(term, ~_atom(term.key, term.values, notes).fill_null(False)))
        elif term.key in ("cmp", "text"):
            ands.append(_where_known(term, _atom(term.key, term.values, notes).fill_null(False)))
        else:
            groups.setdefault(term.key, []).extend(term.values)
    ands += [_atom(key, values, notes).fill_null(False) for key, values in groups.items()]
    return pl.all_horizontal(ands) if ands else None


def matching_rows(query: Query, frame: pl.DataFrame, notes: Mapping[int, Any] | None = None) -> pl.Series:
    """Which rows of *frame* (:func:`with_reviews`) *query* keeps, as a boolean Series."""
    expr = compile_records(query, notes)
    if expr is None:
        return pl.Series("match", [True] * frame.height, dtype=pl.Boolean)
    # with_columns, not select: a query that reads no column (e.g. ``-tag:x`` with no source notes: a literal
    # true) is one row under select, and must be one value per record
    return frame.with_columns(expr.alias("__match")).get_column("__match").alias("match")


def filter_record_fields(query: Query, records: Sequence[Any],
                         reviews: Sequence[tuple[str, Sequence[tuple[str, str]]]],
                         sources: Mapping[int, Any] | None = None) -> list[int]:
    """The indices of *records* matching *query*, in order (:func:`~scantui.analysis.query.filter_records`: *reviews*
    gives each record its review word and the (id, title) of the labelled groups it matches)."""
    texts = pl.List(pl.String)
    frame = record_fields(records).with_columns(
        pl.Series("review", [w for w, _p in reviews], dtype=pl.String),
        pl.Series("label_ids", [[(g or "").lower() for g, _t in p] for _w, p in reviews], dtype=texts),
        pl.Series("label_titles", [[(t or "").lower() for _g, t in p] for _w, p in reviews], dtype=texts))
    return pl.arg_where(matching_rows(query, frame, sources), eager=True).to_list()

