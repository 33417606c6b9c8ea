"""The headless core both front ends call: a :class:`Workspace` over one data set, and a :class:`Task` token.

``Workspace.open(paths, options, telescope)`` owns the data set, its rollup, the
telescope size and the decoded-packet copy, and gives memoized ``overview()``,
``scanners(query)``, ``collab(query)``, ``groups(query, group_query)``,
``track(members)``, ``detail(srcs)`` and ``timing(srcs, ...)`` (see
:mod:`scantui.workspace.core`). Progress and cancellation go through one
:class:`Task` (see :mod:`scantui.workspace.task`): the CLI shows it as a Rich
progress bar on stderr, the TUI as its loading bar, cancelled with its workers.
No Textual and no click here; polars is imported by the calls, not at import.
"""

from scantui.workspace.core import DetailFigures, TelescopeOption, Workspace
from scantui.workspace.task import Cancelled, Task

__all__ = ["Cancelled", "DetailFigures", "Task", "TelescopeOption", "Workspace"]
