"""Evaluate a trained run: ``python scripts/evaluate.py runs/<run> [--episodes 50]``.
Same as ``lhyrl eval``."""

import sys

from lhyrl.cli import main

if __name__ == "__main__":
    sys.exit(main(["eval", *sys.argv[1:]]))
