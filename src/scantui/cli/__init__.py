"""The command line: a click group whose bare form opens the TUI."""
