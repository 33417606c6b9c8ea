"""The config's ``rollup`` section is read whole by every command that opens a rollup, built or reused: a bad value
or an unknown key (a typo that would keep the default without a word) is one error line there, not on a later build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clihelp import run
from scantui.config import RollupSettings, rollup_settings
from test_cli_unicorn_threshold import _unicorn_file


@pytest.mark.parametrize(("line", "message"), [
    ("late_days: 40", "rollup.late_days: must be a number of days (0-31), e.g. 1; got 40"),
    ("keep_top_ports: many", "rollup.keep_top_ports: must be a number of ports (0-100), e.g. 2; got 'many'"),
    ("keep_ports: [70000]", "rollup.keep_ports: must be ports (0-65535), e.g. [443, 22]; got 70000"),
    ("late_day: 3", "rollup: unknown key 'late_day' (known: keep_ports, keep_top_ports, late_days, "
                    "unicorn_min_packets)"),
    ("7: 3", "rollup: unknown key 7 (known: keep_ports, keep_top_ports, late_days, unicorn_min_packets)"),
    (None, "rollup: must be a mapping"),  # the key said once (was "rollup: rollup must be a mapping")
])
def test_a_bad_rollup_setting_stops_a_command_that_reuses_the_rollup(tmp_path, capsys, line, message):
    data = _unicorn_file(tmp_path / "p.parquet")
    config = Path(os.environ["SCANTUI_CONFIG"])
    code, out, err = run(["rollup", data], capsys)
    assert code == 0, err

    config.write_text(f"rollup:\n  {line}\n" if line else "rollup: 5\n")
    for command in (["scanners", data], ["rollup", data]):  # the rollup is in the cache: nothing is built
        code, out, err = run(command, capsys)
        assert (code, out, err) == (2, "", f"scantui: error: {config}: {message}\n"), command


def test_the_section_is_read_whole(tmp_path):
    config = tmp_path / "c.yaml"
    assert rollup_settings(path=config) == RollupSettings((), 2, 1, None)  # no file: the defaults
    config.write_text("rollup:\n  keep_ports: '443,22'\n  keep_top_ports: 0\n  late_days: 3\n"
                      "  unicorn_min_packets: 50\n")
    assert rollup_settings(path=config) == RollupSettings((22, 443), 0, 3, 50)
