"""``python -m scantui`` runs the command line."""

from scantui.cli.main import main

main()
