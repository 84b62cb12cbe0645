"""``python main.py``: the REAMO terminal chat (same as ``reamo chat``; arguments as for it)."""

from __future__ import annotations

import sys

from reamo.cli import main

if __name__ == "__main__":
    sys.exit(main(["chat", *sys.argv[1:]]))
