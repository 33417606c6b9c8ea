"""``scantui PATH --follow`` with a labels file: a new day file where a labelled group scans again gives one
notification, once (Pilot, planted day files, the labels file written through the real store)."""

from __future__ import annotations

import asyncio
import datetime as dt

from tuihelp import make_app, until_followed
from watchbuild import SOURCES, TELESCOPE, scan_frame, write_day

from scantui.labels.session import LabelSession, ScanRef

STRANGERS = ("203.0.113.20", "203.0.113.21")


def test_a_labelled_group_back_in_a_new_file_is_notified_once(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    write_day(folder, "d05.parquet", scan_frame("2024-02-05"))
    labels = tmp_path / "team.yaml"
    LabelSession.open(str(labels), author="ana").create(
        SOURCES, group_id="G01", title="[bold red]AK[/]", scans=[ScanRef(8080, dt.date(2024, 2, 5), SOURCES)])
    app = make_app([folder], tmp_path / "cache", follow=True, follow_interval=0.05, follow_settle=0.0,
                   labels_path=labels, telescope_cidrs_text=TELESCOPE)
    notes: list[tuple[str, str]] = []
    real_notify = app.notify

    def notify(message, **kw):
        notes.append((kw.get("title", ""), message))
        real_notify(message, **kw)

    app.notify = notify
    back = 'G01 "[bold red]AK[/]" is back: port 8080, 2024-02-06, 4 sources'

    def watched(day: int) -> bool:
        return app._watch_state is app.state and app.collab_count is not None and not app.counting and \
            app.overview is not None and app.overview.days == day  # (the watch matched this data, in its worker)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until_followed(app, pilot, lambda: watched(1), "the baseline")
            assert not [n for t, n in notes if t == "watch"]  # day 5's scan is recorded: nothing is back
            write_day(folder, "d06.parquet", scan_frame("2024-02-06"))
            await until_followed(app, pilot, lambda: watched(2), "the second day")
            assert [n for t, n in notes if t == "watch"] == [back]  # the title shown as text, not markup
            write_day(folder, "d07.parquet", scan_frame("2024-02-07", STRANGERS, 22))  # nothing of G01's
            await until_followed(app, pilot, lambda: watched(3), "the third day")
            assert [n for t, n in notes if t == "watch"] == [back]  # once per hit per session
            # another analyst labels the strangers now: their day-7 scan was there before, it is not "back"
            LabelSession.open(str(labels), author="bob").create(STRANGERS, group_id="G02")
            app.check_labels_file()
            await until_followed(app, pilot, lambda: "G02" in app.state.labels.store.ids, "the labels reload")
            write_day(folder, "d08.parquet", scan_frame("2024-02-08", SOURCES, 8443))
            await until_followed(app, pilot, lambda: watched(4), "the fourth day")
            assert [n for t, n in notes if t == "watch"] == [back, back.replace("8080, 2024-02-06", "8443, 2024-02-08")]
            assert [h.id for h in app.watch_fired] == ["back|G01|8080|2024-02-06", "back|G01|8443|2024-02-08"]
            commands = {name: cb for name, _help, cb in app.palette_commands(app.screen)}
            commands["labels: watch hits"]()
            assert notes[-1][0] == "watch: 2 hits" and notes[-1][1].splitlines()[0] == back
            await pilot.press("q")

    asyncio.run(main())
