"""Notes and tags on single sources on the CLI: ``scanners --query tag:/note:/label:/review:``, ``labels sources``,
``labels validate`` (issue 15 part 3)."""

from __future__ import annotations

import json

from clihelp import SAMPLE, run

HOSTILE = "\x1b[31mred\x1b[0m [b]bold[/b] \u202eevil\n$(rm -rf /)"


def _json(capsys, *argv) -> list[dict]:
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def _labels(tmp_path, ips: list[str]) -> str:
    path = tmp_path / "labels.yaml"
    path.write_text(
        "scantui_labels: 1\n"
        "groups:\n"
        f"  - {{id: G01, title: Mirai pool, verdict: collaborative, members: [{ips[2]}, {ips[3]}]}}\n"
        "sources:\n"
        f"  - ip: {ips[0]}\n    tags: [Benign, research]\n    note: university scanner\n"
        f"  - ip: {ips[1]}\n    note: {json.dumps(HOSTILE)}\n"
    )
    return str(path)


def test_scanners_query_reads_source_notes_and_groups(tmp_path, capsys):
    every = [r["src"] for r in _json(capsys, "scanners", SAMPLE)]
    labels = _labels(tmp_path, every[:4])
    q = lambda text: [r["src"] for r in _json(capsys, "scanners", SAMPLE, "--labels", labels, "--query", text)]  # noqa: E731
    assert q("tag:benign") == [every[0]]
    assert q("note:UNIVERSITY") == [every[0]]
    assert q("note:evil") == [every[1]]
    assert q("label:G01") == every[2:4] and q("label:mirai") == every[2:4]
    assert q("review:new") == every[4:]
    assert q("-review:new") == every[:4] and q("review:noted") == every[:2] and q("review:labelled") == every[2:4]
    assert q("tag:benign,research review:reviewed") == [every[0]]
    # the JSON rows are the scanner list's fields, nothing added
    row = _json(capsys, "scanners", SAMPLE, "--labels", labels, "--query", "tag:benign")[0]
    assert set(row) == set(_json(capsys, "scanners", SAMPLE, "--top", "1")[0])


def test_scanners_query_without_a_labels_file_everything_is_new(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./scantui-labels.yaml
    every = [r["src"] for r in _json(capsys, "scanners", SAMPLE)]
    assert [r["src"] for r in _json(capsys, "scanners", SAMPLE, "--query", "review:new")] == every
    assert _json(capsys, "scanners", SAMPLE, "--query", "tag:x") == []


def test_scanners_query_bad_labels_file_is_one_error_line(tmp_path, capsys):
    bad = tmp_path / "labels.yaml"
    bad.write_text("scantui_labels: 1\nsources:\n  - ip: 10.0.0.300\n")
    code, out, err = run(["scanners", SAMPLE, "--labels", str(bad), "--query", "tag:x"], capsys)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"scantui: error: {bad}: line 3: sources[0].ip: bad IP address '10.0.0.300'"]


def test_labels_sources_lists_notes_hostile_text_as_data(tmp_path, capsys):
    labels = _labels(tmp_path, ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"])
    code, out, err = run(["labels", "sources", labels], capsys)
    assert code == 0, err
    assert "\x1b" not in out and "\u202e" not in out and "192.0.2.1" in out and "Benign, research" in out
    assert "[b]bold[/b]" in out  # markup is shown as text, not applied
    rows = _json(capsys, "labels", "sources", labels)
    assert [r["ip"] for r in rows] == ["192.0.2.1", "192.0.2.2"] and rows[1]["note"] == HOSTILE
    assert rows[0]["tags"] == ["Benign", "research"]
    code, out, err = run(["labels", "validate", labels], capsys)
    assert code == 0 and err.strip() == f"{labels}: valid, 1 group, 2 members, 2 source notes"


def test_labels_validate_lists_source_problems_with_lines(tmp_path, capsys):
    path = tmp_path / "labels.yaml"
    path.write_text("scantui_labels: 1\ngroups: []\nsources:\n  - ip: 192.0.2.1\n    tags: [a, a]\n  - tags: [x]\n")
    code, out, err = run(["labels", "validate", str(path)], capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        f"scantui: error: {path}: line 5: sources[0].tags[1]: duplicate of sources[0].tags[0]",
        f"scantui: error: {path}: line 6: sources[1].ip: missing (required)",
    ]


HE = "64.62.156.10"  # a member of the sample's three AS6939 scans (HUR) and so of their suggested group


def test_collab_and_groups_show_the_members_notes_with_labels(tmp_path, capsys, shared_rollup_cache, monkeypatch):
    """``--labels FILE``: a ``notes`` column (noted members and their tags) when some member is noted, and a
    ``notes`` field in every ``--json`` row; the rest of each row as without ``--labels``, tags and notes as data."""
    monkeypatch.setenv("COLUMNS", "200")  # room for every column: the groups table drops some to fit narrower
    from clihelp import SAMPLE_DIR
    from scantui.labels.session import LabelSession
    from test_cli_schemas import valid

    labels = str(tmp_path / "team.yaml")
    LabelSession.open(labels, author="ana").note_sources([HE], tags=["hurricane", "[b]x"], note=HOSTILE)
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text())
    he_scans = {(c["port"], c["day"]) for c in truth["collab_scans"] if HE in c["sources"]}
    assert len(he_scans) == 3
    for cmd in ("collab", "groups"):
        with_notes = _json(capsys, cmd, SAMPLE, "--labels", labels)
        valid(cmd, with_notes)
        assert [{k: v for k, v in r.items() if k != "notes"} for r in with_notes] == _json(capsys, cmd, SAMPLE)
        noted = [r for r in with_notes if r["notes"]]
        assert all(r["notes"] == [{"ip": HE, "tags": ["hurricane", "[b]x"], "note": HOSTILE}] for r in noted)
        if cmd == "collab":
            assert {(r["port"], r["day"]) for r in noted} == he_scans
        else:
            assert len(noted) == 1 and HE in noted[0]["members"] and noted[0]["asns"] == [6939]
        code, out, err = run([cmd, SAMPLE, "--labels", labels], capsys)
        assert code == 0, err
        header = next(line for line in out.splitlines() if "score" in line or "review" in line)
        assert header.split("┃")[-2].strip() == "notes" and "\x1b" not in out
        cells = [line.split("│")[-2].strip() for line in out.splitlines() if line.startswith("│")]
        assert cells.count("1 · [b]x, hurricane") == len(noted) and set(cells) == {"", "1 · [b]x, hurricane"}
        code, out, err = run([cmd, SAMPLE], capsys)
        assert code == 0 and " notes " not in out
