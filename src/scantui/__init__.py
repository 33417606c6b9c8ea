"""scantui: a terminal investigation tool for Internet-wide scanning.

Layers: ``io`` (loaders -> canonical LazyFrame), ``analysis`` (pure polars),
``enrich``, ``labels``, ``plots``, ``tui`` and ``cli``. Data flows one way:
files -> canonical table -> rollups -> views.
"""

__version__ = "0.1.0"
