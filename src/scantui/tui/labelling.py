"""Labelling from any screen: one key creates a group from a candidate or suggestion, or adds to one.

``record`` is a ``collab`` candidate record (``sources``, ``port``, ``day``...)
or a ``groups`` suggestion record (``members``, ``scan_refs``...). The scans
saved as evidence are the candidate itself, or every scan of the suggestion
(:func:`scantui.analysis.groups.scans_of` over the App's candidates).

* :func:`label_dialog` (key ``l``) asks, in :class:`~scantui.tui.screens.label_as.LabelAsScreen`,
  for a new group (id and title prefilled) or a labelled group to add to;
* :func:`set_verdict` (keys ``a`` accept, ``x`` reject, ``n`` unsure) gives the
  verdict to the labelled group the IPs belong to, or creates one with it
  (a rejection becomes ``R01``...: remembered, the record does not come back as new);
* :func:`record_evidence` (key ``e``) adds the scans of a record whose IPs a labelled
  group holds ("same IPs as G01") to that group, as evidence: then it is reviewed.

Every change goes through :meth:`scantui.tui.app.ScantuiApp.change_labels`
(saved at once in a worker, merged with other analysts' edits, undoable with
``u``); the App posts ``LabelsChanged`` and the screens refresh their review state.
No Textual here but the modal's import, so the record helpers are plain functions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

VERDICT_WORDS = {"collaborative": "accepted", "not_collaborative": "rejected", "unsure": "unsure"}


def record_ips(record: dict[str, Any]) -> list[str]:
    """The IPs of a candidate (``sources``) or a suggestion (``members``)."""
    return list(record.get("members") or record.get("sources") or [])


def is_suggestion(record: dict[str, Any]) -> bool:
    return "scan_refs" in record


def record_name(record: dict[str, Any]) -> str:
    """``S03`` for a suggestion, ``port 8080 2024-02-06 198.18.5.0/24`` for a candidate scan."""
    if is_suggestion(record):
        return str(record.get("group", "suggestion"))
    return f"port {record.get('port')} {str(record.get('day', ''))[:10]} {record.get('key', '')}".strip()


def default_title(record: dict[str, Any]) -> str:
    """A title to start from: the AS(es), and the /24 or AS key of a candidate."""
    if is_suggestion(record):
        asns = [str(a) for a in record.get("asns") or []]
        if asns:
            return " ".join(asns[:3])
        ips = record_ips(record)
        return ips[0].rsplit(".", 1)[0] + ".0/24" if ips else ""
    key, asn = str(record.get("key") or ""), record.get("asn")
    return f"{asn} {key}" if asn and str(asn) != key else key


def record_scans(state: Any, record: dict[str, Any]) -> list[Any]:
    """The evidence: :class:`~scantui.labels.session.ScanRef` of the candidate, or of each scan of the suggestion."""
    from scantui.labels.session import ScanRef

    if is_suggestion(record):
        from scantui.analysis.groups import scans_of

        candidates = state.collab.candidates if state.collab is not None else []
        scans = scans_of(record, candidates)
    else:
        scans = [record]
    return [ScanRef(int(s["port"]), dt.date.fromisoformat(str(s["day"])[:10]), tuple(s["sources"])) for s in scans]


def ranked_groups(groups: list[Any], ips: list[str]) -> list[tuple[Any, float]]:
    """(group, share of *ips* it holds) for every labelled group: the best matches first, then by id."""
    wanted = list(dict.fromkeys(ips))
    scored = [(g, (sum(g.contains(ip) for ip in wanted) / len(wanted)) if wanted else 0.0) for g in groups]
    return sorted(scored, key=lambda gs: (-gs[1], gs[0].id))


def _ips_to_label(app: Any, record: dict[str, Any]) -> list[str] | None:
    """The record's IPs, or None (and a notification) when the labels file is not open or there are none."""
    if app.state.labels is None:
        app.notify("the labels file is not open (see the earlier error)", severity="error", markup=False)
        return None
    ips = record_ips(record)
    if not ips:
        app.notify(f"{record_name(record)}: no IPs to label", markup=False)
        return None
    return ips


def label_dialog(app: Any, record: dict[str, Any]) -> None:
    """Ask: a new group (id, title prefilled) or add to an existing one; then save.

    The prefilled id, when another analyst took it meanwhile, is re-numbered at
    save (and the notification says so); an id the analyst typed that was taken
    meanwhile opens the dialog again with the id and title as typed and the reason.
    """
    ips = _ips_to_label(app, record)
    if ips is None:
        return
    from scantui.labels.session import IdTaken
    from scantui.tui.screens.label_as import LabelAsScreen, LabelChoice

    scans = record_scans(app.state, record)
    heading = f"label {record_name(record)}: {len(ips)} IPs, {len(scans)} scan{'s' if len(scans) != 1 else ''}"

    def ask(group_id: str | None = None, title: str | None = None, error: str | None = None) -> None:
        session = app.state.labels
        app.push_screen(LabelAsScreen(heading, session.next_id(), default_title(record) if title is None else title,
                                      ranked_groups(session.store.groups, ips), set(session.store.ids),
                                      group_id=group_id, error=error), chosen)

    def chosen(choice: LabelChoice | None) -> None:
        if choice is None:
            return
        if not choice.new:
            app.change_labels(lambda s: s.add_to(choice.group_id, ips, scans=scans))
            return

        def taken(exc: Exception) -> bool:
            if not isinstance(exc, IdTaken):
                return False
            ask(choice.group_id, choice.title or "", exc.why)  # the input kept
            return True

        app.change_labels(lambda s: s.create(ips, scans=scans, group_id=choice.group_id, suggested=choice.suggested,
                                             title=choice.title), failed=taken)

    ask()


def _refs(keys: list[Any]) -> list[Any]:
    from scantui.labels.session import ScanRef

    return [ScanRef(int(p), dt.date.fromisoformat(d), tuple(src)) for p, d, src in keys]


def record_evidence(app: Any, record: dict[str, Any], verdict: str | None = None) -> bool:
    """Add the record's scans that its matching labelled group does not record yet to that group
    (key ``e``; ``a``/``x``/``n`` on such a record too, with the verdict). False when no group matches."""
    from scantui.labels.match import ScanIndex, unrecorded

    ips = _ips_to_label(app, record)
    if ips is None:
        return True
    keys = app.state.record_scans(record)
    _status, matches = app.state.review(ips, keys)
    if not matches:
        return False
    gid = matches[0]["id"]

    def change(session: Any) -> Any:
        # again, in the worker: earlier changes are saved now
        found = ScanIndex(session.store.groups).review(ips, keys)[1]
        target = found[0]["id"] if found else gid
        todo = unrecorded(session.store.get(target), keys)
        if not todo and (verdict is None or session.store.get(target).verdict == verdict):
            return None
        return session.record_scans(target, _refs(todo), verdict=verdict)

    app.change_labels(change, nothing=f"{record_name(record)}: its scans are recorded in {gid} already")
    return True


def set_verdict(app: Any, record: dict[str, Any], verdict: str) -> None:
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
    scans, title = record_scans(app.state, record), default_title(record) or None

    def change(session: Any) -> Any:
        from scantui.labels.match import label_matches

        found = label_matches(session.store.groups, ips)  # again, in the worker: earlier changes are saved now
        if found:
            return session.record_scans(found[0]["id"], scans, verdict=verdict)
        if verdict == "not_collaborative":
            return session.reject(ips, scans=scans, title=title)
        return session.create(ips, scans=scans, verdict=verdict, title=title)

    app.change_labels(change)
