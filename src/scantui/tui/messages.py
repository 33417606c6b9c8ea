"""Messages the loading workers post to the App (from their threads; Textual queues them safely), and the time range's."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class LoadProgress(Message):
    """The pipeline moved: *text* says what it does now; *fraction* (0..1) of the whole, None when unknown."""

    def __init__(self, text: str, fraction: float | None) -> None:
        super().__init__()
        self.text = text
        self.fraction = fraction


class StepDone(Message):
    """A pipeline step stored its result on the App's :class:`~scantui.tui.state.DataState`.

    *step* is one of ``inputs``, ``rollup``, ``overview``, ``scanners``, ``collab``, ``groups``.
    """

    def __init__(self, step: str) -> None:
        super().__init__()
        self.step = step


class StepFailed(Message):
    """A pipeline step raised: *text* is one line for a notification; later steps did not run; *path*: the file
    the error names, if any."""

    def __init__(self, step: str, text: str, path: str | None = None) -> None:
        super().__init__()
        self.step = step
        self.text = text
        self.path = path


class FilesArrived(Message):
    """``--follow``: the complete files under the followed paths changed (*first*: the first look)."""

    def __init__(self, files: tuple[str, ...], *, first: bool = False) -> None:
        super().__init__()
        self.files = files
        self.first = first


class LabelsChanged(Message):
    """The labels file changed (a save by this App, an undo, or the first load): *text* says what."""

    def __init__(self, text: str, group_id: str | None = None, conflicts: tuple[str, ...] = (), *,
                 reloaded: bool = False) -> None:
        super().__init__()
        self.text = text
        self.group_id = group_id
        self.conflicts = conflicts
        self.reloaded = reloaded  # another analyst's save, read again


class TimeRangeChanged(Message, bubble=False):
    """The App's time range (``app.time_range``: (first, last) days, None: every day) changed; posted to every
    screen of the current area (not bubbling), so a screen can react with ``on_time_range_changed``; watching
    ``app.time_range`` works as well."""

    def __init__(self, time_range: tuple[Any, Any] | None) -> None:
        super().__init__()
        self.time_range = time_range
