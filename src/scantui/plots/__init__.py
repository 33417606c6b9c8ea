"""Plot data and plotext figure builders (pure, no Textual)."""
