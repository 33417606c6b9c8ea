"""The rows of the candidates screen's two lists: review cells, columns and the frames built from results.

:func:`group_frame` and :func:`candidate_frame` turn the suggested groups and
candidate scans (:mod:`scantui.analysis.collab_types`) into one polars frame each
(cells as ``scantui groups`` and ``scantui collab`` print them). A row's review
cell (:func:`review_cell`) is a struct of the review rank
(:attr:`scantui.labels.match.Review.rank`: new rows first, rejected last), the
text shown and the state's word for the filter; the list sorts by it (rank first).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from scantui.labels.match import Review
from scantui.present import asns_cell, cover_cell, days_cell, list_cell, reasons_cell, sensors_cell, split_cell
from scantui.safetext import safe_line
from scantui.tui.columns import Column, float_text, int_text, other_keys, plain_int_text

if TYPE_CHECKING:
    import polars as pl

    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup

Reviewer = Callable[[Any], "tuple[str, list[dict[str, Any]]]"]
#: A record -> its ``notes`` cell (:func:`scantui.workspace.member_notes.notes_cell`), None: no member noted.
NotesOf = Callable[[Any], "str | None"]

#: Ranks below this one are still to review (new, same IPs); labelled and rejected rows are reviewed.
REVIEWED = Review.LABELLED.rank


def review_cell(state: str, matches: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``{"rank", "text", "word", "labels"}`` of a row's review: ``new``, ``same IPs as G01``, ``labelled G01``,
    ``unsure G02`` or ``rejected R01`` (the text; ``word`` its state word for the filter: new, same, labelled, unsure,
    rejected; ``labels`` the ids of the labelled groups it matches, for ``label:``)."""
    from scantui.analysis.query import review_word

    review = Review(state)
    word = review_word(state, matches)
    ids = [m["id"] for m in matches]
    if word == "new":
        return {"rank": Review.NEW.rank, "text": "new", "word": "new", "labels": ids}
    best = matches[0]
    if word == "same":
        return {"rank": review.rank, "text": f"same IPs as {best['id']}", "word": "same", "labels": ids}
    return {"rank": review.rank, "text": f"{word} {best['id']}", "word": word, "labels": ids}


def review_text(value: Any) -> str:
    return safe_line(value["text"])  # ids come from the labels file


def review_word(cell: Any) -> str:
    """The state word of a ``review`` cell: ``new``, ``same``, ``labelled``, ``unsure`` or ``rejected``."""
    return cell["word"]


def review_ranks(frame: pl.DataFrame) -> pl.Series:
    """The review rank of each row of a list (an empty series for a frame without review cells: a table's
    placeholder before its first rows)."""
    import polars as pl

    if frame.schema.get("review") != _review_dtype():
        return pl.Series("rank", [], dtype=pl.Int8)
    return frame["review"].struct.field("rank")


def to_review(frame: pl.DataFrame) -> pl.Series:
    """Per row of a list, whether it is still to review (new, or same IPs with its scans not recorded)."""
    return frame["review"].struct.field("rank") < REVIEWED


def month_day(value: Any) -> str:
    return f"{value:%m-%d}"


def _right(key: str, header: str, width: int, fmt: Callable[[Any], str]) -> Column:
    return Column(key, header, width, "right", fmt)


_REVIEW = Column("review", "review", 16, fmt=review_text)
GROUP_COLUMNS: tuple[Column, ...] = (
    Column("group", "group", 5),
    _REVIEW,
    _right("scans", "scans", 5, plain_int_text),
    _right("n_members", "IPs", 5, int_text),
    Column("ports", "ports", 14),
    Column("days", "days", 16),
    Column("reasons", "reasons", 14),
    Column("timing", "timing", 10),
    Column("split", "split", 12),
    Column("asns", "AS", 16),
    _right("score", "score", 5, float_text),
)
CANDIDATE_COLUMNS: tuple[Column, ...] = (
    _right("rank", "#", 3, plain_int_text),
    _REVIEW,
    _right("port", "port", 5, plain_int_text),
    Column("day", "day", 5, fmt=month_day),
    Column("key", "key", 16),
    _right("n_sources", "n", 4, plain_int_text),
    Column("cover", "cover", 9),
    Column("timing", "timing", 10),
    _right("score", "score", 5, float_text),
    Column("asn", "AS", 10),
    Column("also_keys", "also as", 16),
)
#: Data with several sensors: the sensor whose space a candidate was found on (``all``: the whole telescope).
SENSOR_COLUMN = Column("sensor", "found on", 10)


def with_sensor_column(columns: Sequence[Column], frame: pl.DataFrame, after: str = "key") -> tuple[Column, ...]:
    """*columns* with :data:`SENSOR_COLUMN` after *after* when some row of *frame* has a ``sensor`` cell (several
    sensors; one sensor's list is as before)."""
    if "sensor" not in frame.columns or frame.height == 0 or frame["sensor"].null_count() == frame.height:
        return tuple(columns)
    keys = [c.key for c in columns]
    at = keys.index(after) + 1 if after in keys else len(keys)
    return (*columns[:at], SENSOR_COLUMN, *columns[at:])


def _review_dtype() -> pl.DataType:
    import polars as pl

    return pl.Struct({"rank": pl.Int8, "text": pl.String, "word": pl.String, "labels": pl.List(pl.String)})


def group_frame(groups: Sequence[SuggestedGroup], review: Reviewer, notes: NotesOf | None = None) -> pl.DataFrame:
    """One row per suggested group (``idx`` points back into *groups*), cells as ``scantui groups`` prints them;
    ``notes`` the members' source notes (*notes* of the group)."""
    import polars as pl

    rows = []
    for idx, g in enumerate(groups):
        rows.append({
            "idx": idx, "group": g.group, "review": review_cell(*review(g)), "scans": g.n_scans,
            "n_members": g.n_members, "ports": list_cell(g.ports, 6),
            "days": days_cell(g.days) if g.days else "", "reasons": reasons_cell(g.reasons),
            "timing": str(g.timing) if g.timing is not None else None, "split": split_cell(g.split, g.cover_multiple or 1),
            "asns": asns_cell(g.asns), "score": float(g.score), "notes": notes(g) if notes is not None else None,
        })
    schema = {"idx": pl.Int64, "group": pl.String, "review": _review_dtype(), "scans": pl.Int64, "n_members": pl.Int64,
              "ports": pl.String, "days": pl.String, "reasons": pl.String, "timing": pl.String, "split": pl.String,
              "asns": pl.String, "score": pl.Float64, "notes": pl.String}
    return _rows_frame(rows, schema)


def candidate_frame(candidates: Sequence[CandidateScan], review: Reviewer, notes: NotesOf | None = None) -> pl.DataFrame:
    """One row per candidate scan, ranked as found (by score); ``idx`` points back into *candidates*; ``notes``
    the sources' notes (*notes* of the scan); ``sensor`` where it was found (several sensors only, else null)."""
    import polars as pl

    rows = []
    for idx, c in enumerate(candidates):
        asn = f"AS{c.asn}" if c.asn is not None else None
        rows.append({
            "idx": idx, "rank": idx + 1, "review": review_cell(*review(c)), "port": c.port,
            "day": c.day, "key": c.key.text, "n_sources": c.n_sources,
            "cover": cover_cell(c.cover_multiple, c.union, c.telescope_size),
            "timing": str(c.timing), "score": float(c.score), "asn": asn,
            "also_keys": other_keys([k.text for k in c.also_keys], asn, c.key.text),
            "notes": notes(c) if notes is not None else None,
            "sensor": sensors_cell(c)[0] if c.sensor_cover else None,
        })
    schema = {"idx": pl.Int64, "rank": pl.Int64, "review": _review_dtype(), "port": pl.Int64, "day": pl.Date,
              "key": pl.String, "n_sources": pl.Int64, "cover": pl.String, "timing": pl.String, "score": pl.Float64,
              "asn": pl.String, "also_keys": pl.String, "notes": pl.String, "sensor": pl.String}
    return _rows_frame(rows, schema)


def _rows_frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
    """*rows* as a frame of *schema*, built a column at a time (the review cells' ``labels`` lists flat: polars
    makes a Series per row of a list of dicts, most of a big list's build)."""
    import polars as pl

    columns = []
    for name, dtype in schema.items():
        values = [row[name] for row in rows]
        columns.append(_review_column(values) if name == "review" else pl.Series(name, values, dtype=dtype))
    return pl.DataFrame(columns)


def _review_column(cells: list[dict[str, Any]]) -> pl.Series:
    import polars as pl

    from scantui.analysis.query_records import list_column

    parts = [pl.Series("rank", [v["rank"] for v in cells], dtype=pl.Int8),
             pl.Series("text", [v["text"] for v in cells], dtype=pl.String),
             pl.Series("word", [v["word"] for v in cells], dtype=pl.String),
             list_column("labels", [v["labels"] for v in cells], pl.List(pl.String))]
    return pl.DataFrame(parts).select(pl.struct(*(p.name for p in parts)).alias("review")).to_series()


def relabelled(frame: pl.DataFrame, records: Sequence[Any], review: Reviewer, notes: NotesOf | None = None) -> pl.DataFrame:
    """*frame* (:func:`group_frame` or :func:`candidate_frame` of *records*) with its ``review`` and ``notes`` cells
    built anew: what a labels change alters (the other cells are the records' own; rebuilding them is most of a
    list's build)."""
    import polars as pl

    return frame.with_columns(_review_column([review_cell(*review(r)) for r in records]),
                              pl.Series("notes", [notes(r) for r in records] if notes is not None else [None] * len(records),
                                        dtype=pl.String))


def review_counts(frame: pl.DataFrame) -> tuple[int, int, int]:
    """(rows, new rows, rows sharing IPs with a labelled group but not recorded) of a list."""
    if frame.height == 0:
        return 0, 0, 0
    rank = review_ranks(frame)
    return frame.height, int((rank == Review.NEW.rank).sum()), int((rank == Review.SAME_IPS.rank).sum())

