"""The configuration file's ``enrich`` section: precedence of option, environment and file; errors; the secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from scantui.config import DEFAULT_IPINFO_URL, enrich_settings
from scantui.errors import InputError


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    monkeypatch.setenv("SCANTUI_CONFIG", str(path))
    monkeypatch.delenv("IPINFO_TOKEN", raising=False)
    return path


def test_defaults_without_a_file(config):
    s = enrich_settings()
    assert (s.ipinfo_token, s.ipinfo_url, s.mmdb, s.refresh_days, s.retries) == (None, DEFAULT_IPINFO_URL, (), 30, 4)


def test_option_beats_environment_beats_file(config, monkeypatch):
    config.write_text("enrich:\n  ipinfo_token: from-file\n  mmdb: ~/a.mmdb\n  refresh_days: 7\n  ipinfo_url: http://127.0.0.1:8/\n")
    assert enrich_settings().ipinfo_token == "from-file"
    monkeypatch.setenv("IPINFO_TOKEN", "from-env")
    assert enrich_settings().ipinfo_token == "from-env"
    s = enrich_settings(token="from-option", mmdb=["b.mmdb"], refresh_days=1)
    assert (s.ipinfo_token, s.mmdb, s.refresh_days, s.ipinfo_url) == ("from-option", (Path("b.mmdb"),), 1, "http://127.0.0.1:8")
    assert enrich_settings().mmdb == (Path("~/a.mmdb").expanduser(),)
    assert "from-" not in repr(enrich_settings())  # the token stays out of reprs (and so out of tracebacks)


@pytest.mark.parametrize("text, message", [
    ("enrich:\n  token: x\n", "enrich: unknown key 'token'"),
    ("enrich:\n  7: x\n  timeout: 5\n  token: x\n", "enrich: unknown key 7"),  # a number among strings (was a TypeError)
    ("enrich:\n  retries: -1\n", "enrich.retries: must be an integer from 0 to 100, got -1"),
    # past what a datetime or a socket holds: an internal error later (OverflowError, ValueError), exit 70
    ("enrich:\n  refresh_days: .inf\n", "enrich.refresh_days: must be a number from 0 to 36,500, got inf"),
    ("enrich:\n  refresh_days: .nan\n", "enrich.refresh_days: must be a number from 0 to 36,500, got nan"),
    ("enrich:\n  timeout: 1e300\n", "enrich.timeout: must be a number from 0 to 3,600, got 1e+300"),
    ("enrich:\n  ipinfo_url: ftp://x\n", "enrich.ipinfo_url: must be an http:// or https:// URL"),
    ("enrich: [1]\n", "enrich: must be a mapping"),
    ("enrich:\n  mmdb: {a: 1}\n", "enrich.mmdb: must be a path or a list of paths"),
    ("enrich:\n  x: [\n", "line 3: not valid YAML"),
    # a character YAML refuses: its line, one line (was "... not allowed\\x0a  in "<unicode string>", position 23")
    ("enrich:\n  cache: \"a\x1bb\"\n", "line 2: not valid YAML: unacceptable character #x001b: special characters are not allowed"),
])
def test_bad_configuration_is_an_input_error_naming_the_file(config, text, message):
    config.write_text(text)
    with pytest.raises(InputError) as err:
        enrich_settings()
    assert message in err.value.message and str(config) in err.value.message
    assert "\n" not in err.value.message and "<unicode string>" not in err.value.message
