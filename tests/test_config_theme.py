"""``tui.theme`` in the config file: read back as written, other keys and comments kept, a new file private,
a broken file an error that is never overwritten."""

from __future__ import annotations

import pytest

from scantui.config import load_config, save_tui_theme, tui_theme
from scantui.errors import InputError


def test_the_theme_round_trips_keeping_the_rest(tmp_path):
    path = tmp_path / "config.yaml"
    assert tui_theme(path=path) is None
    save_tui_theme("nord", path)
    assert path.stat().st_mode & 0o777 == 0o600  # it may later hold a token
    assert tui_theme(path=path) == "nord"
    path.write_text("# mine\nviews: []\ntui:\n  theme: nord  # chosen in the app\n  keymap: {app.quit: q}\n")
    save_tui_theme("gruvbox", path)
    text = path.read_text()
    assert text.startswith("# mine\n") and "# chosen in the app" in text
    assert load_config(path) == {"views": [], "tui": {"theme": "gruvbox", "keymap": {"app.quit": "q"}}}


def test_a_broken_file_is_an_error_and_left_alone(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("tui: [unclosed\n")
    with pytest.raises(InputError):
        save_tui_theme("nord", path)
    assert path.read_text() == "tui: [unclosed\n"
    path.write_text("tui:\n  theme: 7\n")
    with pytest.raises(InputError) as err:
        tui_theme(path=path)
    assert err.value.message == f"{path}: tui.theme: must be a theme name, e.g. theme: nord"  # the key said once
