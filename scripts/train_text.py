"""Train a text generator on ``lhyrl/TextGen-v0``'s corpus: ``lhyrl train`` under older flag names.

Run::

    python scripts/train_text.py --corpus english --algo mle --epochs 30 --seed 0
    python scripts/train_text.py --corpus chinese --algo seqgan --pretrain-epochs 30 --epochs 50
    python scripts/train_text.py --corpus my_sentences.txt --language english --algo mle
    python scripts/train_text.py --resume runs/lhyrl-TextGen-v0__mle__0__20261127-103000

This is ``lhyrl train --env lhyrl/TextGen-v0 --algo mle`` (the default algorithm here), with
the flags of earlier versions of this script renamed to the config keys (``--lr`` is
``--learning-rate``, ``--pretrain-epochs`` is ``--pretrain-generator-epochs``, ``--rollouts``
is ``--n-rollouts``, ``--logdir`` is ``--runs-dir``, ...; see :data:`RENAMED`); every other flag
of ``lhyrl train`` passes through unchanged. ``--epochs`` counts every epoch of the run, a
SeqGAN run's MLE pretraining included (the second example: 30 MLE epochs, 20 adversarial
ones). Unset keys come from the presets ``lhyrl/presets/{mle,seqgan}/lhyrl-TextGen-v0.yaml``.

The run folder is an ordinary run directory (see :mod:`lhyrl.runs.sequence`): TensorBoard
events (``eval/nll_test``, ``train/nll``, ``samples/text`` decoded to text, SeqGAN's
``train/reward`` and ``train/disc_accuracy``), ``config.yaml``, ``vocab.json``,
``progress.csv``, ``checkpoints/checkpoint.pt`` (``--resume`` finishes an interrupted run),
``model.pt`` (``MLE.load`` / ``SeqGAN.load``) and ``eval.json``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch

from lhyrl.cli import main as lhyrl_main

RENAMED = {
    "--lr": "--learning-rate",
    "--pretrain-epochs": "--pretrain-generator-epochs",
    "--disc-pretrain-rounds": "--pretrain-discriminator-rounds",
    "--disc-rounds": "--discriminator-rounds",
    "--disc-epochs": "--discriminator-epochs",
    "--disc-samples": "--discriminator-samples",
    "--rollouts": "--n-rollouts",
    "--adv-lr": "--adversarial-learning-rate",
    "--logdir": "--runs-dir",
}
"""This script's earlier flag names, and the ``lhyrl train`` flags they now are."""


def lhyrl_argv(argv: Sequence[str]) -> tuple[list[str], int]:
    """The ``lhyrl`` command line for this script's ``argv``, and the torch threads to use.

    ``--threads N`` (default 1) sets torch's threads; every other flag is renamed per
    :data:`RENAMED` or passed on. ``--env lhyrl/TextGen-v0`` and ``--algo mle`` are added unless
    given (a ``--resume`` run reads its own config).
    """
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    known, rest = parser.parse_known_args(argv)
    out = []
    for item in rest:
        flag, eq, value = item.partition("=")
        out.append(RENAMED.get(flag, flag) + eq + value)
    given = {item.partition("=")[0] for item in out}
    if "--resume" not in given:
        out += [] if "--env" in given else ["--env", "lhyrl/TextGen-v0"]
        out += [] if "--algo" in given else ["--algo", "mle"]
        out += ["--threads", str(known.threads)]
    return ["train", *out], known.threads


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lhyrl train`` for this script's command line; returns its exit status."""
    args, threads = lhyrl_argv(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(threads)
    return lhyrl_main(args)


if __name__ == "__main__":
    sys.exit(main())
