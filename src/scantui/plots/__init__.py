"""Plot data and plotext figure builders (pure, no Textual).

* ``timing``: the per-IP timing plot as data (:class:`~scantui.plots.timing.TimingGrid`)
  and text rows, drawn by the TUI line by line;
* ``daily``, ``ports``, ``distributions``, ``split``: builders ``name(plt, ..., *, title)``
  that draw on a plotext-like ``plt`` (the ``plotext`` module, or textual-plotext's
  ``PlotextPlot.plt``) without clearing, showing or building it;
* ``bars`` and ``ticks``: what the builders share (bar call sequence, bucketing, round ticks).
"""
