"""Loaders: every accepted input format -> the canonical packet table.

``open_inputs`` (in :mod:`scantui.io.loader`) is the entry point; each format
module turns one file into a polars LazyFrame with the canonical schema of
:mod:`scantui.io.schema` and records what it skipped in a
:class:`scantui.io.stats.LoadStats`.
"""
