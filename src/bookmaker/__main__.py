"""Run the command line interface as ``python -m bookmaker``."""

from bookmaker.cli import main

main()
