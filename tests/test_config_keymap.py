"""``tui.keymap`` from the config file: keys are names or single characters, never text that would reach the
terminal as an escape (the footer and the help box show them)."""

from __future__ import annotations

import pytest

from scantui.config import tui_keymap
from scantui.errors import InputError


@pytest.mark.parametrize("keys", ["\x1b[31mx,q", "ctrl+\u202e", "q,,x", "a b", "\x9b31m"])
def test_a_keymap_key_that_is_no_key_is_an_input_error_naming_it(tmp_path, keys):
    path = tmp_path / "config.yaml"
    with pytest.raises(InputError) as raised:
        tui_keymap({"tui": {"keymap": {"app.quit": keys}}}, path)
    message = str(raised.value)
    assert message.startswith(f"{path}: tui.keymap: 'app.quit': ") and "is not a comma-separated list of keys" in message
    assert message.isprintable()  # the key's text shown escaped


def test_a_keymap_of_names_and_characters_is_kept(tmp_path):
    keymap = {"app.quit": "q,ctrl+q", "app.help": "question_mark, f1", "app.scanners": "é"}
    assert tui_keymap({"tui": {"keymap": keymap}}, tmp_path / "config.yaml") == keymap
