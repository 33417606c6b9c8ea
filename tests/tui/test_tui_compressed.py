"""The TUI on compressed captures: a .pcap.gz opens like the plain file; a damaged one is a notification."""

from __future__ import annotations

import gzip
from pathlib import Path

from tuihelp import make_app, run_app

CUT = Path(__file__).resolve().parents[2] / "sample_data" / "cuts" / "telescope-cut.pcap"


def test_a_gzipped_capture_opens_with_the_plain_files_overview(tmp_path):
    plain = tmp_path / "hour.pcap"
    plain.write_bytes(CUT.read_bytes())
    packed = tmp_path / "hour.pcap.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    seen = []

    async def scenario(app, pilot):
        assert not [n for n in app._notifications if n.severity == "error"]
        seen.append((app.state.overview.packets, app.state.overview.sources))

    run_app(make_app([plain], tmp_path / "cache"), scenario)
    run_app(make_app([packed], tmp_path / "cache"), scenario)
    plain_view, packed_view = seen
    assert packed_view == plain_view and plain_view[0] > 2000


def test_a_truncated_gzip_is_a_notification_and_the_app_stays_up(tmp_path):
    data = gzip.compress(CUT.read_bytes())
    bad = tmp_path / "hour.pcap.gz"
    bad.write_bytes(data[: len(data) * 2 // 3])

    async def scenario(app, pilot):
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors and "hour.pcap.gz" in errors[0] and "truncated gzip data" in errors[0]
        assert app.is_running and not app.loading

    run_app(make_app([bad], tmp_path / "cache"), scenario)
