"""Layering and start-up rules, checked on the source itself.

The model (io, analysis, labels, enrich, plots, sample) never imports Textual
or the TUI; heavy modules are imported lazily so the CLI answers at once.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import scantui

PACKAGE = Path(scantui.__file__).parent
MODEL_LAYERS = ("io", "analysis", "labels", "enrich", "plots", "sample")
FORBIDDEN_IN_MODEL = ("textual", "scantui.tui", "scantui.cli")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_model_layers_never_import_the_ui():
    offenders = []
    for layer in MODEL_LAYERS:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for name in _imports(path):
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_MODEL):
                    offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not offenders, offenders


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
