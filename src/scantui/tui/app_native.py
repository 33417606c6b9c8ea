"""Native error output while the App runs (see :mod:`scantui.tui.native_stderr`): shown, as data.

A burst (a Rust panic's lines, a C library's message) becomes one warning notification quoting its first
lines, escaped; every line kept is in the palette's ``app: native error output``. A polars panic is also
reported by the step that met it (``polars failed reading the data: ...``); its native text is the detail,
so the notification stays short and points at the full text rather than repeating it all.
"""

from __future__ import annotations

from typing import Any

from scantui.tui.native_stderr import NativeOutput, NativeOutputArrived

SHOWN_LINES = 2  # a panic's "thread ... panicked at PLACE:" and its message
SHOWN_CHARS = 300
RUST_NOTE = "note: run with `RUST_BACKTRACE"  # advice for a Rust developer: kept in the screen, not notified


class NativeOutputMixin:
    """``native_output`` (the sink the driver captures fd 2 with), its notifications, and its screen."""

    native_output: NativeOutput

    def init_native_output(self) -> None:
        self.native_output = NativeOutput(self)

    def on_native_output_arrived(self, message: NativeOutputArrived) -> None:
        lines = [line for line in message.lines if line.strip() and not line.startswith(RUST_NOTE)]
        shown = [line[:SHOWN_CHARS] + ("…" if len(line) > SHOWN_CHARS else "") for line in lines[:SHOWN_LINES]]
        more = len(lines) - len(shown)
        text = "\n".join(shown) + (f"\n… {more} more line{'s' if more != 1 else ''}" if more else "")
        self.notify(f"{text}\n(ctrl+p: app: native error output)", title="native error output", severity="warning",  # type: ignore[attr-defined]
                    timeout=12, markup=False)

    def action_native_output(self) -> None:
        from scantui.tui.screens.native_output import NativeOutputScreen

        self.push_screen(NativeOutputScreen(list(self.native_output.lines), self.native_output.total))  # type: ignore[attr-defined]

    def native_output_commands(self) -> Any:
        yield "app: native error output", "What native code (a Rust panic, a C library) wrote to stderr this session", \
            self.action_native_output
