"""Reusable widgets: the virtual table, the per-day plot, the loading bar."""
