"""``--query`` and the day options of ``scanners``, ``collab`` and ``groups`` (issue 14): the TUI's query syntax on the
CLI, read before any data, filtering with the same functions as the TUI's lists."""

from __future__ import annotations

import ipaddress
import json

import pytest

from clihelp import SAMPLE, run


def _json(capsys, *argv) -> list[dict]:
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_scanners_query_is_the_tui_filter_on_the_same_list(capsys):
    every = _json(capsys, "scanners", SAMPLE)
    got = _json(capsys, "scanners", SAMPLE, "--query", "packets>=2000 -tool:zmap src:45.0.0.0/8,80.82.77.0/24")
    nets = [ipaddress.ip_network("45.0.0.0/8"), ipaddress.ip_network("80.82.77.0/24")]
    wanted = [r["src"] for r in every if r["packets"] >= 2000 and r["tool"] != "zmap"
              and any(ipaddress.ip_address(r["src"]) in n for n in nets)]
    assert wanted and [r["src"] for r in got] == wanted  # same order (the list's sort)
    # day: the sources that probed that day are those the day's recount lists
    day = {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--query", "day:2024-02-07")}
    recount = _json(capsys, "scanners", SAMPLE, "--since", "2024-02-07", "--until", "2024-02-07")
    assert day == {r["src"] for r in recount} and 0 < len(day) < len(every)
    assert _json(capsys, "scanners", SAMPLE, "--day", "2024-02-07") == recount
    # with days, port: is of those days (as --port recounts): not a source that probed 443 on another day
    on_443 = {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--day", "2024-02-07", "--port", "443")}
    assert {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--day", "2024-02-07", "--query", "port:443")} == on_443
    assert on_443 < {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--query", "port:443")} & day


def test_scanners_query_port_and_day_count_udp_under_include_udp(capsys):
    """Under --include-udp the list counts UDP probes, so port: and day: match a source by its UDP packets too: a
    source that sent port 53 only UDP is in ``--query port:53`` as in ``--port 53``."""
    with_udp = {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--include-udp", "--port", "53")}
    tcp_only = {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--port", "53")}
    assert len(tcp_only) < len(with_udp)
    got = {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--include-udp", "--query", "port:53")}
    assert got == with_udp
    assert {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--query", "port:53")} == tcp_only
    day = "2024-02-07"
    recount = {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--include-udp", "--day", day)}
    whole = {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--include-udp")}
    assert {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--include-udp", "--query", f"day:{day}")} == recount
    assert recount < whole and recount - {r["src"] for r in _json(capsys, "scanners", SAMPLE, "--day", day)}


def test_scanners_query_cuts_the_table_after_filtering(capsys):
    code, out, err = run(["scanners", SAMPLE, "--query", "tool:zmap", "--top", "3"], capsys)
    assert code == 0, err
    zmaps = [r for r in _json(capsys, "scanners", SAMPLE) if r["tool"] == "zmap"]
    assert f"scanners: 3 of {len(zmaps):,} sources" in out and out.count("zmap") >= 3


def test_collab_day_options_keep_the_candidates_of_the_span(capsys):
    every = _json(capsys, "collab", SAMPLE, "--window", "day")
    span = ("2024-02-05", "2024-02-09")
    wanted = [c for c in every if span[0] <= c["day"] <= span[1]]
    assert 0 < len(wanted) < len(every)
    assert _json(capsys, "collab", SAMPLE, "--window", "day", "--since", span[0], "--until", span[1]) == wanted
    assert _json(capsys, "collab", SAMPLE, "--window", "day", "--day", "..".join(span)) == wanted
    assert _json(capsys, "collab", SAMPLE, "--window", "day", "--query", "seen:" + "..".join(span)) == wanted
    q = _json(capsys, "collab", SAMPLE, "--window", "day", "--query", "port:3306,9200 timing:parallel n>=3")
    assert q == [c for c in every if c["port"] in (3306, 9200) and c["timing"] == "parallel" and c["n_sources"] >= 3]
    code, out, err = run(["collab", SAMPLE, "--window", "day", "--query", "port:3306"], capsys)
    assert code == 0 and f"collab: 2 of {len(every)} candidates" in out


def test_groups_query_and_span(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./scantui-labels.yaml: every group is new
    every = _json(capsys, "groups", SAMPLE)
    got = _json(capsys, "groups", SAMPLE, "--since", "2024-02-13")
    assert [g["group"] for g in got] == [g["group"] for g in every if max(g["days"]) >= "2024-02-13"]
    assert 0 < len(got) < len(every)
    assert [g["group"] for g in _json(capsys, "groups", SAMPLE, "--query", "as:63949")] == [
        g["group"] for g in every if 63949 in g["asns"]]
    labels = tmp_path / "team.yaml"
    labels.write_text("scantui_labels: 1\ngroups:\n  - id: AK01\n    title: Akamai pool\n    verdict: collaborative\n"
                      "    members: [45.79.128.0/24, 139.162.99.12, 139.162.99.203, 172.104.138.0/24]\n")
    for text in ("label:AK01", "label:akamai", "review:same"):
        got = _json(capsys, "groups", SAMPLE, "--labels", str(labels), "--query", text)
        assert [g["asns"] for g in got] == [[63949]], text
    assert len(_json(capsys, "groups", SAMPLE, "--labels", str(labels), "--query", "-label:AK01")) == len(every) - 1
    # tag:/note: match a group when a member's source note does (the labels file's sources:)
    labels.write_text(labels.read_text() + "sources:\n  - ip: 139.162.99.12\n    tags: [linode-pool]\n"
                      "    note: seen on the honeypot too\n")
    for text in ("tag:linode-pool", "note:honeypot"):
        got = _json(capsys, "groups", SAMPLE, "--labels", str(labels), "--query", text)
        assert [g["asns"] for g in got] == [[63949]], text


@pytest.mark.parametrize("argv, says", [
    (["scanners", SAMPLE, "--query", "port:99999"], "--query: port:99999: bad port range '99999'"),
    (["collab", SAMPLE, "--query", "tool:zmap"], "--query: tool:zmap: unknown key 'tool'"),
    (["groups", SAMPLE, "--query", "day:2024-02-30"], "--query: day:2024-02-30: '2024-02-30' is not a day"),
    (["groups", SAMPLE, "--query", 'as:"open'], "--query: unreadable query"),
    (["collab", SAMPLE, "--day", "2024-02-09..2024-02-01"], "--day: 2024-02-09..2024-02-01: the span ends before"),
    (["collab", SAMPLE, "--day", "2024-02-09", "--since", "2024-02-01"], "--day: give --day or --since/--until"),
    (["groups", SAMPLE, "--since", "2024-02-09", "--until", "2024-02-01"], "--since 2024-02-09 is after --until"),
    (["scanners", SAMPLE, "--since", "2024-02-09", "--until", "2024-02-01"], "--since 2024-02-09 is after --until"),
    # a figure only the other list has (the TUI's shared bar skips it there): here it kept every row, silently
    (["groups", SAMPLE, "--query", "n>=500"], "--query: n>=500: groups have no such figure (they compare scans, ips, score)"),
    (["collab", SAMPLE, "--query", "-ips>10"], "--query: -ips>10: candidates have no such figure"),
    # the calendar's edges: Python's date arithmetic overflowed there (an internal error, exit 70)
    (["scanners", SAMPLE, "--query", "day:>9999-12-31"], "--query: day:>9999-12-31: there is no day after 9999-12-31"),
    (["groups", SAMPLE, "--query", "seen:<0001-01-01"], "--query: seen:<0001-01-01: there is no day before 0001-01-01"),
    (["packets", SAMPLE, "--where", "day:>9999-12-31"], "--where: day:>9999-12-31: there is no day after 9999-12-31"),
    (["scanners", SAMPLE, "--since", "9999-12-31T23:00:00-05:00"], "--since: 9999-12-31T23:00:00-05:00 is outside the years 1-9999 in UTC"),
    (["packets", SAMPLE, "--until", "0001-01-01T00:30:00+01:00"], "--until: 0001-01-01T00:30:00+01:00 is outside the years 1-9999 in UTC"),
])
def test_a_bad_query_is_one_line_and_exit_2(capsys, argv, says):
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith("scantui: error: ") and err.count("\n") == 1 and says in err, err
