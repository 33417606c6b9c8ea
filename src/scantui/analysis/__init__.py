"""Pure polars analyses over the canonical table (no Textual imports)."""
