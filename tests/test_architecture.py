"""Layering and start-up rules, checked on the source itself.

The layer contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and
run here through import-linter, so the suite fails on an arrow from a lower
layer to a higher one or between the sibling front ends. The AST walk below is
a second, dependency-free check of the rules that matter most: the model
(io, analysis, labels, enrich, plots, sample) and the workspace above it never
import Textual or a front end, the model never imports the workspace, and the
TUI never imports the CLI. Heavy modules are imported lazily so the CLI answers at once.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import scantui

PACKAGE = Path(scantui.__file__).parent
ROOT = Path(__file__).resolve().parents[1]
MODEL_LAYERS = ("io", "analysis", "labels", "enrich", "plots", "sample")
FORBIDDEN = {
    **{layer: ("textual", "scantui.tui", "scantui.cli", "scantui.workspace") for layer in MODEL_LAYERS},
    "workspace": ("textual", "click", "scantui.tui", "scantui.cli"),
    "tui": ("scantui.cli",),
}


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, package_dir: Path = PACKAGE) -> list[str]:
    """Every module *path* imports, relative imports resolved (``from ..io import schema`` in
    ``scantui.sample.generate`` is ``scantui.io`` and ``scantui.io.schema``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _module_name(path, package_dir)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module
            else:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _offenders(package: Path = PACKAGE) -> list[str]:
    offenders = []
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((package / layer).rglob("*.py")):
            for name in _imports(path, package):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    offenders.append(f"{path.relative_to(package)} imports {name}")
    return offenders


def test_model_never_imports_the_ui_and_tui_never_imports_cli():
    offenders = _offenders()
    assert not offenders, offenders


def test_relative_imports_are_resolved():
    path = PACKAGE / "sample" / "generate.py"
    assert "from ..io.schema import" in path.read_text()  # the case this resolves; pick another if it moves
    assert "scantui.io.schema" in _imports(path)


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter on *root*'s contracts and sources (``src/``), not whichever scantui is installed."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))")
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "COLUMNS": "200"}  # its report wraps at the terminal width
    return subprocess.run([sys.executable, "-c", code, str(root / "pyproject.toml")], cwd=root,
                          capture_output=True, text=True, env=env, timeout=120)


def test_layer_contracts_hold():
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_layer_contracts_catch_a_tui_to_cli_import_and_a_relative_upward_import(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "src" / "scantui", tmp_path / "src" / "scantui", ignore=shutil.ignore_patterns("__pycache__"))
    planted = tmp_path / "src" / "scantui"
    with (planted / "tui" / "columns.py").open("a") as f:  # deferred, as the old candidates screen did
        f.write("\n\ndef _planted():\n    from scantui.cli.group_cmds import groups_cmd\n    return groups_cmd\n")
    with (planted / "sample" / "truth.py").open("a") as f:
        f.write("\nfrom ..analysis import collab  # noqa: E402\n")
    with (planted / "analysis" / "detail.py").open("a") as f:  # the model calling up into the workspace
        f.write("\n\ndef _planted():\n    from scantui.workspace import Workspace\n    return Workspace\n")
    with (planted / "workspace" / "memo.py").open("a") as f:  # the workspace calling up into a front end
        f.write("\n\ndef _planted():\n    from ..cli.output import message\n    return message\n")
    done = _lint_imports(tmp_path)
    assert done.returncode != 0
    assert "scantui.tui.columns -> scantui.cli.group_cmds" in done.stdout
    assert "scantui.sample.truth -> scantui.analysis.collab" in done.stdout
    assert "scantui.analysis.detail -> scantui.workspace" in done.stdout
    assert "scantui.workspace.memo -> scantui.cli.output" in done.stdout
    offenders = _offenders(planted)  # the AST walk checks fewer rules: sample -> analysis is the contract's
    assert "tui/columns.py imports scantui.cli.group_cmds" in offenders
    assert "analysis/detail.py imports scantui.workspace" in offenders
    assert "workspace/memo.py imports scantui.cli.output" in offenders
    assert {o.partition(" imports ")[0] for o in offenders} == {"tui/columns.py", "analysis/detail.py", "workspace/memo.py"}


def test_every_module_has_a_docstring():
    missing = [str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*.py")) if ast.get_docstring(ast.parse(p.read_text())) is None]
    assert not missing, missing


def test_cli_help_imports_nothing_heavy():
    code = (
        "import sys; from scantui.cli.main import cli; "
        "heavy = [m for m in ('polars', 'numpy', 'scapy', 'ipinfo', 'textual') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_loading_parquet_does_not_import_scapy(tmp_path):
    code = (
        "import sys, polars as pl; from scantui.io.loader import open_inputs; "
        "from scantui.io.schema import empty_frame; "
        f"empty_frame().write_parquet({str(tmp_path / 'x.parquet')!r}); "
        f"open_inputs([{str(tmp_path / 'x.parquet')!r}]).lf.collect(); "
        "print('scapy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_every_tui_worker_has_a_description():
    """Textual writes a missing ``@work`` description from ``repr()`` of every argument, on the UI
    thread (session 10: ~1.7 s for the candidates' records): each worker names itself instead."""
    bare = []
    for path in sorted((PACKAGE / "tui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for deco in getattr(node, "decorator_list", ()):
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "work":
                    given = {k.arg: k.value for k in deco.keywords}
                    text = given.get("description")
                    if not (isinstance(text, ast.Constant) and isinstance(text.value, str) and text.value):
                        bare.append(f"{path.relative_to(PACKAGE)}:{deco.lineno}")
    assert not bare, f"@work without a description: {bare}"
