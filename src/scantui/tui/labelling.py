"""Labelling from any screen: one key creates a group from a candidate or suggestion, or adds to one.

``record`` is a candidate scan (:class:`~scantui.analysis.collab_types.CandidateScan`)
or a suggested group (:class:`~scantui.analysis.collab_types.SuggestedGroup`), told
apart by type. The scans saved as evidence are the candidate itself, or every scan
of the suggestion (it holds them).

* :func:`label_dialog` (key ``l``) asks, in :class:`~scantui.tui.screens.label_as.LabelAsScreen`,
  for a new group (id and title prefilled) or a labelled group to add to;
* :func:`set_verdict` (keys ``a`` accept, ``x`` reject, ``n`` unsure) gives the
  verdict to the labelled group the IPs belong to, or creates one with it
  (a rejection becomes ``R01``...: remembered, the record does not come back as new);
* :func:`record_evidence` (key ``e``) adds the scans of a record whose IPs a labelled
  group holds ("same IPs as G01") to that group, as evidence: then it is reviewed.

With rows marked (``space``), :func:`label_records_dialog` / :func:`label_sources_dialog`
label all of them as one group, and :func:`set_verdicts` gives each its verdict: one
save, one undo (:meth:`~scantui.labels.session.LabelSession.batch`).

Every change goes through :meth:`scantui.tui.app.ScantuiApp.change_labels`
(saved at once in a worker, merged with other analysts' edits, undoable with
``u``); the App posts ``LabelsChanged`` and the screens refresh their review state.
No Textual here but the modal's import, so the record helpers are plain functions.
"""

from __future__ import annotations

from typing import Any

from scantui.analysis.collab_types import CandidateScan, SuggestedGroup, prefix24_text

VERDICT_WORDS = {"collaborative": "accepted", "not_collaborative": "rejected", "unsure": "unsure"}
#: What the labelling keys act on: a candidate scan or a suggested group.
Record = CandidateScan | SuggestedGroup


def record_ips(record: Record) -> list[str]:
    """The IPs of a candidate (its sources) or a suggestion (its members), as dotted text (the labels file's form)."""
    return list(record.member_ips if isinstance(record, SuggestedGroup) else record.source_ips)


def is_suggestion(record: Record) -> bool:
    return isinstance(record, SuggestedGroup)


def record_name(record: Record) -> str:
    """``S03`` for a suggestion, ``port 8080 2024-02-06 198.18.5.0/24`` for a candidate scan."""
    if isinstance(record, SuggestedGroup):
        return record.group or "suggestion"
    return f"port {record.port} {record.day.isoformat()} {record.key.text}"


def default_title(record: Record) -> str:
    """A title to start from: the AS(es), and the /24 or AS key of a candidate."""
    if isinstance(record, SuggestedGroup):
        if record.asns:
            return " ".join(f"AS{a}" for a in record.asns[:3])
        return prefix24_text(record.members[0] >> 8) if record.members else ""
    key = record.key.text
    asn = f"AS{record.asn}" if record.asn else None
    return f"{asn} {key}" if asn and asn != key else key


def record_candidates(record: Record) -> tuple[CandidateScan, ...]:
    """The candidate scans of a record: the candidate itself, or the suggestion's scans (in time order)."""
    return record.scans if isinstance(record, SuggestedGroup) else (record,)


def record_scans(record: Record) -> list[Any]:
    """The evidence: :class:`~scantui.labels.session.ScanRef` of the candidate, or of each scan of the suggestion."""
    from scantui.labels.session import ScanRef

    return [ScanRef(s.port, s.day, s.source_ips, str(s.key.kind), s.key.text) for s in record_candidates(record)]


def ranked_groups(groups: list[Any], ips: list[str]) -> list[tuple[Any, float]]:
    """(group, share of *ips* it holds) for every labelled group: the best matches first, then by id."""
    from scantui.labels.member_index import MemberIndex

    wanted = list(dict.fromkeys(ips))
    index = MemberIndex.of(groups)  # the groups holding an IP by lookups; the others hold none: then by id
    shares = index.shares(index.parse(wanted))
    held = sorted(((index.groups[pos], share) for pos, share in sorted(shares.items())), key=lambda gs: (-gs[1], gs[0].id))
    return held + [(index.groups[pos], 0.0) for pos in index.by_id if pos not in shares]


def _ips_to_label(app: Any, record: Record) -> list[str] | None:
    """The record's IPs, or None (and a notification) when the labels file is not open or there are none."""
    if app.state.labels is None:
        app.notify("the labels file is not open (see the earlier error)", severity="error", markup=False)
        return None
    ips = record_ips(record)
    if not ips:
        app.notify(f"{record_name(record)}: no IPs to label", markup=False)
        return None
    return ips


def label_dialog(app: Any, record: Record) -> None:
    """Ask: a new group (id, title prefilled) or add to an existing one; then save (see :func:`label_ips_dialog`)."""
    ips = _ips_to_label(app, record)
    if ips is None:
        return
    scans = record_scans(record)
    heading = f"label {record_name(record)}: {len(ips)} IPs, {len(scans)} scan{'s' if len(scans) != 1 else ''}"
    label_ips_dialog(app, ips, scans, heading, default_title(record))


def label_records_dialog(app: Any, records: list[Record], then: Any = None) -> None:
    """The marked rows of the candidates screen: every IP and scan of *records* into one group (one save)."""
    if app.state.labels is None:
        _ips_to_label(app, records[0])
        return
    ips = list(dict.fromkeys(ip for r in records for ip in record_ips(r)))
    scans = [s for r in records for s in record_scans(r)]
    if not ips:
        app.notify("no IPs to label", markup=False)
        return
    heading = f"label {len(records)} marked rows: {len(ips)} IPs, {len(scans)} scans"
    label_ips_dialog(app, ips, scans, heading, default_title(records[0]), then=then)


def label_sources_dialog(app: Any, ips: list[str], then: Any = None) -> None:
    """The scanners list: label the marked sources (a new group of them, or add them to one)."""
    if app.state.labels is None:
        app.notify("the labels file is not open (see the earlier error)", severity="error", markup=False)
        return
    ips = list(dict.fromkeys(ips))
    if not ips:
        app.notify("no sources to label", markup=False)
        return
    noun = "source" if len(ips) == 1 else "sources"
    label_ips_dialog(app, ips, [], f"label {len(ips)} {noun}", "", then=then)


def label_ips_dialog(app: Any, ips: list[str], scans: list[Any], heading: str, title: str, *, then: Any = None) -> None:
    """Ask: a new group (id, title prefilled) or add to an existing one; then save (*then* after the save).

    The prefilled id, when another analyst took it meanwhile, is re-numbered at
    save (and the notification says so); an id the analyst typed that was taken
    meanwhile opens the dialog again with the id and title as typed and the reason.
    """
    from scantui.labels.session import IdTaken
    from scantui.tui.screens.label_as import LabelAsScreen, LabelChoice

    def ask(group_id: str | None = None, typed: str | None = None, error: str | None = None) -> None:
        session = app.state.labels
        app.push_screen(LabelAsScreen(heading, session.next_id(), title if typed is None else typed,
                                      ranked_groups(session.store.groups, ips), set(session.store.ids),
                                      group_id=group_id, error=error), chosen)

    def chosen(choice: LabelChoice | None) -> None:
        if choice is None:
            return
        if not choice.new:
            app.change_labels(lambda s: s.add_to(choice.group_id, ips, scans=scans), then=then)
            return

        def taken(exc: Exception) -> bool:
            if not isinstance(exc, IdTaken):
                return False
            ask(choice.group_id, choice.title or "", exc.why)  # the input kept
            return True

        app.change_labels(lambda s: s.create(ips, scans=scans, group_id=choice.group_id, suggested=choice.suggested,
                                             title=choice.title), failed=taken, then=then)

    ask()


def record_evidence(app: Any, record: Record, verdict: str | None = None) -> bool:
    """Add the record's scans that its matching labelled group does not record yet to that group
    (key ``e``; ``a``/``x``/``n`` on such a record too, with the verdict). False when no group matches."""
    from scantui.labels.match import ScanIndex

    ips = _ips_to_label(app, record)
    if ips is None:
        return True
    refs = record_scans(record)
    keys = app.state.record_scans(record)
    _status, matches = app.state.review(ips, keys)
    if not matches:
        return False
    gid = matches[0]["id"]

    def change(session: Any) -> Any:
        # again, in the worker: earlier changes are saved now
        found = ScanIndex(session.store.groups).review(ips, keys)[1]
        target = found[0]["id"] if found else gid
        index = ScanIndex([session.store.get(target)])
        todo = [ref for ref, key in zip(refs, keys) if not index.recorded_in(key)]
        if not todo and (verdict is None or session.store.get(target).verdict == verdict):
            return None
        return session.record_scans(target, todo, verdict=verdict)

    app.change_labels(change, nothing=f"{record_name(record)}: its scans are recorded in {gid} already")
    return True


def set_verdict(app: Any, record: Record, verdict: str) -> None:
    """Accept (``collaborative``), reject (``not_collaborative``) or ``unsure``: the matching labelled
    group gets the verdict and records the record's scans; with none, a new group is created with it
    (a rejection is remembered)."""
    ips = _ips_to_label(app, record)
    if ips is None:
        return
    state, matches = app.state.review(ips, app.state.record_scans(record))
    if state in ("labelled", "rejected") and matches[0]["verdict"] == verdict:
        app.notify(f"{record_name(record)} is already {VERDICT_WORDS.get(verdict, verdict)} ({matches[0]['id']})",
                   title="labels unchanged", markup=False)
        return
    if matches:
        record_evidence(app, record, verdict)
        return
    scans, title = record_scans(record), default_title(record) or None

    def change(session: Any) -> Any:
        from scantui.labels.match import label_matches

        found = label_matches(session.store.groups, ips)  # again, in the worker: earlier changes are saved now
        if found:
            return session.record_scans(found[0]["id"], scans, verdict=verdict)
        if verdict == "not_collaborative":
            return session.reject(ips, scans=scans, title=title)
        return session.create(ips, scans=scans, verdict=verdict, title=title)

    app.change_labels(change)


def set_verdicts(app: Any, records: list[Record], verdict: str, then: Any = None) -> None:
    """The verdict for every one of *records* (the marked rows), as :func:`set_verdict` gives it to one,
    in **one** labels-file write that ``u`` undoes as a whole. Records already with that verdict are skipped."""
    from scantui.labels.match import ScanIndex, label_matches

    if app.state.labels is None:
        app.notify("the labels file is not open (see the earlier error)", severity="error", markup=False)
        return
    todo = [(r, record_ips(r), record_scans(r), app.state.record_scans(r), default_title(r) or None) for r in records]
    todo = [t for t in todo if t[1]]

    def step(ips: list[str], refs: list[Any], keys: list[Any], title: str | None) -> Any:
        def run(session: Any) -> Any:
            status, matches = ScanIndex(session.store.groups).review(ips, keys)
            if matches:
                target = session.store.get(matches[0]["id"])
                index = ScanIndex([target])
                fresh = [ref for ref, key in zip(refs, keys) if not index.recorded_in(key)]
                if not fresh and target.verdict == verdict:
                    return None  # already so
                return session.record_scans(target.id, fresh, verdict=verdict)
            found = label_matches(session.store.groups, ips)
            if found:
                return session.record_scans(found[0]["id"], refs, verdict=verdict)
            if verdict == "not_collaborative":
                return session.reject(ips, scans=refs, title=title)
            return session.create(ips, scans=refs, verdict=verdict, title=title)

        return run

    steps = [step(ips, refs, keys, title) for _r, ips, refs, keys, title in todo]
    word = VERDICT_WORDS.get(verdict, verdict)
    app.change_labels(lambda s: s.batch(f"{word} {len(steps)} rows", steps), then=then,
                      nothing=f"the {len(records)} marked rows are {word} already")
