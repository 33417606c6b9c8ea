"""The ``sources:`` block of a labels file, taken out when its last note goes, put back where it was by the undo.

Removing every source note removes the ``sources:`` key and its items' lines; the comment and blank lines of the
block stay where they were (:func:`scantui.labels.kept_comments.keep_block_comments`). :func:`taken` records what
went (the block's lines, the line above it and its line number) when the file written is exactly the file before
with the block's lines replaced by the lines it kept; :func:`restored` puts them back in the text where those kept
lines still sit below the same line: the caller writes the result only when it reads back as exactly the notes
put back (else the whole-file path adds ``sources:`` at the file's end, as it does for a first note).
"""

from __future__ import annotations

from scantui.labels import document
from scantui.labels.splice import outside_comment

#: The key of :attr:`scantui.labels.store.LabelsStore.lines_above` under which the block is recorded.
KEY = ("sources", "")


def _between(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def taken(before: str, after: str, layout: document.Layout) -> str | None:
    """The record of the ``sources:`` block of *before* that writing *after*
    took out: ``"LINE\\n"``, the line above the block, then the block's lines; None when *after* is not *before*
    with the block's lines replaced by its comment and blank lines."""
    lines = before.splitlines(True)
    if lines.count("sources:\n") != 1 or lines.index("sources:\n") < 1:
        return None
    head = end = lines.index("sources:\n")
    end += 1  # (the block's lines as find_block reads them, comment lines under the key included)
    while end < len(lines) and (lines[end][:1] == " " or lines[end] == "\n" or (not layout.offset and lines[end][:1] in "-#")):
        end += 1
    starts = [k for k in range(head + 1, end) if lines[k].startswith(" " * layout.offset + "- ")]
    if not starts:
        return None
    while end > starts[-1] + 1 and (lines[end - 1] == "\n" or outside_comment(lines[end - 1], layout.offset)):
        end -= 1
    kept = [line for line in lines[head:end] if _between(line)]
    if after.splitlines(True) != lines[:head] + kept + lines[end:]:
        return None
    return f"{head}\n" + lines[head - 1] + "".join(lines[head:end])


def restored(text: str, record: str) -> str | None:
    """*text* with the block of *record* (:func:`taken`) back in place of the comment and blank lines it left, below
    the same line (at the same line number, else where that is the one place); None when not found."""
    number, rest = record.split("\n", 1)
    above, block = rest.splitlines(True)[0], rest.splitlines(True)[1:]
    kept = [line for line in block if _between(line)]
    lines = text.splitlines(True)
    fits = [p for p in range(1, len(lines) + 1) if lines[p - 1] == above and lines[p:p + len(kept)] == kept]
    at = int(number) if int(number) in fits else (fits[0] if len(fits) == 1 else None)
    if at is None:
        return None
    return "".join(lines[:at] + block + lines[at + len(kept):])
