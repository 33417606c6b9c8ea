"""Watching labelled groups in the TUI (``scantui PATH --follow``): a notification when one is back.

After each collaborative-scan search of a followed data set, the hits of the candidates
against the labels file (:func:`scantui.workspace.watch.watch_hits`: a labelled group
scanning again, a rejected one in a new shape; matched in a thread worker, :mod:`scantui.tui.offthread`)
are compared with the hits already known this session. The first search with the labels file open is the
baseline (what was there when the app started is not news); after that each new hit of a scan that was not in the data
before the new files gives one notification
("G01 "title" is back: port 8080, 2024-02-20, 5 sources"), at most once per hit per
session. The TUI neither reads nor writes ``scantui watch``'s state file: that belongs to
the cron job, which reports to whoever reads its mail, and a restarted app starts from a
new baseline, so it never repeats what it said before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from scantui.tui.offthread import Cancelled, LatestMixin, worker_cancelled

#: The kind of the watch's off-thread requests (:mod:`scantui.tui.offthread`).
WATCH_KIND = "watch"


class WatchMixin(LatestMixin):
    """The ``--follow`` watch of :class:`~scantui.tui.app.ScantuiApp`: :meth:`watch_candidates` after each search.

    Matching the candidates against the labelled groups (groups x candidates) runs in a thread worker; the
    comparison with what is known and the notifications run on the UI thread, one search after the other in
    the order they finished. A search finished while the previous one's matching still runs joins it: the
    newer worker (the older one is cancelled) matches both, so no search is skipped and none is applied twice."""

    #: The hit ids known this session (None: no baseline yet); replaced, never mutated in place.
    _watch_known: frozenset[str] | None = None
    #: The candidate scans (port, day, sources) of the last search watched, and the data state it searched.
    _watch_scans: frozenset[tuple] = frozenset()
    _watch_state: Any = None
    #: The searches waiting for their matching: (data state, labelled groups, candidates), oldest first.
    _watch_pending: tuple[tuple[Any, Sequence[Any], Sequence[Any]], ...] = ()
    #: The hits notified this session, in order (the palette's "labels: watch hits" lists them).
    watch_fired: tuple[Any, ...] = ()

    def watch_candidates(self) -> None:
        """Match the search just finished against the labels off the UI thread (only with ``--follow`` and the
        labels file open); :meth:`_watch_matched` notifies its new hits."""
        state = self.state
        if not state.request.follow or state.labels is None or state.collab is None:
            return
        self._watch_pending = pending = (*self._watch_pending,
                                         (state, tuple(state.labels.store.groups), state.collab.candidates))
        self.compute_latest(WATCH_KIND, lambda: [match_search(*search, worker_cancelled) for search in pending],
                            self._watch_matched, title="watch", failed=self._watch_failed)

    def _watch_failed(self) -> None:
        self._watch_pending = ()  # (shown as a notification; the next search is matched on its own)

    def _watch_matched(self, searches: list[tuple[Any, list[Any], frozenset[tuple]]]) -> None:
        """Fold the matched searches in, oldest first: a hit is news when its id is not known yet and its scan
        was not in the data before the new files: a group labelled meanwhile does not make its old scans
        "back", nor does a search run again with other options on the same data (both only join the known
        hits, silently)."""
        self._watch_pending = ()
        for state, found, scans in searches:
            known, before, new_data = self._watch_known, self._watch_scans, state is not self._watch_state
            self._watch_known = (known or frozenset()) | {h.id for h in found}
            self._watch_scans, self._watch_state = scans, state
            if known is None or not new_data:
                continue  # the baseline (what the data held when the app started watching), or the same data again
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


def match_search(state: Any, groups: Sequence[Any], candidates: Sequence[Any],
                 cancelled: Callable[[], bool] = lambda: False) -> tuple[Any, list[Any], frozenset[tuple]]:
    """(*state*, the hits of *candidates* against the labelled *groups*, the candidates' scans as (port, day,
    sources)): the part of the watch that runs in the worker (it reads only what it is handed). The matching
    looks at *cancelled()* every few hundred scans (a quit does not wait for the rest)."""
    from scantui.labels.watch import hits
    from scantui.workspace.watch import seen_scans

    def between() -> None:
        if cancelled():
            raise Cancelled

    found = hits(groups, seen_scans(candidates), between=between)
    return state, found, frozenset((c.port, c.day, c.sources) for c in candidates)


def _scan_of(hit: Any) -> tuple:
    """(port, day, sources as integers) of a hit's scan: what :meth:`WatchMixin._watch_matched` compares."""
    import ipaddress

    return hit.scan.port, hit.scan.day, tuple(int(ipaddress.IPv4Address(ip)) for ip in hit.scan.sources)
