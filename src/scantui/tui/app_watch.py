"""Watching labelled groups in the TUI (``scantui PATH --follow``): a notification when one is back.

After each collaborative-scan search of a followed data set, the hits of the candidates
against the labels file (:func:`scantui.workspace.watch.watch_hits`: a labelled group
scanning again, a rejected one in a new shape) are compared with the hits already known
this session. The first search with the labels file open is the baseline (what was there
when the app started is not news); after that each new hit gives one notification
("G01 "title" is back: port 8080, 2024-02-20, 5 sources"), at most once per hit per
session. The TUI neither reads nor writes ``scantui watch``'s state file: that belongs to
the cron job, which reports to whoever reads its mail, and a restarted app starts from a
new baseline, so it never repeats what it said before.
"""

from __future__ import annotations

from typing import Any


class WatchMixin:
    """The ``--follow`` watch of :class:`~scantui.tui.app.ScantuiApp`: :meth:`watch_candidates` after each search."""

    #: The hit ids known this session (None: no baseline yet); replaced, never mutated in place.
    _watch_known: frozenset[str] | None = None
    #: The hits notified this session, in order (the palette's "watch: hits" lists them).
    watch_fired: tuple[Any, ...] = ()

    def watch_candidates(self) -> None:
        """Notify the new hits of the search just finished (only with ``--follow`` and the labels file open)."""
        state = self.state
        if not state.request.follow or state.labels is None or state.collab is None:
            return
        from scantui.workspace.watch import watch_hits

        found = watch_hits(state.labels.store.groups, state.collab.candidates)
        known = self._watch_known
        self._watch_known = (known or frozenset()) | {h.id for h in found}
        if known is None:
            return  # the baseline: what the data held when the app started watching
        fresh = [h for h in found if h.id not in known]
        self.watch_fired = (*self.watch_fired, *fresh)
        for hit in fresh:
            self.notify(hit.notice(), title="watch", severity="warning", timeout=30, markup=False)

    def action_watch_hits(self) -> None:
        """Show the hits notified this session again (one notification listing them)."""
        if not self.watch_fired:
            what = "no labelled group came back this session" if self.state.request.follow else \
                "watching needs --follow (scantui PATH --follow)"
            self.notify(what, title="watch", markup=False)
            return
        self.notify("\n".join(h.notice() for h in self.watch_fired[-20:]), title=f"watch: {len(self.watch_fired)} hit{'s' if len(self.watch_fired) != 1 else ''}",
                    timeout=30, markup=False)
