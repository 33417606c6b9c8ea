"""Saved views in the config file (issue 14 part 6): read, checked, written atomically beside the user's keys."""

from __future__ import annotations

import pytest

from scantui.config import SavedView, save_view, saved_views
from scantui.errors import InputError


def test_save_replaces_by_name_and_keeps_the_other_keys(tmp_path):
    path = tmp_path / "sub" / "config.yaml"
    save_view(SavedView("a", "scanners", "tool:zmap", ("2024-02-05", "2024-02-09"), ("ports", False)), path)
    assert saved_views(path=path) == [SavedView("a", "scanners", "tool:zmap", ("2024-02-05", "2024-02-09"),
                                                ("ports", False))]
    path.write_text("# my settings\nenrich:\n  timeout: 5  # seconds\n" + path.read_text())
    save_view(SavedView("b", "candidates", "", None, ("groups.score", True)), path)
    save_view(SavedView("a", "labels"), path)
    text = path.read_text()
    assert text.startswith("# my settings\nenrich:\n  timeout: 5  # seconds\n")
    assert [(v.name, v.area) for v in saved_views(path=path)] == [("b", "candidates"), ("a", "labels")]
    assert saved_views(path=path)[0].sort == ("groups.score", True)
    assert [p.name for p in path.parent.iterdir()] == ["config.yaml"]  # no temporary left


@pytest.mark.parametrize("doc, says", [
    ("views: 3\n", "views: must be a list"),
    ("views:\n  - {area: scanners}\n", "views[0]: a saved view must be a mapping with a name"),
    ("views:\n  - {name: x, area: nowhere}\n", "views[0]: area must be one of"),
    ("views:\n  - {name: x, area: scanners, range: 2024-02-05}\n", "views[0]: range must be FIRST..LAST"),
    ("views:\n  - {name: x, area: scanners, range: 2024-13-05..}\n", "views[0]: range must be FIRST..LAST"),
    ("views:\n  - {name: x, area: scanners, sort: packets}\n", "views[0]: sort must be"),
    ("views:\n  - {name: x, area: scanners, query: [1]}\n", "views[0]: query must be text"),
    ("views:\n  - {name: x, area: overview, watch: true}\n", "views[0]: watch must be true or false"),
    ("views:\n  - {name: x, area: scanners, watch: 'yes'}\n", "views[0]: watch must be true or false"),
    ("views:\n  - {name: x, area: scanners, udp: 1}\n", "views[0]: udp must be true or false"),
    ("views:\n  - {name: x, area: candidates, udp: true}\n", "views[0]: udp must be true or false, and true only"),
])
def test_a_malformed_view_is_named(tmp_path, doc, says):
    path = tmp_path / "config.yaml"
    path.write_text(doc)
    with pytest.raises(InputError, match=says.replace("[", r"\[").replace("]", r"\]")):
        saved_views(path=path)
    before = path.read_bytes()
    if doc.startswith("views:\n"):
        save_view(SavedView("y", "overview"), path)  # a bad entry is kept as it is (the user fixes it)
        assert path.read_bytes() != before


def test_a_watched_view_saved_again_from_the_app_stays_watched(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("views:\n  - {name: a, area: scanners, query: 'port:23', watch: true}\n")
    assert saved_views(path=path)[0].watch is True
    save_view(SavedView("a", "scanners", "port:2323"), path)  # the TUI's w knows nothing of watch
    assert saved_views(path=path) == [SavedView("a", "scanners", "port:2323", watch=True)]
    save_view(SavedView("a", "labels"), path)  # an area that cannot be watched
    assert saved_views(path=path) == [SavedView("a", "labels")]


def test_a_scanner_view_keeps_whether_udp_is_counted(tmp_path):
    path = tmp_path / "config.yaml"
    save_view(SavedView("dns", "scanners", "port:53", udp=True), path)
    assert "udp: true" in path.read_text()
    assert saved_views(path=path) == [SavedView("dns", "scanners", "port:53", udp=True)]
    save_view(SavedView("dns", "scanners", "port:53"), path)  # saved again with U off
    assert "udp" not in path.read_text() and saved_views(path=path)[0].udp is False
