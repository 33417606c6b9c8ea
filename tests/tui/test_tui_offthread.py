"""Work over data off the UI thread (session 9): the candidates/groups filter, the labels filter and the
``--follow`` watch matching run in thread workers (:mod:`scantui.tui.offthread`); the newest request wins, a
stale result never lands, a failure is a notification. One Pilot app on the tiny data, candidates planted."""

from __future__ import annotations

import copy
import dataclasses
import threading

from collabbuild import candidate, group
from tuihelp import make_app, run_app, screen_text, settle
from scantui.analysis.collab import CollabResult
from scantui.analysis.collab_types import SuggestedGroup

PAIR = ("192.0.2.10", "192.0.2.11")
OTHER = ("203.0.113.5", "203.0.113.9")
# the labelled group G01 holds PAIR with its 443 scan of 03-01 recorded: 3306 on 03-02 is "back"
CANDIDATES = [
    candidate(sources=PAIR, port=443, day="2024-03-01", key_text="192.0.2.0/24", score=95.0),
    candidate(sources=OTHER, port=3389, day="2024-03-04", key_text="203.0.113.0/24", score=80.0),
    candidate(sources=PAIR, port=3306, day="2024-03-02", key_text="192.0.2.0/24", score=70.0),
    candidate(sources=OTHER, port=3306, day="2024-03-03", key_text="203.0.113.0/24", score=60.0),
]
GROUPS = [group([c], group_id=f"S{i + 1:02d}") for i, c in enumerate(CANDIDATES)]
REPRS: list[str] = []


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class _Counted(SuggestedGroup):
    """A suggested group that counts the times it is written out by repr() (the rows worker's description
    was, for every record of both lists, on the UI thread: 1.7 s at 20,000 groups)."""

    def __repr__(self) -> str:
        REPRS.append(self.group)
        return self.group
LABELS = """\
scantui_labels: 1
groups:
  - id: G01
    title: alpha pair
    verdict: collaborative
    members: [192.0.2.10, 192.0.2.11]
    scans:
      - {port: 443, day: 2024-03-01, sources: [192.0.2.10, 192.0.2.11]}
  - id: G02
    title: beta other
    verdict: unsure
    members: [203.0.113.5]
"""


def _ports(table) -> list[int]:
    return sorted(table.frame["port"].to_list()) if "port" in table.frame.columns else []


def _ranks(table) -> list[int]:
    return sorted(table.frame["idx"].to_list())


async def _candidates_filter(app, pilot):
    from scantui.tui.offthread import Computed
    from scantui.tui.screens.candidates import FILTER_KIND

    await pilot.press("3")
    await settle(app, pilot)
    screen = app.screen
    groups, scans = screen.groups_table, screen.candidates_table
    assert _ranks(scans) == [0, 1, 2, 3]
    # typed: the key handler only asks; the rows change when the worker's result comes back
    await pilot.press("slash", *"port:3306")
    await settle(app, pilot)
    assert _ranks(scans) == [2, 3] and _ranks(groups) == [2, 3]
    assert "2 match /port:3306" in screen_text(app)
    screen.filter_input.value = ""
    await settle(app, pilot)
    assert screen.apply_filter("port:3389", report=True)
    assert _ranks(scans) == [0, 1, 2, 3] and screen.latest_pending(FILTER_KIND)  # not filtered in the handler
    await settle(app, pilot)
    assert _ranks(scans) == [1]
    # two queries typed quickly: the last one wins, whichever worker ends first
    await pilot.press("ctrl+u", *"port:443", *["backspace"] * 3, *"3306")
    await settle(app, pilot)
    assert _ranks(scans) == [2, 3] and _ranks(groups) == [2, 3] and screen.filter_text == "port:3306"
    # an older request still running when a newer one is shown never lands over it
    gate = threading.Event()
    stale = {"groups": groups.frame.clear(), "candidates": scans.frame.clear()}
    screen.compute_latest(FILTER_KIND, lambda: (gate.wait(10), stale)[1], lambda shown: screen._apply_shown(shown, hold=False))
    assert screen.apply_filter("port:3389", report=False)
    for _ in range(200):
        await pilot.pause(0.01)
        if _ranks(scans) == [1]:
            break
    assert _ranks(scans) == [1]
    gate.set()
    await settle(app, pilot)
    assert _ranks(scans) == [1]
    screen.post_message(Computed(FILTER_KIND, 1, stale, lambda shown: screen._apply_shown(shown, hold=False)))
    await settle(app, pilot)
    assert _ranks(scans) == [1]  # (a late message of an old request: dropped)
    # clearing shows every row at once (no worker), and a pending filter does not land over it
    screen.apply_filter("port:443", report=False)
    screen.action_clear_filter()
    await settle(app, pilot)
    assert _ranks(scans) == [0, 1, 2, 3] and "match" not in screen_text(app)
    # a failure is a notification; the screen keeps working
    screen.compute_latest(FILTER_KIND, lambda: 1 / 0, lambda shown: None, title="filter")
    await settle(app, pilot)
    assert any(n.title == "filter" and "ZeroDivisionError" in n.message for n in app._notifications)
    assert screen.apply_filter("port:3389", report=True)
    await settle(app, pilot)
    assert _ranks(scans) == [1]
    screen.action_clear_filter()
    screen.groups_table.focus()
    await settle(app, pilot)


async def _labels_filter(app, pilot):
    await pilot.press("4")
    await settle(app, pilot)
    screen = app.screen
    assert screen.table.frame["id"].to_list() == ["G01", "G02"]
    await pilot.press("slash", *"beta")
    await settle(app, pilot)
    assert screen.table.frame["id"].to_list() == ["G02"] and "1 of 2 groups · filter: beta" in screen_text(app)
    await pilot.press(*["backspace"] * 4, *"203.0.113.5")  # an IP a group holds
    await settle(app, pilot)
    assert screen.table.frame["id"].to_list() == ["G02"]
    await pilot.press("ctrl+u", "enter")
    await settle(app, pilot)
    assert screen.table.frame["id"].to_list() == ["G01", "G02"]


async def _watch(app, pilot):
    notes: list[str] = []
    real_notify = app.notify

    def notify(message, **kw):
        if kw.get("title") == "watch":
            notes.append(message)
        real_notify(message, **kw)

    app.notify = notify
    app.state.request = dataclasses.replace(app.state.request, follow=True)
    app.watch_candidates()  # the baseline: what the data holds now is not news
    assert app._watch_state is not app.state  # matched in a worker, not in the handler
    await settle(app, pilot)
    assert app._watch_state is app.state and not notes
    assert app._watch_known == {"back|G01|3306|2024-03-02", "back|G02|3306|2024-03-03", "back|G02|3389|2024-03-04"}
    # two searches finish before the first one's matching is done: both are folded in, in order, each hit once
    first, second = copy.copy(app.state), copy.copy(app.state)
    first.collab = CollabResult([*CANDIDATES, candidate(sources=PAIR, port=8080, day="2024-03-04")], telescope_size=256)
    second.collab = CollabResult([*first.collab.candidates, candidate(sources=PAIR, port=22, day="2024-03-04")],
                                 telescope_size=256)
    for state in (first, second):
        app.state = state
        app.watch_candidates()
    await settle(app, pilot)
    assert notes == ['G01 "alpha pair" is back: port 8080, 2024-03-04, 2 sources',
                     'G01 "alpha pair" is back: port 22, 2024-03-04, 2 sources']
    app.state = copy.copy(second)  # the same scans again: nothing new
    app.watch_candidates()
    await settle(app, pilot)
    assert len(notes) == 2 and [h.id for h in app.watch_fired] == ["back|G01|8080|2024-03-04", "back|G01|22|2024-03-04"]


def test_filters_and_watch_run_off_the_ui_thread(tiny_parquet, tui_cache, tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text(LABELS)
    app = make_app([tiny_parquet], tui_cache, labels_path=labels)

    async def scenario(app, pilot):
        app.state.collab = CollabResult(list(CANDIDATES), telescope_size=256)
        app.state.groups = [_Counted(**{f.name: getattr(g, f.name) for f in dataclasses.fields(g)}) for g in GROUPS]
        app.collab_count, app.groups_count = len(CANDIDATES), len(GROUPS)
        await _candidates_filter(app, pilot)
        assert not REPRS  # the lists were built, and no record was written out with repr()
        await _labels_filter(app, pilot)
        await _watch(app, pilot)

    run_app(app, scenario, size=(120, 30))
