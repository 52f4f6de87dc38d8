"""Train an agent: ``python scripts/train.py --algo bc --env lhyrl/Driving-v0 --demos PATH
--seed 0 [--config cfg.yaml] [--epochs 40 ...]``. Same as ``lhyrl train``."""

import sys

from lhyrl.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
