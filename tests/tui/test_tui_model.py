"""The TUI's Textual-free model: overview figures from the rollup agree with ``scantui info``;
the model modules never import Textual, and the App module defers polars."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scantui.analysis.summary import summarize
from scantui.io.loader import open_inputs
from scantui.tui.columns import SCANNER_COLUMNS, scanner_columns, tools_text
from scantui.tui.state import DataState, LoadRequest, error_text


@pytest.fixture
def state(tiny_state):
    return tiny_state


def test_overview_from_the_rollup_equals_info_from_the_packets(state, tiny_parquet):
    info = summarize(open_inputs([tiny_parquet]).lf)
    ov = state.overview
    assert ov.packets == info["packets"]
    assert ov.sources == info["sources"]
    assert ov.days == info["days"]
    assert ov.first_seen.isoformat() == info["first_seen"] and ov.last_seen.isoformat() == info["last_seen"]
    assert ov.telescope_size == info["telescope_size_estimate"] and ov.telescope_from == "estimated"
    assert {k: v for k, v in ov.traffic.items() if v} == {k: v for k, v in info["traffic"].items() if v}
    for tool in ov.tools:
        assert (tool.packets, tool.sources) == (info["tools"][tool.tool]["packets"], info["tools"][tool.tool]["sources"])
    assert sum(ov.day_packets) == ov.packets
    assert ov.top_ports[0].port in (443, 3389)
    assert [name for name, _fmt, _size in ov.inputs] == [str(tiny_parquet)]


def test_the_scanner_list_has_every_column_of_scantui_scanners(state):
    from scantui.analysis.scanners import COLUMNS

    assert tuple(state.scanners.frame.columns) == COLUMNS
    assert tuple(c.key for c in scanner_columns(COLUMNS)) == COLUMNS
    assert scanner_columns(("src", "new_thing"))[1].header == "new thing"


def test_telescope_size_given_overrides_the_estimate(tiny_parquet, tui_cache):
    s = DataState(LoadRequest((str(tiny_parquet),), cache_dir=tui_cache, telescope_cidrs_text="198.18.0.0/23"))
    s.open_rollup()
    assert s.build_overview().telescope_size == 512 and s.overview.telescope_from == "cidr"


def test_collab_and_groups_counts_run_on_the_state(state):
    assert state.build_collab() is not None
    groups = state.build_groups()
    assert groups is None or isinstance(groups, list)


def test_cells_are_cut_and_escaped():
    as_name = next(c for c in SCANNER_COLUMNS if c.key == "as_name")
    cell = as_name.cell("[bold]x\x1b[31m" + "y" * 40)
    assert "\x1b" not in cell and cell.startswith("[bold]x\\x1b[31m") and len(cell) == as_name.width
    assert tools_text({"zmap": 0.25, "other": 0.75, "nmap": 0.0}) == "other 75% zmap 25%"
    assert SCANNER_COLUMNS[0].cell(None) == "-"


def test_error_text_is_one_line():
    from scantui.errors import InputError

    assert error_text(InputError("bad", path="x.pcap", where="record 3")) == "x.pcap: record 3: bad"
    assert error_text(ValueError("first\nsecond")) == "ValueError: first"


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(','.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    return set(out.split(","))


def test_launch_and_model_modules_import_no_textual():
    loaded = _modules_after("import scantui.tui.launch, scantui.tui.state, scantui.tui.query, scantui.tui.columns")
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_the_app_module_defers_polars_and_plotext_until_after_the_first_paint():
    loaded = _modules_after("import scantui.tui.app")
    assert "textual" in loaded
    assert not loaded & {"polars", "numpy", "plotext", "textual_plotext"}


def test_run_tui_passes_the_request_and_repeats_failures_on_stderr(monkeypatch, capsys):
    from scantui.tui.app import ScantuiApp
    from scantui.tui.launch import run_tui

    seen = {}

    def fake_run(app):
        seen["request"] = app.state.request
        app.failures.append(("inputs", "x.parquet: no such file or folder", None))
        return None

    monkeypatch.setattr(ScantuiApp, "run", fake_run)
    code = run_tui(["x.parquet"], opts=None, labels_path="labels.yaml", telescope_size=None,
                   telescope_cidrs_text="198.18.0.0/20", cache_dir="cache")
    assert code == 0
    request = seen["request"]
    assert request.paths == ("x.parquet",) and request.telescope_cidrs_text == "198.18.0.0/20"
    assert request.labels_path == "labels.yaml" and request.cache_dir == "cache"
    assert "scantui: inputs: x.parquet: no such file or folder" in capsys.readouterr().err


def test_review_is_shared_until_the_labelled_groups_change(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    from scantui.labels import match
    from scantui.tui.state import DataState, LoadRequest

    s = DataState(LoadRequest((str(tiny_parquet),), cache_dir=tui_cache, labels_path=tmp_path / "labels.yaml"))
    s.open_labels()
    calls = []
    real = match.ScanIndex.review
    monkeypatch.setattr(match.ScanIndex, "review", lambda self, *args: calls.append(1) or real(self, *args))
    ips = ["192.0.2.10", "192.0.2.11"]
    assert s.review(ips) == ("new", []) and s.review(ips) == ("new", []) and len(calls) == 1
    s.labels.reject(ips)
    assert s.review(ips)[0] == "rejected" and len(calls) == 2  # a change replaces the groups: recomputed
    s.labels.undo()
    assert s.review(ips) == ("new", []) and len(calls) == 3


def test_review_needs_the_scans_recorded_not_only_the_ips(tmp_path):
    """Labelling one scan of some IPs reviews that scan, not every scan of the same IPs (issue 10, item 5)."""
    import datetime as dt

    from scantui.labels.match import ScanIndex, review
    from scantui.labels.model import Group, Scan
    from scantui.labels.session import LabelSession, ScanRef
    from scantui.tui.state import DataState, LoadRequest

    ips = ["192.0.2.10", "192.0.2.11"]
    monday, tuesday = (443, "2024-03-01", tuple(ips)), (443, "2024-03-02", tuple(ips))
    g01 = Group("G01", verdict="collaborative", members=ips, scans=[Scan(443, dt.date(2024, 3, 1), tuple(ips))])
    assert review([g01], ips, [monday])[0] == "labelled"
    state, matches = review([g01], ips, [tuesday])
    assert state == "same_ips" and matches[0]["id"] == "G01" and (matches[0]["recorded"], matches[0]["scans"]) == (0, 1)
    assert review([g01], ips, [monday, tuesday])[0] == "same_ips"  # a suggestion: every scan must be recorded
    assert review([g01], ips[:1], [(443, "2024-03-01", ips[:1])])[0] == "labelled"  # a subset of a recorded scan
    assert review([g01.replace(verdict="not_collaborative")], ips, [monday])[0] == "rejected"
    assert review([g01], ["203.0.113.1"], [(443, "2024-03-01", ("203.0.113.1",))]) == ("new", [])
    assert ScanIndex([g01]).recorded_in(tuesday) == set()

    s = DataState(LoadRequest(("x.parquet",), labels_path=tmp_path / "labels.yaml"))
    s.open_labels()
    s.labels.create(ips, scans=[ScanRef(443, dt.date(2024, 3, 1), tuple(ips))], group_id="G01")
    from collabbuild import candidate

    record = candidate(port=443, day="2024-03-02", sources=tuple(ips))
    assert s.review_record(record)[0] == "same_ips"
    change = s.labels.record_scans("G01", [ScanRef(443, dt.date(2024, 3, 2), tuple(ips))], verdict="unsure")
    assert change.group_id == "G01" and s.review_record(record)[0] == "labelled"
    assert LabelSession.open(str(tmp_path / "labels.yaml")).store.get("G01").verdict == "unsure"
    s.labels.undo()  # one change, one undo: the scan and the verdict go back together
    g = s.labels.store.get("G01")
    assert len(g.scans) == 1 and g.verdict == "collaborative" and s.review_record(record)[0] == "same_ips"
