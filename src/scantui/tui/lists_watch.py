"""The known-scanner lists folder, watched: a list imported, replaced or removed while the TUI runs (``scantui lists
import`` in another terminal) shows in the scanners table without searching again.

:func:`check_lists` runs with the labels file's look (every
:data:`~scantui.tui.app_labels.LABELS_POLL` seconds, :meth:`~scantui.tui.app_labels.LabelsMixin.check_labels_file`):
it compares the folder's stamp (:func:`scantui.enrich.lists.lists_stamp`: name, mtime and size of each list)
with the one the scanner list was last checked with and, when it moved, re-reads the lists in a thread worker
and redoes only the list's ``list`` column (:func:`scantui.enrich.lists.with_list_column`); when that column
changed, the list is replaced and ``scanners_version`` bumped (the table, ``list:`` and the detail follow). A scanner list recounted for a time range is
memoized by the workspace with the stamp, so it is computed again with the new lists on its next use.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def check_lists(app: Any) -> None:
    """Look at the lists folder; start :func:`_relist` when it changed since the scanner list was shown."""
    from scantui.enrich.lists import lists_stamp

    scanners = app.state.scanners
    if scanners is None:
        return
    stamp = lists_stamp()
    seen = getattr(app, "_lists_seen", None)
    if seen is None or seen[0] is not scanners:
        # a new scanner list: which lists it read is not known (one may have been imported while it was computed),
        # so with lists stored its column is checked once (redone, shown only when it differs)
        seen = (scanners, () if not stamp else None)
    app._lists_seen = seen
    if seen[1] == stamp or any(w.group == "lists-reread" and not w.is_finished for w in app.workers):
        return
    app._lists_seen = (scanners, stamp)
    app.run_worker(lambda: _relist(app, scanners, stamp), thread=True, group="lists-reread", exit_on_error=False)


def _relist(app: Any, scanners: Any, stamp: Any) -> None:
    """The scanner list with its ``list`` column from the lists now stored (a thread worker); a broken list file
    is a notification and the column stays as it was."""
    from scantui.enrich.lists import with_list_column
    from scantui.io import read_panics
    from scantui.tui.state import error_text

    try:
        frame = with_list_column(scanners.frame.drop("list", strict=False))
        if "list" in scanners.frame.columns:
            frame = frame.select(scanners.frame.columns)  # the column where it was
    except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; the table keeps the lists it had
        app.call_from_thread(app.notify, error_text(exc), title="known-scanner lists", severity="error", markup=False)
        return
    app.call_from_thread(_show, app, scanners, dataclasses.replace(scanners, frame=frame), stamp)


def _show(app: Any, old: Any, new: Any, stamp: Any) -> None:
    if app.state.scanners is not old:  # other data, or a search again, meanwhile: computed with the new lists anyway
        return
    if "list" in old.frame.columns and new.frame["list"].equals(old.frame["list"]):
        return  # nothing moved for these sources (a list of others, or the first look at a new scanner list)
    app.state.scanners = new
    app._lists_seen = (new, stamp)
    app.scanners_version += 1
