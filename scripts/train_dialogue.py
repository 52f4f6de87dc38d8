"""Train a chat model on dialogue pairs (MLE: Li et al. 2016, 2017's first stage), to TensorBoard.

Run::

    python scripts/train_dialogue.py --algo mle --language english --epochs 12 --seed 0
    python scripts/train_dialogue.py --algo mle --language chinese --epochs 20
    python scripts/train_dialogue.py --corpus my_dialogues.jsonl --language english
    python scripts/train_dialogue.py --resume runs/dialogue-english__mle__0__20261127-103000
    lhyrl chat runs/dialogue-english__mle__0__20261127-103000

The data are chatterbot-corpus conversations of ``--language`` or a user's JSONL / TSV file
(``--corpus``; see :mod:`lhyrl.data.dialogue`), split by conversation into train / validation
/ test with ``--seed``, cut into (context, reply) pairs of ``--context-turns`` turns; the
vocabulary is the training split's (tokens seen fewer than ``--min-count`` times become
``<unk>``).

The run folder (``--run-dir``, or ``<logdir>/dialogue-<corpus>__<algo>__<seed>__<time>``)
gets ``args.json``, TensorBoard events (``train/loss``; ``eval/nll``, ``eval/distinct_1``,
``eval/distinct_2``, ``eval/bleu``, ``eval/reply_length`` on the validation split;
``samples/replies``: contexts and the model's replies as text; the hyperparameters as a
table), ``checkpoints/`` (every ``--checkpoint-every`` epochs; ``--resume RUN_DIR`` finishes
an interrupted run exactly), the chat model ``model.pt`` (what ``lhyrl chat RUN_DIR`` talks
through) and ``eval.json`` (the test split's metrics). The last line printed is a JSON
summary.

``--algo`` picks the trainer; each has a function ``train_<algo>`` below.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.logger import Logger, configure
from torch import Tensor

from lhyrl.agents.dialogue import CHECKPOINT_FILE, DialogueMLE, DialogueTrainer, new_chat_model
from lhyrl.data.dialogue import DialogueData, Split
from lhyrl.files import atomic_write_text
from lhyrl.nn.chat_model import ChatModel
from lhyrl.nn.seq2seq import Seq2SeqConfig

ARGS_FILE = "args.json"
MODEL_FILE = "model.pt"
EVAL_FILE = "eval.json"
CHECKPOINTS = "checkpoints"
_TEXT_ONLY = ("stdout", "log", "json", "csv")

Pairs = tuple[Tensor, Tensor]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; see the module docstring."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = p.add_argument
    add("--algo", choices=sorted(ALGORITHMS), default="mle", help="the trainer")
    add("--language", choices=["english", "chinese"], default="english")
    add("--corpus", help="a JSONL or TSV dialogue file (default: chatterbot-corpus)")
    add("--epochs", type=int, default=12)
    add("--context-turns", type=int, default=1, help="turns of history in a context")
    add("--source-len", type=int, default=20, help="context tokens read (the last ones)")
    add("--target-len", type=int, default=20, help="most reply tokens, <eos> included")
    add("--min-count", type=int, default=2, help="rarer tokens become <unk>")
    add("--max-pairs", type=int, help="use only the first N training pairs (smoke tests)")
    add("--embedding-dim", type=int, default=64)
    add("--hidden-dim", type=int, default=64, help="per direction of the encoder")
    add("--attention", choices=["additive", "dot", "none"], default="additive")
    add("--dropout", type=float, default=0.3)
    add("--lr", type=float, default=3e-3, help="Adam's learning rate")
    add("--batch-size", type=int, default=32)
    add("--grad-clip", type=float, default=5.0)
    add("--eval-every", type=int, default=1, help="epochs between eval/* (0: never)")
    add("--checkpoint-every", type=int, default=1, help="epochs between checkpoints")
    add("--seed", type=int, default=0)
    add("--threads", type=int, default=1, help="torch threads")
    add("--logdir", default="runs", help="parent of the run folder (without --run-dir)")
    add("--run-dir", help="the run folder (default: a new one under --logdir)")
    add("--resume", type=Path, metavar="RUN_DIR", help="finish the interrupted run there")
    args = p.parse_args(argv)
    if args.resume is not None:
        saved = args.resume / ARGS_FILE
        if not saved.is_file():
            p.error(f"--resume: {saved} does not exist")
        args = argparse.Namespace(**json.loads(saved.read_text(encoding="utf-8")))
        args.resume = Path(args.run_dir)
    elif args.run_dir is not None and (Path(args.run_dir) / ARGS_FILE).exists():
        p.error(f"--run-dir {args.run_dir} holds a run already; finish it with --resume")
    return args


def load_data(args: argparse.Namespace) -> DialogueData:
    """The run's dialogue pairs and vocabulary."""
    data = DialogueData.load(
        args.corpus or args.language,
        language=args.language,
        seed=args.seed,
        context_turns=args.context_turns,
        min_count=args.min_count,
    )
    if args.max_pairs is not None:
        if args.max_pairs < 1:
            raise ValueError(f"--max-pairs must be at least 1, got {args.max_pairs}")
        data = DialogueData(
            data.train[: args.max_pairs],
            data.validation[: args.max_pairs],
            data.test[: args.max_pairs],
            data.vocabulary,
            data.language,
        )
    return data


def encode(data: DialogueData, split: Split, args: argparse.Namespace) -> Pairs | None:
    """One split as ``(src, tgt)``, or ``None`` if it holds no pair."""
    if not getattr(data, split):
        return None
    return data.encode(split, source_len=args.source_len, target_len=args.target_len)


def build_chat_model(args: argparse.Namespace, data: DialogueData) -> ChatModel:
    """The untrained chat model of the run (its weights drawn from ``--seed``)."""
    config = Seq2SeqConfig(
        vocab_size=len(data.vocabulary),
        embedding_dim=args.embedding_dim,
        hidden_dim=args.hidden_dim,
        attention=args.attention,
        dropout=args.dropout,
    )
    return new_chat_model(
        config=config,
        vocabulary=data.vocabulary,
        language=data.language,
        source_len=args.source_len,
        target_len=args.target_len,
        context_turns=args.context_turns,
        seed=args.seed,
    )


# ------------------------------------------------------------------------------ algorithms


def train_mle(
    args: argparse.Namespace,
    chat_model: ChatModel,
    train: Pairs,
    validation: Pairs | None,
    logger: Logger,
    checkpoints: Path,
) -> DialogueTrainer:
    """Teacher-forced maximum likelihood on the training pairs."""
    trainer = DialogueMLE(
        chat_model=chat_model,
        learning_rate=args.lr,
        grad_clip=args.grad_clip,
        batch_size=args.batch_size,
        seed=args.seed,
        logger=logger,
    )
    if args.resume is not None and (checkpoints / CHECKPOINT_FILE).is_file():
        trainer.resume(checkpoints)
    elif validation is not None:
        trainer.log_samples(validation[0])
        trainer.evaluate(*validation)  # the untrained model, at step 0
    trainer.train(
        *train,
        epochs=args.epochs,
        validation=validation,
        eval_every=args.eval_every,
        checkpoint_dir=checkpoints,
        checkpoint_every=args.checkpoint_every,
    )
    return trainer


ALGORITHMS: dict[str, Callable[..., DialogueTrainer]] = {"mle": train_mle}
"""``--algo`` → its function ``(args, chat_model, train, validation, logger, checkpoints)``."""


# ------------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train (or finish) one run; returns and prints the summary."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.resume is None:
        if args.run_dir is None:
            corpus = Path(args.corpus).stem if args.corpus else args.language
            stamp = time.strftime("%Y%m%d-%H%M%S")
            args.run_dir = str(
                Path(args.logdir) / f"dialogue-{corpus}__{args.algo}__{args.seed}__{stamp}"
            )
        saved = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        atomic_write_text(Path(args.run_dir) / ARGS_FILE, json.dumps(saved, indent=2) + "\n")
    run_dir = Path(args.run_dir)

    data = load_data(args)
    train = data.encode("train", source_len=args.source_len, target_len=args.target_len)
    validation, test = encode(data, "validation", args), encode(data, "test", args)
    logger = configure(str(run_dir), ["tensorboard", "stdout"])
    if args.resume is None:
        table = "\n".join(
            [
                "| argument | value |",
                "|---|---|",
                *(f"| {k} | {v} |" for k, v in vars(args).items()),
            ]
        )
        logger.record("args", table, exclude=_TEXT_ONLY)
    chat_model = build_chat_model(args, data)

    start = time.perf_counter()
    trainer = ALGORITHMS[args.algo](
        args, chat_model, train, validation, logger, run_dir / CHECKPOINTS
    )
    seconds = time.perf_counter() - start

    trainer.save(run_dir / MODEL_FILE)
    held_out = test or validation
    result: dict[str, Any] = {
        "run_dir": str(run_dir),
        "algo": args.algo,
        "language": data.language,
        "corpus": args.corpus or f"chatterbot-corpus/{data.language}",
        "seed": args.seed,
        "pairs": {
            "train": len(data.train),
            "validation": len(data.validation),
            "test": len(data.test),
        },
        "vocabulary": len(data.vocabulary),
        "epochs": trainer.num_epochs,
        "updates": trainer.num_updates,
        "train_seconds": round(seconds, 1),
        "test": None if test is None else trainer.evaluate(*test, prefix="test"),
        "test_beam": None
        if test is None
        else trainer.evaluate(*test, prefix="test_beam", decoding="beam"),
        "samples": []
        if held_out is None
        else [
            {"context": c, "reply": r}
            for c, r in trainer.sample_texts(held_out[0], 6, decoding="beam")
        ],
    }
    logger.close()
    atomic_write_text(run_dir / EVAL_FILE, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
