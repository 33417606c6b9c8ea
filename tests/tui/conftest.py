"""Fixtures for the TUI tests (the data and helpers are in ``tuihelp.py``; each test's own config file:
``tests/conftest.py``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tuihelp import tiny_frame


NOTIFICATION_STRETCH = 60


@pytest.fixture(autouse=True)
def _notifications_outlast_a_busy_box(monkeypatch):
    """A notification lives :data:`NOTIFICATION_STRETCH` times its timeout here: the tests read
    ``app._notifications`` after waiting for the workers, and on a busy box (the suite's own xdist workers
    beside it) that wait can outlast a toast's 4-15 s, which Textual reaps by the wall clock."""
    from textual.notifications import Notification

    monkeypatch.setattr(Notification, "time_left",
                        property(lambda n: n.raised_at + n.timeout * NOTIFICATION_STRETCH - time.time()))


@pytest.fixture(scope="session")
def tiny_parquet(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    path = folder / "packets.parquet"
    tiny_frame().write_parquet(path)
    return path


@pytest.fixture(scope="session")
def tui_cache(session_cache_dir) -> Path:
    """One rollup cache for the TUI tests, the session's (tests/conftest.py): each data set is rolled up once
    per session, the sample's rollup shared with the CLI tests."""
    return session_cache_dir


@pytest.fixture(scope="session")
def tiny_state(tiny_parquet, tui_cache):
    """The TUI's model after the loading pipeline, on the tiny data."""
    from scantui.tui.state import DataState, LoadRequest

    state = DataState(LoadRequest((str(tiny_parquet),), cache_dir=tui_cache))
    state.open_inputs()
    state.open_rollup()
    state.build_overview()
    state.build_scanners()
    return state



@pytest.fixture
def tiny_here(tiny_parquet, monkeypatch):
    """The tiny data's file name, with the working folder its folder (snapshots show the name only)."""
    monkeypatch.chdir(tiny_parquet.parent)
    return tiny_parquet.name
