"""The main job: demonstrations, BC, DAgger and a results table. Same as ``lhyrl demo``."""

import sys

from lhyrl.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
