"""``python -m qslack``."""

from qslack.cli import main

main()
