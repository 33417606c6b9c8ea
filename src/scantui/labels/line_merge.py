"""A three-way line merge: apply the lines an edit changed to a text whose untouched lines are kept.

:func:`merge_lines` is how a rewrite of the labels file keeps the analyst's hand
formatting (:func:`scantui.labels.document.rewrite`): the original text, the
re-emission of it as loaded and the re-emission after the edit are merged, so
only the lines the edit reached change. Plain lists of lines, no YAML.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


def merge_lines(original: list[str], base: list[str], edited: list[str]) -> list[str]:
    """Three-way line merge: *edited* changes applied to *original*, where *base* ~ *original* in meaning.

    Regions the edit did not touch keep the original lines; where both the
    edit and the original's formatting differ from *base*, the edit wins.
    """
    if original == base:  # what merge_by_diff gives then (every region and sync line is the edit's), without diffing
        return list(edited)
    return merge_by_diff(original, base, edited)


def merge_by_diff(original: list[str], base: list[str], edited: list[str]) -> list[str]:
    """:func:`merge_lines` by the line diff always (its shortcut's reference in the tests)."""
    to_orig = _matches(base, original)
    to_edit = _matches(base, edited)
    out: list[str] = []
    i = io_ = ie = 0
    while True:
        sync = next((j for j in range(i, len(base)) if j in to_orig and j in to_edit and to_orig[j] >= io_ and to_edit[j] >= ie), None)
        if sync == i and to_orig[i] == io_ and to_edit[i] == ie:
            out.append(original[io_])
            i, io_, ie = i + 1, io_ + 1, ie + 1
            continue
        end_b = len(base) if sync is None else sync
        end_o = len(original) if sync is None else to_orig[sync]
        end_e = len(edited) if sync is None else to_edit[sync]
        b, o, e = base[i:end_b], original[io_:end_o], edited[ie:end_e]
        if e == b:
            out.extend(o)
        elif o == b:
            out.extend(e)
        else:
            region = _Region(i, end_b, io_, end_o, ie, end_e)
            out.extend(_interleave(original, edited, region, to_orig, to_edit) or e)
        if sync is None:
            return out
        i, io_, ie = end_b, end_o, end_e


@dataclass
class _Region:
    i: int
    j: int
    io: int
    jo: int
    ie: int
    je: int


def _interleave(original: list[str], edited: list[str], r: _Region, to_orig: dict[int, int], to_edit: dict[int, int]) -> list[str] | None:
    """A region both sides changed, cut into runs only one side changed; ``None`` when it cannot be cut.

    E.g. an edited line next to a hand-wrapped list: the edited line comes
    from *edited*, the list keeps its original wrapping.
    """
    out: list[str] = []
    k, po, pe = r.i, r.io, r.ie
    while k < r.j:
        if to_orig.get(k) == po:  # a run the original leaves as in base: take the edit's version
            m = _run_end(k, r.j, po, to_orig)
            end = r.je if m == r.j else to_edit.get(m)
            if end is None or end < pe:
                return None
            out.extend(edited[pe:end])
            po, pe, k = po + m - k, end, m
        elif to_edit.get(k) == pe:  # a run the edit leaves as in base: keep the original's lines
            m = _run_end(k, r.j, pe, to_edit)
            end = r.jo if m == r.j else to_orig.get(m)
            if end is None or end < po:
                return None
            out.extend(original[po:end])
            po, pe, k = end, pe + m - k, m
        else:
            return None
    if po < r.jo and pe < r.je:
        return None
    return out + original[po:r.jo] + edited[pe:r.je]


def _run_end(k: int, stop: int, start: int, pairs: dict[int, int]) -> int:
    m = k
    while m < stop and pairs.get(m) == start + (m - k):
        m += 1
    return m


def _matches(a: list[str], b: list[str]) -> dict[int, int]:
    pairs: dict[int, int] = {}
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            pairs[block.a + k] = block.b + k
    return pairs
