"""Train a text generator on ``lhyrl/TextGen-v0``'s corpus by MLE or SeqGAN, logged to TensorBoard.

Run::

    python scripts/train_text.py --corpus english --algo mle --epochs 30 --seed 0
    python scripts/train_text.py --corpus chinese --algo seqgan --pretrain-epochs 30 --epochs 20
    python scripts/train_text.py --corpus my_sentences.txt --language english --algo mle
    python scripts/train_text.py --resume runs/textgen-english__mle__0__20261127-103000

The corpus is the environment's (chatterbot-corpus English or Chinese, or a UTF-8 text file of
one sentence per line) with its vocabulary, so a trained generator writes in the env's action
space. Every sentence becomes ``--max-length`` ids: its tokens, ``<eos>`` if there is room,
then ``<pad>`` (the fixed-length form of SeqGAN's protocol; the generator starts from
``<bos>``). ``--test-size`` sentences, drawn with the seed, are held out.

The run folder ``<logdir>/textgen-<corpus>__<algo>__<seed>__<time>`` gets TensorBoard events
(``eval/nll_test``: the held-out NLL per token; ``train/nll``; for SeqGAN ``train/reward`` and
``train/disc_accuracy``; ``train/samples``: sampled sentences decoded to text), ``args.json``,
``vocab.json``, a checkpoint (``checkpoint/``, every ``--checkpoint-every`` epochs; ``--resume``
finishes an interrupted run) and the trained trainer ``model.pt`` (written atomically, read
with ``MLE.load`` / ``SeqGAN.load``). The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.logger import Logger, configure

import lhyrl  # noqa: F401  (registers lhyrl/TextGen-v0)
from lhyrl.agents.seqgan import SeqGAN
from lhyrl.agents.sequence_base import MLE
from lhyrl.data.text import BOS_ID, LANGUAGES
from lhyrl.envs.textgen import TextGenEnv
from lhyrl.files import atomic_write_text
from lhyrl.nn import CNNDiscriminatorConfig, RecurrentConfig

ARGS_FILE = "args.json"
MODEL_FILE = "model.pt"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; see the module docstring."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = p.add_argument
    add("--corpus", default="english", help="'english', 'chinese' or a text file's path")
    add("--language", choices=LANGUAGES, help="tokenization of a text file")
    add("--algo", choices=["mle", "seqgan"], default="mle")
    add("--epochs", type=int, default=30, help="MLE epochs, or SeqGAN adversarial epochs")
    add("--pretrain-epochs", type=int, default=20, help="SeqGAN: MLE epochs first")
    add("--disc-pretrain-rounds", type=int, default=3, help="SeqGAN: D rounds before adv.")
    add("--disc-rounds", type=int, default=1, help="SeqGAN: D rounds per adversarial epoch")
    add("--disc-epochs", type=int, default=1, help="SeqGAN: epochs over each D round's data")
    add("--disc-samples", type=int, help="SeqGAN: negatives per D round (default: all data)")
    add("--rollouts", type=int, default=8, help="SeqGAN: Monte Carlo completions N")
    add("--adv-lr", type=float, default=1e-3, help="SeqGAN: policy-gradient learning rate")
    add("--max-length", type=int, default=20, help="tokens per sentence (the env's max_length)")
    add("--min-count", type=int, default=1, help="rarer tokens become <unk>")
    add("--test-size", type=int, default=192, help="held-out sentences (full batches count)")
    add("--batch-size", type=int, default=64)
    add("--lr", type=float, default=1e-2, help="Adam's learning rate of the MLE steps")
    add("--embedding-dim", type=int, default=64)
    add("--hidden-dim", type=int, default=64)
    add("--eval-every", type=int, default=1, help="epochs between eval/nll_test")
    add("--samples-every", type=int, default=5, help="epochs between decoded samples")
    add("--checkpoint-every", type=int, default=5, help="epochs between checkpoints")
    add("--seed", type=int, default=0)
    add("--threads", type=int, default=1, help="torch threads")
    add("--logdir", default="runs", help="parent folder of the run folder")
    add("--resume", type=Path, help="finish the interrupted run in this run folder")
    args = p.parse_args(argv)
    if args.resume is not None:
        saved = args.resume / ARGS_FILE
        if not saved.is_file():
            p.error(f"--resume: {saved} does not exist")
        args = argparse.Namespace(**json.loads(saved.read_text(encoding="utf-8")))
        args.resume = Path(args.run_dir)
    return args


def make_trainer(args: argparse.Namespace, env: TextGenEnv, logger: Logger) -> MLE | SeqGAN:
    """The trainer of ``args.algo`` for the env's vocabulary."""
    vocab_size = env.vocab_size
    common: dict[str, Any] = {
        "vocab_size": vocab_size,
        "seq_len": args.max_length,
        "start_token": BOS_ID,
        "generator_config": RecurrentConfig(
            vocab_size=vocab_size, embedding_dim=args.embedding_dim, hidden_dim=args.hidden_dim
        ),
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "seed": args.seed,
        "logger": logger,
        "decode": lambda ids: env.decode(np.asarray(ids, dtype=np.int64)),
    }
    if args.algo == "mle":
        return MLE(**common)
    default = CNNDiscriminatorConfig(vocab_size=vocab_size)  # SeqGAN's, for T = 20
    widths = zip(default.filter_sizes, default.num_filters, strict=True)
    kept = [(w, n) for w, n in widths if w <= args.max_length]  # no wider than a sentence
    discriminator = CNNDiscriminatorConfig(
        vocab_size=vocab_size,
        filter_sizes=tuple(w for w, _ in kept),
        num_filters=tuple(n for _, n in kept),
    )
    return SeqGAN(
        **common,
        discriminator_config=discriminator,
        n_rollouts=args.rollouts,
        adversarial_learning_rate=args.adv_lr,
        discriminator_rounds=args.disc_rounds,
        discriminator_epochs=args.disc_epochs,
        discriminator_samples=args.disc_samples,
    )


def split(data: np.ndarray, test_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and held-out rows of ``data`` (N, T), the held-out ones drawn with ``seed``."""
    if not 0 < test_size < len(data):
        raise ValueError(f"--test-size must lie in 1 .. {len(data) - 1}, got {test_size}")
    order = np.random.default_rng(seed).permutation(len(data))
    tokens = torch.as_tensor(data, dtype=torch.long)  # (N, T)
    return tokens[order[test_size:]], tokens[order[:test_size]]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train (or finish) one run; returns and prints the summary."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.resume is None:
        corpus_name = (
            Path(args.corpus).stem if args.corpus not in ("english", "chinese") else args.corpus
        )
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(args.logdir) / f"textgen-{corpus_name}__{args.algo}__{args.seed}__{stamp}"
        args.run_dir = str(run_dir)
        args.resume = None
        saved = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        atomic_write_text(run_dir / ARGS_FILE, json.dumps(saved, indent=2) + "\n")
    run_dir = Path(args.run_dir)
    resuming = args.resume is not None

    env = gym.make(
        "lhyrl/TextGen-v0",
        corpus=args.corpus,
        language=args.language,
        max_length=args.max_length,
        min_count=args.min_count,
    ).unwrapped
    assert isinstance(env, TextGenEnv)
    env.vocabulary.save(run_dir / "vocab.json")
    data, test = split(env.corpus.encode(args.max_length), args.test_size, args.seed)  # (N, T)

    logger = configure(str(run_dir), ["tensorboard", "stdout"])
    trainer = make_trainer(args, env, logger)
    checkpoint_dir = run_dir / "checkpoint"
    if resuming:
        trainer.resume(checkpoint_dir)
    else:
        trainer.evaluate(test_data=test)  # the untrained generator, at step 0
    schedule: dict[str, Any] = {
        "test_data": test,
        "eval_every": args.eval_every,
        "log_text_every": args.samples_every,
        "checkpoint_dir": checkpoint_dir,
        "checkpoint_every": args.checkpoint_every,
    }
    start = time.perf_counter()
    if isinstance(trainer, SeqGAN):
        trainer.train(
            data,
            adversarial_epochs=args.epochs,
            pretrain_generator_epochs=args.pretrain_epochs,
            pretrain_discriminator_rounds=args.disc_pretrain_rounds,
            **schedule,
        )
    else:
        trainer.train(data, n_epochs=args.epochs, **schedule)
    seconds = time.perf_counter() - start

    trainer.log_samples(8)
    logger.record("train/epoch", trainer.num_epochs)
    logger.dump(step=trainer.num_updates)
    logger.close()
    trainer.save(run_dir / MODEL_FILE)
    untrained = make_trainer(args, env, Logger(folder=None, output_formats=[]))
    summary = {
        "run_dir": str(run_dir),
        "nll_test": trainer.evaluate(test_data=test, log=False)["nll_test"],
        "nll_test_untrained": untrained.evaluate(test_data=test, log=False)["nll_test"],
        "epochs": trainer.num_epochs,
        "updates": trainer.num_updates,
        "train_seconds": round(seconds, 1),
        "samples": [env.decode(np.asarray(row)) for row in trainer.sample(4).tolist()],
    }
    print(json.dumps(summary, ensure_ascii=False))
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
