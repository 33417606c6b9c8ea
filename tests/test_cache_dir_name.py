"""A cache folder whose name holds glob characters (``SCANTUI_CACHE_DIR=/tmp/c[1]*``) is a name: every internal
read of the cache passes its paths to polars literally. It was 'expanded paths were empty (... glob: true)' on the
first day split read back (``[1]`` a character class), and ``*`` could match a neighbouring folder's files."""

from __future__ import annotations

import pytest

from clihelp import SAMPLE_DIR, run_captured

CUTS = str(SAMPLE_DIR / "cuts")  # a pcap, a pcapng, an iptables CSV and a LOG: decoded copies, day splits


def outputs(cache) -> list[str]:
    out = []
    for argv in (["rollup", CUTS], ["info", CUTS, "--json"], ["scanners", CUTS, "--json"],
                 ["scanners", CUTS, "--port", "23", "--csv"], ["collab", CUTS, "--json"], ["groups", CUTS, "--json"],
                 ["packets", CUTS, "--port", "23", "--csv"]):
        proc = run_captured([*argv, "--year", "2024"], SCANTUI_CACHE_DIR=str(cache))
        assert proc.returncode == 0, (argv, proc.stderr)
        out.append(proc.stdout.replace(str(cache), "CACHE"))
    return out


@pytest.mark.parametrize("name", ["c[1]", "c*", "c?[!x]"])
def test_a_cache_folder_named_like_a_glob_gives_the_same_outputs(tmp_path, name):
    (tmp_path / "cache").mkdir()  # a neighbour a '*' would match
    plain = outputs(tmp_path / "cache")
    odd = tmp_path / name
    assert outputs(odd) == plain
    assert (odd / "rollups").is_dir() and len(plain[4]) > 2  # built there; candidates found
    assert outputs(odd) == plain  # read back from it
