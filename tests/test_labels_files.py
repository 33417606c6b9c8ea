"""The labels file as a file: what is refused before parsing (FIFOs, devices, huge files, alias bombs), symlinks."""

from __future__ import annotations

import builtins
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from clihelp import run
from yaml_watch import watch_yaml
from scantui.errors import InputError
from scantui.labels import Group, LabelsStore, check_file
from scantui.labels.store import check_file_sources
from scantui.labels.document import MAX_DEPTH
from scantui.labels.files import MAX_BYTES

GOOD = "scantui_labels: 1\ngroups:\n  - {id: A, verdict: unsure, members: [192.0.2.1]}\n"

BOMB = textwrap.dedent("""\
    scantui_labels: 1
    groups: []
    lol:                     # under a key scantui does not know
      a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
      h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
      i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
    """)


def _validate(path: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    """``scantui labels validate PATH`` in its own process (a hang fails the test instead of blocking it)."""
    return subprocess.run([sys.executable, "-m", "scantui", "labels", "validate", str(path)],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _one_error_line(proc: subprocess.CompletedProcess, path: Path, why: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"scantui: error: {path}: ") and why in proc.stderr


# -- not a regular file, too big ------------------------------------------------------------


def test_a_fifo_with_no_writer_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "labels.yaml"
    os.mkfifo(fifo)
    _one_error_line(_validate(fifo, timeout=20), fifo, "is a FIFO (named pipe), not a labels file")
    with pytest.raises(InputError, match="FIFO"):
        LabelsStore.load(fifo)  # the TUI's way in: the same reader


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    _one_error_line(_validate(Path(device), timeout=20), Path(device), "is a device, not a labels file")


def _opened(monkeypatch) -> list[str]:
    """The paths this process opens from now on (``os.open``, ``open``, ``Path.open``)."""
    opened: list[str] = []

    def watch(real):
        def opening(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)):
                opened.append(os.fsdecode(file))
            return real(file, *args, **kwargs)
        return opening

    monkeypatch.setattr(os, "open", watch(os.open))
    monkeypatch.setattr(io, "open", watch(io.open))
    monkeypatch.setattr(builtins, "open", watch(builtins.open))
    return opened


def test_a_file_over_the_size_bound_is_refused_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "labels.yaml"
    with big.open("wb") as out:  # sparse: costs no disk and no time to make
        out.write(GOOD.encode())
        out.truncate(MAX_BYTES + 1)
    _one_error_line(_validate(big), big, f"too big for a labels file ({(MAX_BYTES + 1) / 2**20:.1f} MiB; the limit is {MAX_BYTES // 2**20} MiB)")
    opened = _opened(monkeypatch)
    for reader in (check_file, check_file_sources, LabelsStore.load):  # the CLI's and the TUI's ways in
        with pytest.raises(InputError, match="too big for a labels file"):
            reader(big)
    monkeypatch.undo()
    assert str(big) not in opened  # refused from its size alone: never opened, so never read
    exactly = tmp_path / "ok.yaml"
    exactly.write_bytes(GOOD.encode() + b"#" * 10)
    assert len(check_file(exactly)[0]) == 1


# -- YAML that must not be expanded -----------------------------------------------------------


def test_an_alias_bomb_is_refused_fast_with_one_line(tmp_path, monkeypatch):
    path = tmp_path / "labels.yaml"
    path.write_text(BOMB)
    composed, constructed = watch_yaml(monkeypatch)
    with pytest.raises(InputError, match="line 4: YAML anchors and aliases"):
        check_file(path)
    # refused at the first anchor (&a, line 4): the nodes above it composed, none after it, nothing built
    assert composed[-1] == (4, "a") and max(line for line, _ in composed) == 4 and constructed == []
    monkeypatch.undo()
    # the CLI: one line (before: MemoryError after 13-45 s; _validate's timeout stops a hang)
    _one_error_line(_validate(path), path, "line 4: YAML anchors and aliases (&name, *name) are not allowed in a labels file")


def test_anchors_aliases_and_merge_keys_are_refused_everywhere(tmp_path, capsys):
    cases = {
        "anchor only": "scantui_labels: 1\ngroups:\n  - &g {id: A, verdict: unsure, members: [192.0.2.1]}\n",
        "alias in a group": "scantui_labels: 1\nx: &ip 192.0.2.1\ngroups:\n  - {id: A, verdict: unsure, members: [*ip]}\n",
        "merge key": "scantui_labels: 1\nbase: &b {verdict: unsure}\ngroups:\n  - {<<: *b, id: A, members: [192.0.2.1]}\n",
    }
    for name, text in cases.items():
        path = tmp_path / f"{name.replace(' ', '-')}.yaml"
        path.write_text(text)
        code, out, err = run(["labels", "validate", str(path)], capsys)
        assert (code, out) == (2, ""), name
        assert err.strip().endswith("YAML anchors and aliases (&name, *name) are not allowed in a labels file"), err
        with pytest.raises(InputError, match="anchors and aliases"):
            LabelsStore.load(path)


def test_a_value_shared_by_two_scans_is_written_twice_not_as_an_alias(tmp_path):
    import datetime as dt

    from scantui.labels import Scan

    day = dt.date(2024, 2, 6)  # one object in both scans: ruamel would anchor it (&id001 ... *id001)
    path = tmp_path / "labels.yaml"
    store = LabelsStore(path)
    store.add(Group("A", verdict="unsure", members=["192.0.2.1"], scans=[Scan(80, day, ("192.0.2.1",)), Scan(81, day, ("192.0.2.1",))]))
    store.save()
    text = path.read_text()
    assert "&" not in text and "*" not in text and text.count("day: 2024-02-06") == 2
    assert LabelsStore.load(path).groups == store.groups


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path, capsys):
    path = tmp_path / "labels.yaml"
    path.write_text("scantui_labels: 1\ngroups: []\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    code, out, err = run(["labels", "validate", str(path)], capsys)
    assert (code, out) == (2, "")
    assert err == f"scantui: error: {path}: line 3: nested deeper than {MAX_DEPTH} levels\n"
    shallow = tmp_path / "shallow.yaml"
    shallow.write_text(GOOD + "x: " + "[" * 20 + "]" * 20 + "\n")
    assert run(["labels", "validate", str(shallow)], capsys)[0] == 0


def test_unknown_top_level_keys_are_kept_verbatim_on_save(tmp_path):
    path = tmp_path / "labels.yaml"
    extra = textwrap.dedent("""\
        team:            # who keeps this file
          owner: alice
          when: 2024-02-30
          odd: [1, 2.5, .nan, .inf, null, true, 2024-01-01T00:00:00Z, !!binary aGk=]
          set: !!set {a, b}
          custom: !thing {x: 1}
          ? [complex, key]
          : 1
        nan: !!float nan
        empty: !!str
        tagged: !thing 1
        """)
    path.write_text("scantui_labels: 1\n" + extra + GOOD.split("\n", 1)[1])
    store = LabelsStore.load(path)
    store.update("A", title="edited")
    assert store.save().written
    text = path.read_text()
    assert extra in text and "title: edited" in text
    assert check_file(path)[1] == []


def test_a_group_with_tagged_unknown_keys_survives_being_written_anew(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("scantui_labels: 1\ngroups:\n  - {id: A, verdict: unsure, members: [192.0.2.1], x-t: !thing 1, x-s: !!str , x-n: .nan}\n")
    store = LabelsStore.load(path)
    group = store.remove("A")
    store.add(group.replace(id="B"))  # a new node for the group: its unknown keys are written from the model
    assert store.save().written
    assert "x-t: !thing 1" in path.read_text()
    assert LabelsStore.load(path).get("B").extra == group.extra


@pytest.mark.parametrize("value, why", [("!!int abc", "cannot read 'abc' as !!int"), ("!!float abc", "cannot read 'abc' as !!float"),
                                        ("!!bool x", "cannot read 'x' as !!bool")])
def test_a_value_its_tag_cannot_read_is_one_line_not_a_traceback(tmp_path, capsys, value, why):
    path = tmp_path / "labels.yaml"
    path.write_text(f"scantui_labels: 1\nk: {value}\ngroups: []\n")
    assert run(["labels", "validate", str(path)], capsys) == (2, "", f"scantui: error: {path}: line 2: {why}\n")


# -- symbolic links --------------------------------------------------------------------------


@pytest.fixture
def linked(tmp_path):
    """``shared/labels.yaml`` and two links to it from two analysts' folders."""
    target = tmp_path / "shared" / "labels.yaml"
    target.parent.mkdir()
    target.write_text(GOOD)
    links = []
    for name in ("alice", "bob"):
        (tmp_path / name).mkdir()
        link = tmp_path / name / "labels.yaml"
        link.symlink_to(os.path.relpath(target, link.parent))
        links.append(link)
    return target, links


def test_edits_through_two_links_land_in_the_target_and_the_links_stay_links(linked):
    target, (alice, bob) = linked
    a = LabelsStore.load(alice)
    b = LabelsStore.load(bob)
    a.update("A", title="from alice")
    assert a.save().written
    b.add(Group("B", verdict="collaborative", members=["192.0.2.2"]))
    result = b.save()
    assert result.written and result.merged  # bob's save saw alice's edit through the shared target
    for link in (alice, bob):
        assert link.is_symlink() and link.resolve() == target.resolve()
        assert not (link.parent / "labels.yaml.bak").exists() and not (link.parent / "labels.yaml.lock").exists()
    assert [(g.id, g.title) for g in LabelsStore.load(target).groups] == [("A", "from alice"), ("B", None)]
    assert (target.parent / "labels.yaml.bak").read_text().count("from alice") == 1  # the version before bob's save
    assert sorted(p.name for p in target.parent.iterdir()) == ["labels.yaml", "labels.yaml.bak", "labels.yaml.lock"]


def test_a_dangling_link_is_created_as_its_target(tmp_path):
    target = tmp_path / "shared" / "labels.yaml"
    target.parent.mkdir()
    link = tmp_path / "labels.yaml"
    link.symlink_to(target)
    store = LabelsStore.load(link)
    store.add(Group("A", verdict="unsure", members=["192.0.2.1"]))
    store.save()
    assert link.is_symlink() and target.is_file() and [g.id for g in LabelsStore.load(link).groups] == ["A"]


_HOLD = textwrap.dedent("""\
    import sys
    from pathlib import Path
    from scantui.labels.files import sidecar
    from scantui.lock import FileLock
    with FileLock(sidecar(Path(sys.argv[1]), ".lock")):
        print("locked", flush=True)
        sys.stdin.read()  # until the test closes our stdin
    """)


def test_the_lock_is_shared_by_processes_using_different_links(linked):
    target, (alice, bob) = linked
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(alice)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        store = LabelsStore.load(bob, lock_timeout=0.3)
        store.update("A", title="from bob")
        with pytest.raises(InputError, match="locked by another writer"):
            store.save()
    finally:
        holder.stdin.close()
        holder.wait(timeout=20)
    assert store.save().written
    assert LabelsStore.load(alice).get("A").title == "from bob"
