"""The query bars' syntax as the help screens show it: the text lives below the front ends (one for TUI and CLI)."""

from scantui.analysis.query_help import QUERY_HELP, RECORD_QUERY_HELP

__all__ = ["QUERY_HELP", "RECORD_QUERY_HELP"]
