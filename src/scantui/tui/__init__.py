"""The Textual application (``scantui PATH...``); :func:`scantui.tui.launch.run_tui` starts it.

Importing this package (or :mod:`scantui.tui.launch`) imports no Textual.
"""
