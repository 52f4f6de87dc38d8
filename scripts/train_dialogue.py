"""Train a chat model on dialogue pairs: MLE, MMI and RL (Li et al. 2016) or REGS (Li 2017).

Run::

    python scripts/train_dialogue.py --algo mle --epochs 12 --seed 0
    python scripts/train_dialogue.py --algo mle --corpus chinese --epochs 20
    python scripts/train_dialogue.py --corpus my_dialogues.jsonl --language english
    python scripts/train_dialogue.py --algo mmi --init runs/lhyrl-Dialogue-v0__mle__0__...
    python scripts/train_dialogue.py --algo dialogue-rl --init runs/lhyrl-Dialogue-v0__mmi__0__...
    python scripts/train_dialogue.py --algo regs --iterations 100
    python scripts/train_dialogue.py --resume runs/lhyrl-Dialogue-v0__mle__0__20261127-103000
    lhyrl chat runs/lhyrl-Dialogue-v0__mle__0__20261127-103000

This is ``lhyrl train --env lhyrl/Dialogue-v0`` (``--algo`` defaults to ``mle``): every flag
is a config key of :mod:`lhyrl.config.dialogue` (``lhyrl train --algo regs --env
lhyrl/Dialogue-v0 --help`` lists them, ``--show-config`` prints the resolved config), the
shipped preset of the algorithm (``lhyrl/presets/<algo>/lhyrl-Dialogue-v0.yaml``: the
settings of ``benchmarks/dialogue.py``) is the starting point, and the run layer
(:mod:`lhyrl.runs.dialogue`) writes the run directory: ``config.yaml``, TensorBoard events,
``progress.csv``, ``checkpoints/checkpoint.pt``, the chat model ``model.pt`` (what ``lhyrl
chat RUN_DIR`` talks through) and ``eval.json`` (the test split's scores, sample replies, the
simulated dialogues with ``lhyrl/Dialogue-v0``'s user and in self-play).

The flags of the former script keep working where a key replaced them one for one
(:data:`RENAMED`), as do its algorithm names ``rl`` (``dialogue-rl``) and ``adversarial``
(``regs``) and ``--reward-weights EASE FLOW COHERENCE``. ``--threads N`` sets torch's
threads (a config key of every run).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

ENV_ID = "lhyrl/Dialogue-v0"
RENAMED = {
    "--lr": "--learning-rate",
    "--logdir": "--runs-dir",
    "--eval-dialogues": "--eval-episodes",
    "--sample-every": "--samples-every",
    "--d-steps": "--discriminator-steps",
    "--g-steps": "--generator-steps",
    "--disc-pretrain-steps": "--pretrain-discriminator-steps",
    "--disc-lr": "--discriminator-learning-rate",
}
"""Flags of the former script → config keys' flags."""
ALGORITHMS = {"rl": "dialogue-rl", "adversarial": "regs"}
"""The former script's algorithm names → ``--algo`` names."""
REWARD_TERMS = ("ease-of-answering", "information-flow", "semantic-coherence")


def translate(argv: Sequence[str]) -> list[str]:
    """``lhyrl`` arguments for this script's ``argv``."""
    args = list(argv)
    if "--resume" in args:
        return ["train", "--resume", args[args.index("--resume") + 1]]
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--reward-weights":  # three floats: ease, flow, coherence
            for term, weight in zip(REWARD_TERMS, args[i + 1 : i + 4], strict=True):
                out += [f"--{term}-weight", weight]
            i += 4
            continue
        out.append(RENAMED.get(arg, arg))
        if arg == "--algo" and i + 1 < len(args):
            out.append(ALGORITHMS.get(args[i + 1], args[i + 1]))
            i += 1
        i += 1
    if "--algo" not in out:
        out = ["--algo", "mle", *out]
    return ["train", "--env", ENV_ID, *out]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lhyrl train`` on ``lhyrl/Dialogue-v0``; returns its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    from lhyrl.cli import main as lhyrl_main

    return lhyrl_main(translate(args))


if __name__ == "__main__":
    sys.exit(main())
