"""The tests never read the user's config folder (``tests/conftest.py`` gives each its own ``SCANTUI_CONFIG``): a
known-scanner list in the real config folder (here a stand-in: ``XDG_CONFIG_HOME`` pointed at a temporary folder)
would otherwise change what ``scantui scanners`` prints."""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs

from clihelp import run
from scantui.enrich import lists as kl


def _scanners(capsys, path) -> str:
    code, out, err = run(["scanners", str(path), "--json"], capsys)
    assert code == 0, err
    return out


def test_a_list_in_the_users_config_folder_does_not_reach_a_cli_test(capsys, tmp_path, monkeypatch, canonical_parquet):
    assert Path(os.environ["SCANTUI_CONFIG"]).parent == tmp_path  # the fixture's own, empty config folder
    before = _scanners(capsys, canonical_parquet)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    user_lists = Path(platformdirs.user_config_dir("scantui")) / "lists"
    assert user_lists.is_relative_to(tmp_path)  # never the real one
    ip = json.loads(before)[0]["src"]  # a scanner of the data
    kl.save_list("users_list", kl.parse_list(f"{ip}\n", None), "users.txt", "research", user_lists)
    assert _scanners(capsys, canonical_parquet) == before  # the test's output: as without the list
    monkeypatch.delenv("SCANTUI_CONFIG")  # what a test without the fixture would read: the user's folder
    leaked = {row["src"]: row.get("list") for row in json.loads(_scanners(capsys, canonical_parquet))}
    assert leaked[ip] == ["users_list"]
