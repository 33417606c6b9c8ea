"""The rows of the candidates screen's two lists: review cells, columns and the frames built from records.

:func:`group_frame` and :func:`candidate_frame` turn the suggested groups and
candidate scans into one polars frame each (cells as ``scantui groups`` and
``scantui collab`` print them); :func:`review_cell` writes a row's review state
with a sort digit in front (new rows first, rejected last) that
:func:`review_text` leaves off on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from scantui.present import cover_cell, days_cell, list_cell, reasons_cell, split_cell
from scantui.safetext import safe_line
from scantui.tui.columns import Column, float_text, int_text, other_keys, plain_int_text

if TYPE_CHECKING:
    import polars as pl

Review = Callable[[dict[str, Any]], "tuple[str, list[dict[str, Any]]]"]

#: Sort prefix of the ``review`` cell: new rows first, then those sharing IPs with a labelled group
#: (their scans not recorded), rejected last. Ranks below REVIEWED are still to review.
REVIEW_RANK = {"new": 0, "same_ips": 1, "labelled": 2, "rejected": 3}
REVIEWED = REVIEW_RANK["labelled"]
TO_REVIEW = [str(rank) for rank in range(REVIEWED)]
_VERDICT_WORD = {"collaborative": "labelled", "not_collaborative": "rejected", "unsure": "unsure"}


def review_cell(state: str, matches: Sequence[dict[str, Any]]) -> str:
    """``0 new``, ``1 same IPs as G01``, ``2 labelled G01``, ``2 unsure G02`` or ``3 rejected R01``:
    sorts in review order; the digit is not shown (:func:`review_text`)."""
    if not matches or state == "new":
        return f"{REVIEW_RANK['new']} new"
    best = matches[0]
    if state == "same_ips":
        return f"{REVIEW_RANK['same_ips']} same IPs as {best['id']}"
    return f"{REVIEW_RANK.get(state, REVIEWED)} {_VERDICT_WORD.get(best['verdict'], best['verdict'])} {best['id']}"


def review_text(value: Any) -> str:
    return safe_line(str(value)[2:])  # ids come from the labels file


def review_word(cell: Any) -> str:
    """The state word of a ``review`` cell: ``new``, ``same``, ``labelled``, ``unsure`` or ``rejected``."""
    return str(cell)[2:].split(" ", 1)[0]


def month_day(value: Any) -> str:
    return str(value)[5:10]


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


def group_frame(groups: Sequence[dict[str, Any]], review: Review) -> pl.DataFrame:
    """One row per suggested group (``idx`` points back into *groups*), cells as ``scantui groups`` prints them."""
    import polars as pl

    rows = []
    for idx, g in enumerate(groups):
        rows.append({
            "idx": idx, "group": g["group"], "review": review_cell(*review(g)), "scans": g["scans"],
            "n_members": g["n_members"], "ports": list_cell(g["ports"], 6),
            "days": days_cell(g["days"]) if g["days"] else "", "reasons": reasons_cell(g["reasons"]),
            "timing": g.get("timing"), "split": split_cell(g["split"], g.get("cover_multiple") or 1),
            "asns": ",".join(str(a) for a in g.get("asns") or []), "score": float(g.get("score") or 0.0),
        })
    schema = {"idx": pl.Int64, "group": pl.String, "review": pl.String, "scans": pl.Int64, "n_members": pl.Int64,
              "ports": pl.String, "days": pl.String, "reasons": pl.String, "timing": pl.String, "split": pl.String,
              "asns": pl.String, "score": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def candidate_frame(candidates: Sequence[dict[str, Any]], review: Review) -> pl.DataFrame:
    """One row per candidate scan, ranked as found (by score); ``idx`` points back into *candidates*."""
    import polars as pl

    rows = []
    for idx, c in enumerate(candidates):
        rows.append({
            "idx": idx, "rank": idx + 1, "review": review_cell(*review(c)), "port": c["port"],
            "day": str(c["day"]), "key": c["key"], "n_sources": len(c["sources"]),
            "cover": cover_cell(c["cover_multiple"], c["union"], c.get("telescope_size") or 0),
            "timing": c.get("timing"), "score": float(c.get("score") or 0.0), "asn": c.get("asn"),
            "also_keys": other_keys(c.get("also_keys"), c.get("asn"), c["key"]),
        })
    schema = {"idx": pl.Int64, "rank": pl.Int64, "review": pl.String, "port": pl.Int64, "day": pl.String, "key": pl.String,
              "n_sources": pl.Int64, "cover": pl.String, "timing": pl.String, "score": pl.Float64, "asn": pl.String,
              "also_keys": pl.String}
    return pl.DataFrame(rows, schema=schema)


def review_counts(frame: pl.DataFrame) -> tuple[int, int, int]:
    """(rows, new rows, rows sharing IPs with a labelled group but not recorded) of a list."""
    if frame.height == 0:
        return 0, 0, 0
    first = frame["review"].str.slice(0, 1)
    return frame.height, int((first == "0").sum()), int((first == str(REVIEW_RANK["same_ips"])).sum())

