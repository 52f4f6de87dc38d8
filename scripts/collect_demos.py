"""Record expert demonstrations: ``python scripts/collect_demos.py --env lhyrl/Driving-v0
--episodes 20 --disturbance 0.3 --out runs/demos/driving``. Same as ``lhyrl demos``."""

import sys

from lhyrl.cli import main

if __name__ == "__main__":
    sys.exit(main(["demos", *sys.argv[1:]]))
