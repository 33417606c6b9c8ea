"""Column normalization shared by the tabular loaders (CSV, Parquet) and the LOG parser.

Two steps:

* :func:`~scantui.io.column_names.resolve_columns` maps whatever the input calls
  its columns (``SRC``, ``src_ip``, ``ip.src``, ...) to canonical names, through
  a case-insensitive alias table, and fails with an :class:`InputError` naming
  what it looked for when a required column is missing.
* :func:`normalize_values` converts the values with polars expressions only
  (:mod:`scantui.io.convert`: dotted or integer IPs, epoch or ISO 8601 times,
  protocol names, flag text, hex TCP options, numbers given as strings, ...)
  and returns a :class:`Normalized`: the canonical LazyFrame plus
  :meth:`Normalized.check`, the validation pass that counts skipped rows and
  raises on the first value that cannot be converted (unless ``opts.skip_bad_rows``).

Rows whose value does not convert are always left out of ``Normalized.frame``;
``check`` decides whether that is an error or a counted ``bad_row`` skip.
IPv6 rows are left out and counted as ``ipv6``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from scantui.errors import InputError
from scantui.io import compressed, schema
from scantui.io.column_names import OPTIONS, REQUIRED, TS_DATE, TS_TIME, looked_for
from scantui.io.convert import (BLANK, by_unique, clean, is_ipv6, mss_of_options, options_hex, present, to_flags, to_ip,
                                to_proto, to_ts, to_uint, wrong_type)
from scantui.io.options import LoadOptions
from scantui.io.stats import FileStats, LoadStats
from scantui.io.text_end import TRUNCATED, TextEnd, check_plain

_ROW = "__row"
_SKIP = "__skip"
_BAD = "__bad"


def _v(canon: str) -> str:
    return f"__v_{canon}"


def _b(canon: str) -> str:
    return f"__b_{canon}"


@dataclass
class Checked:
    """What the validation pass found: rows that make it into the frame, and skips by reason."""

    rows: int
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass
class Normalized:
    """The canonical LazyFrame of one input and the pass that validates it.

    ``frame`` never contains IPv6 rows or rows with values that do not convert.
    Call :meth:`check` (one pass over the data) to count what was left out and
    to raise on the first bad value unless ``opts.skip_bad_rows``.
    ``work`` is the intermediate frame with raw values, converted values and flags;
    :meth:`materialize` collects it once so ``check`` and ``frame`` need no second read.
    """

    work: pl.LazyFrame
    columns: list[tuple[str, str]]  # (input column, canonical name) in the order errors are searched
    extras: list[str]
    path: str | None
    opts: LoadOptions
    row_label: Callable[[int], str]
    what: str = "column"

    @property
    def frame(self) -> pl.LazyFrame:
        keep = pl.col(_SKIP).is_null() & ~pl.col(_BAD)
        out = self.work.filter(keep).select([pl.col(_v(c)).alias(c) for c in (*schema.CANONICAL, *self.extras)])
        return schema.conform(out)

    def drop_last_row(self) -> None:
        """Leave the last row out, counted as :data:`~scantui.io.text_end.TRUNCATED` (a line cut short)."""
        last = self.work.select(pl.col(_ROW).max()).collect().item()
        if last is not None:
            self.work = self.work.with_columns(
                pl.when(pl.col(_ROW) == last).then(pl.lit(TRUNCATED)).otherwise(pl.col(_SKIP)).alias(_SKIP))

    def materialize(self) -> Normalized:
        self.work = self.work.collect().lazy()
        return self

    def check(self) -> Checked:
        counts = (
            self.work.group_by(_SKIP)
            .agg(pl.len().alias("n"), pl.col(_BAD).sum().alias("bad"))
            .collect()
        )
        skipped: Counter[str] = Counter()
        rows = bad = 0
        for reason, n, n_bad in counts.iter_rows():
            if reason is None:
                bad += n_bad
                rows += n - n_bad
            elif not reason.startswith("_"):
                skipped[reason] += n
        if bad:
            if not self.opts.skip_bad_rows:
                raise self.first_error()
            skipped["bad_row"] += bad
        return Checked(rows=rows, skipped=skipped)

    def first_error(self) -> InputError:
        """The InputError for the first row (in input order) with a value that does not convert."""
        cols = [c for c, _ in self.columns]
        flags = [_b(canon) for _, canon in self.columns]
        row = (
            self.work.filter(pl.col(_SKIP).is_null() & pl.col(_BAD))
            .select(_ROW, *cols, *flags)
            .head(1)
            .collect()
            .row(0, named=True)
        )
        where = self.row_label(int(row[_ROW]))
        for (col, canon), flag in zip(self.columns, flags):
            if row[flag]:
                value = row[col]
                if value is None or (isinstance(value, str) and value.strip() in BLANK):
                    return InputError(f"missing value in {self.what} {col.strip()}", path=self.path, where=where)
                return InputError(f"bad value {_quoted(value)} in {self.what} {col.strip()}", path=self.path, where=where)
        return InputError("bad row", path=self.path, where=where)  # not reached: __bad is the OR of the flags


QUOTED_CHARS = 60  # a bad value is quoted up to this many characters: the error stays one readable line


def _quoted(value: object) -> str:
    """*value* quoted for an error, cut to :data:`QUOTED_CHARS` characters ending "…" when longer."""
    text = str(value)
    return repr(text if len(text) <= QUOTED_CHARS else text[: QUOTED_CHARS - 1] + "…")


def _converter(canon: str, raw: pl.Expr, dtype: pl.DataType, opts: LoadOptions) -> pl.Expr:
    if canon in ("src", "dst"):
        return to_ip(raw, dtype, canon)
    if canon == "ts":
        return to_ts(raw, dtype, opts.tz, canon)
    if canon == "proto":
        return to_proto(raw, dtype, canon)
    if canon == "tcp_flags":
        return to_flags(raw, dtype, canon)
    if canon == OPTIONS:
        if dtype != pl.String:
            raise wrong_type(canon, dtype)
        return by_unique(raw, options_hex, pl.String())
    if canon == "asn" and dtype == pl.String:
        return to_uint(clean(raw).str.replace(r"^(?i)AS", ""), dtype, pl.UInt32(), canon)
    target = schema.CANONICAL.get(canon) or schema.EXTRA[canon]
    if target == pl.String:
        return raw.cast(pl.String)
    return to_uint(raw, dtype, target, canon)


def _default_row_label(i: int) -> str:
    return f"row {i + 1}"


def normalize_values(
    lf: pl.LazyFrame,
    mapping: dict[str, str],
    path: str | os.PathLike[str] | None,
    opts: LoadOptions,
    *,
    row_label: Callable[[int], str] = _default_row_label,
    row_col: str | None = None,
    skip_col: str | None = None,
    what: str = "column",
) -> Normalized:
    """Rename and convert ``lf``'s columns per ``mapping`` (from :func:`~scantui.io.column_names.resolve_columns`).

    ``row_label(i)`` turns a 0-based row number into the position for messages
    (``"line {i+2}"`` for a CSV with a header). ``row_col`` names an existing
    row-number column to use instead of counting rows here; ``skip_col`` an
    existing String column with a skip reason per row (null = keep; reasons
    starting with ``_`` are dropped without being counted). Raises InputError
    only for column *types* that cannot be converted; bad *values* are found by
    :meth:`Normalized.check`.
    """
    path_s = os.fspath(path) if path is not None else None
    names = lf.collect_schema()
    mapping = {c: canon for c, canon in mapping.items() if c in names}
    if row_col is None:
        lf = lf.with_row_index(_ROW)
    else:
        lf = lf.with_columns(pl.col(row_col).cast(pl.Int64).alias(_ROW))

    raw_of = {canon: c for c, canon in mapping.items()}
    # Stages as separate with_columns: polars does not share sub-expressions between columns of
    # one with_columns, so cleaning once and testing converted *columns* saves repeated work.
    cleaned = {c: f"__c_{i}" for i, c in enumerate(mapping) if names[c] == pl.String}
    lf = lf.with_columns(clean(pl.col(c)).alias(name) for c, name in cleaned.items())

    def source(col: str) -> pl.Expr:
        return pl.col(cleaned.get(col, col))

    values: dict[str, pl.Expr] = {}
    present_of = {c: present(source(c), names[c]) for c in mapping}
    try:
        for col, canon in mapping.items():
            if canon not in (TS_DATE, TS_TIME):
                values[canon] = _converter(canon, source(col), names[col], opts)
        if TS_DATE in raw_of:
            values["ts"] = _date_time_ts(source(raw_of[TS_DATE]), source(raw_of[TS_TIME]), opts)
    except InputError as e:
        raise InputError(e.why, path=path_s) from None

    bad_flags: dict[str, pl.Expr] = {}
    for col, canon in mapping.items():
        if canon in values:
            bad_flags[canon] = present_of[col] & pl.col(_v(canon)).is_null()
        if canon == OPTIONS:  # option lists written as text ("[('MSS', 1460), ...]") are read for the MSS only
            bad_flags[canon] = bad_flags[canon] & ~source(col).str.contains(r"^[\[(]")
    if TS_DATE in raw_of:
        bad_flags["ts"] = present_of[raw_of[TS_DATE]] & pl.col(_v("ts")).is_null()

    for canon in REQUIRED:  # a required column that is present but empty in a row is bad too
        raw_col = raw_of.get(canon) or (raw_of.get(TS_DATE) if canon == "ts" else None)
        if raw_col is None:
            raise InputError(f"missing column '{canon}' ({looked_for(canon)})", path=path_s)
        bad_flags[canon] = bad_flags[canon] | ~present_of[raw_col]

    all_blank = pl.all_horizontal([~present_of[c] for c in mapping])
    ipv6 = pl.any_horizontal([is_ipv6(source(raw_of[c]), names[raw_of[c]]) for c in ("src", "dst")])
    skip = pl.when(all_blank).then(pl.lit("_blank")).when(ipv6).then(pl.lit("ipv6"))
    if skip_col is not None:
        skip = pl.coalesce(pl.col(skip_col), skip)

    work = lf.with_columns(*[e.alias(_v(canon)) for canon, e in values.items()], skip.alias(_SKIP))
    work = work.with_columns(e.fill_null(True).alias(_b(canon)) for canon, e in bad_flags.items())
    work = work.with_columns(pl.any_horizontal([pl.col(_b(c)) for c in bad_flags]).alias(_BAD))
    work = _derive_mss(work, values, raw_of)
    work = _fill_defaults(work, values, opts)

    extras = [c for c in schema.EXTRA if c in values or (c == "sensor" and opts.sensor is not None)]
    columns = [(c, canon) for c, canon in mapping.items() if canon in bad_flags]
    if TS_DATE in raw_of:
        columns.insert(0, (raw_of[TS_DATE], "ts"))
    return Normalized(work=work, columns=columns, extras=extras, path=path_s, opts=opts, row_label=row_label, what=what)


def _date_time_ts(date: pl.Expr, time: pl.Expr, opts: LoadOptions) -> pl.Expr:
    """``ts`` from a ``date`` column and a ``time`` column (time may be missing in a row)."""
    date, time = date.cast(pl.String), time.cast(pl.String)
    joined = pl.concat_str([clean(date), clean(time)], separator="T")
    return pl.coalesce(to_ts(joined, pl.String(), opts.tz), to_ts(date, pl.String(), opts.tz))


def _derive_mss(work: pl.LazyFrame, values: dict[str, pl.Expr], raw_of: dict[str, str]) -> pl.LazyFrame:
    """``tcp_mss`` from the options column when there is one (an explicit MSS column wins)."""
    if OPTIONS not in values:
        return work
    mss = mss_of_options(pl.col(raw_of[OPTIONS]))
    if "tcp_mss" in values:
        mss = pl.coalesce(pl.col(_v("tcp_mss")), mss)
    values["tcp_mss"] = mss
    return work.with_columns(mss.alias(_v("tcp_mss")))


def _fill_defaults(work: pl.LazyFrame, values: dict[str, pl.Expr], opts: LoadOptions) -> pl.LazyFrame:
    """Canonical columns not in the input: null, or inferred (proto 6), or the configured sensor."""
    fills = []
    for canon, dtype in schema.CANONICAL.items():
        if canon in values:
            continue
        if canon == "proto":
            fills.append(pl.lit(schema.PROTO_NUMBERS["TCP"], dtype=dtype).alias(_v(canon)))
        else:
            fills.append(pl.lit(None, dtype=dtype).alias(_v(canon)))
    if "sensor" not in values and opts.sensor is not None:
        fills.append(pl.lit(opts.sensor, dtype=pl.String).alias(_v("sensor")))
    return work.with_columns(fills) if fills else work


#: Text inputs smaller than this are read into memory once, so validation and use share one read.
MATERIALIZE_BELOW = 64 << 20


def load_text_input(
    path: str, make: Callable[[TextEnd], Normalized], opts: LoadOptions, stats: LoadStats, fmt: str, noun: str
) -> pl.LazyFrame:
    """Validate a text input now (raising on the first bad value unless ``opts.skip_bad_rows``),
    publish its FileStats and return the canonical LazyFrame.

    A last line without a line end is an error, or left out with ``opts.allow_truncated``
    (:mod:`scantui.io.text_end`): *make* gets the :class:`TextEnd` its compressed reader fills in."""
    end = TextEnd(allow_cut=opts.allow_truncated)
    plain = compressed.compression(path) is None
    if plain:
        check_plain(path, end)  # before any row is read: a cut row's values must not be reported as bad
    try:
        normalized = make(end)
        if end.cut:  # plain: the file's last row is that line
            normalized.drop_last_row()
        if compressed.expected_size(path, text=True) < MATERIALIZE_BELOW:
            normalized.materialize()
        checked = normalized.check()
    except pl.exceptions.PolarsError as e:
        raise InputError(f"cannot read {noun}: {str(e).splitlines()[0]}", path=path) from None
    if end.cut and not plain:  # compressed: the line was left out by the reader
        checked.skipped[TRUNCATED] += 1
    stats.publish(FileStats(path=path, format=fmt, rows=checked.rows, skipped=checked.skipped, complete=True))
    return normalized.frame
