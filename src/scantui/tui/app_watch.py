"""Watching labelled groups in the TUI (``scantui PATH --follow``): a notification when one is back.

After each collaborative-scan search of a followed data set, the hits of the candidates
against the labels file (:func:`scantui.workspace.watch.watch_hits`: a labelled group
scanning again, a rejected one in a new shape) are compared with the hits already known
this session. The first search with the labels file open is the baseline (what was there
when the app started is not news); after that each new hit of a scan that was not in the data
before the new files gives one notification
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
    #: The candidate scans (port, day, sources) of the last search watched, and the data state it searched.
    _watch_scans: frozenset[tuple] = frozenset()
    _watch_state: Any = None
    #: The hits notified this session, in order (the palette's "labels: watch hits" lists them).
    watch_fired: tuple[Any, ...] = ()

    def watch_candidates(self) -> None:
        """Notify the new hits of the search just finished (only with ``--follow`` and the labels file open).

        A hit is news when its id is not known yet and its scan was not in the data before the new files:
        a group labelled meanwhile does not make its old scans "back", nor does a search run again with
        other options on the same data (both only join the known hits, silently)."""
        state = self.state
        if not state.request.follow or state.labels is None or state.collab is None:
            return
        from scantui.workspace.watch import watch_hits

        found = watch_hits(state.labels.store.groups, state.collab.candidates)
        scans = frozenset((c.port, c.day, c.sources) for c in state.collab.candidates)
        known, before, new_data = self._watch_known, self._watch_scans, state is not self._watch_state
        self._watch_known = (known or frozenset()) | {h.id for h in found}
        self._watch_scans, self._watch_state = scans, state
        if known is None or not new_data:
            return  # the baseline (what the data held when the app started watching), or the same data again
        fresh = [h for h in found if h.id not in known and _scan_of(h) not in before]
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


def _scan_of(hit: Any) -> tuple:
    """(port, day, sources as integers) of a hit's scan: what :meth:`WatchMixin.watch_candidates` compares."""
    import ipaddress

    return hit.scan.port, hit.scan.day, tuple(int(ipaddress.IPv4Address(ip)) for ip in hit.scan.sources)
