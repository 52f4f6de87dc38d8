"""Train the chat models ``lhyrl/Dialogue-v0`` ships: forward (the simulated user) and backward.

Run::

    python benchmarks/train_dialogue_user.py                      # about a minute, one thread
    python benchmarks/train_dialogue_user.py --language chinese

Both models are seq2seq with additive attention (embedding 64, LSTM 64 per direction,
bidirectional encoder) trained by teacher-forced MLE (:class:`lhyrl.agents.DialogueMLE`) on
the training split of ``DialogueData.load(language, seed=0, min_count=1, context_turns=1)``
(chatterbot-corpus English words or Chinese characters, split by conversation):

- **forward**: context → reply, ``p(reply | context)``; the env's simulated user, and the
  model the RL agents start from;
- **backward**: reply → context, ``p(context | reply)``; Li et al. (2016)'s semantic-coherence
  reward term.

Each trains for at most ``--max-epochs`` epochs; the epoch with the lowest validation NLL
(per token) is kept, and training stops after ``--patience`` epochs without improvement.
The models go to ``lhyrl/envs/dialogue/weights/<language>_{forward,backward}.pt`` (ChatModel
files, float16 weights) and the table to ``benchmarks/results/dialogue_user.md`` (English) or
``dialogue_user_chinese.md``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from common import write_table

from lhyrl.agents.dialogue import DialogueMLE, new_chat_model
from lhyrl.data.dialogue import DialogueData, TokenizedPair, encode_pairs
from lhyrl.data.text import EOS_ID, LANGUAGES, UNK_ID, Language
from lhyrl.nn.chat_model import ChatModel
from lhyrl.nn.seq2seq import Seq2SeqConfig

WEIGHTS = Path(__file__).resolve().parents[1] / "lhyrl" / "envs" / "dialogue" / "weights"
SOURCE_LEN = TARGET_LEN = 20
PROMPTS: dict[Language, tuple[str, ...]] = {
    "english": ("hi", "how are you?", "what is ai?", "tell me a joke", "do you like music?"),
    "chinese": ("你好", "你好吗?", "什么是ai?", "讲个笑话", "你喜欢音乐吗?"),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--language", choices=LANGUAGES, default="english")
    p.add_argument("--max-epochs", type=int, default=30)
    p.add_argument("--patience", type=int, default=5, help="epochs without improvement")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=WEIGHTS)
    p.add_argument(
        "--min-count", type=int, default=1, help="vocabulary: tokens seen fewer times are <unk>"
    )
    return p.parse_args(argv)


def swap(pairs: Sequence[TokenizedPair]) -> list[TokenizedPair]:
    """Reply → context pairs (the backward model's data)."""
    return [TokenizedPair(pair.reply, pair.context) for pair in pairs]


def train_one(
    name: str,
    data: DialogueData,
    train: Sequence[TokenizedPair],
    validation: Sequence[TokenizedPair],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Train one direction, keep its best epoch, write it; returns its table row's values."""
    vocab = data.vocabulary
    src, tgt = encode_pairs(train, vocab, source_len=SOURCE_LEN, target_len=TARGET_LEN)
    val = encode_pairs(validation, vocab, source_len=SOURCE_LEN, target_len=TARGET_LEN)
    config = Seq2SeqConfig(
        vocab_size=len(vocab),
        embedding_dim=64,
        hidden_dim=64,
        attention="additive",
        dropout=args.dropout,
    )
    chat_model = new_chat_model(
        config=config,
        vocabulary=vocab,
        language=data.language,
        source_len=SOURCE_LEN,
        target_len=TARGET_LEN,
        context_turns=1,
        seed=args.seed,
    )
    trainer = DialogueMLE(
        chat_model=chat_model, learning_rate=args.lr, batch_size=args.batch_size, seed=args.seed
    )
    untrained = trainer.nll(*val)
    best = (untrained, 0, copy.deepcopy(trainer.model.state_dict()))
    start = time.perf_counter()
    for epoch in range(1, args.max_epochs + 1):
        loss = trainer.train_epoch(src, tgt)
        nll = trainer.nll(*val)
        print(f"{name} epoch {epoch}: train loss {loss:.3f}, validation NLL {nll:.3f}", flush=True)
        if nll < best[0]:
            best = (nll, epoch, copy.deepcopy(trainer.model.state_dict()))
        elif epoch - best[1] >= args.patience:
            break
    seconds = time.perf_counter() - start
    trainer.model.load_state_dict(best[2])
    path = chat_model.save(args.out / f"{data.language}_{name}.pt", half=True)
    reloaded = ChatModel.load(path)
    metrics = DialogueMLE(chat_model=reloaded, seed=args.seed).evaluate(*val, log=False)
    assert abs(metrics["nll"] - best[0]) < 1e-2, (metrics["nll"], best[0])  # float16 weights
    samples = [
        (prompt, reloaded.reply([prompt], decoding="beam")) for prompt in PROMPTS[data.language]
    ]
    return {
        "name": name,
        "path": path,
        "untrained": untrained,
        "epoch": best[1],
        "epochs_run": epoch,
        "metrics": metrics,
        "seconds": seconds,
        "megabytes": path.stat().st_size / 2**20,
        "parameters": sum(p.numel() for p in reloaded.model.parameters()),
        "samples": samples,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    data = DialogueData.load(args.language, seed=0, min_count=args.min_count, context_turns=1)
    results = [
        train_one("forward", data, data.train, data.validation, args),
        train_one("backward", data, swap(data.train), swap(data.validation), args),
    ]
    rows = [
        [
            r["name"],
            f"`{r['path'].relative_to(Path(__file__).resolve().parents[1])}`",
            f"{r['untrained']:.3f}",
            f"**{r['metrics']['nll']:.3f}**",
            f"{r['epoch']} of {r['epochs_run']}",
            f"{r['metrics']['distinct_1']:.3f} / {r['metrics']['distinct_2']:.3f}",
            f"{r['metrics']['bleu']:.3f}",
            f"{r['metrics']['reply_length']:.1f}",
            f"{r['parameters']:,} ({r['megabytes']:.2f} MB)",
            f"{r['seconds']:.0f}",
        ]
        for r in results
    ]
    _, train_tgt = data.encode("train", source_len=SOURCE_LEN, target_len=TARGET_LEN)
    words = train_tgt > EOS_ID  # (N, T): neither padding nor <eos>
    unknown = float(((train_tgt == UNK_ID) & words).sum() / words.sum())
    sample_lines = []
    for r in results:
        sample_lines += ["", f"{r['name']} (beam search, 4 beams):", ""]
        sample_lines += [f"- `{prompt}` → `{reply}`" for prompt, reply in r["samples"]]
    english_unk = (
        " (with `min_count=2`, 11.6% are, and the models learn to say `<unk>`)"
        if args.language == "english"
        else ""
    )
    notes = f"""
Data: `DialogueData.load("{args.language}", seed=0, min_count={args.min_count}, context_turns=1)`:
{len(data.train)} training, {len(data.validation)} validation pairs, {len(data.vocabulary)}
tokens; source and target length {SOURCE_LEN}. Model: `Seq2SeqConfig(embedding_dim=64,
hidden_dim=64, attention="additive", dropout={args.dropout})`, bidirectional LSTM encoder.
Training: `DialogueMLE`, Adam lr {args.lr}, batch {args.batch_size}, gradient norm clipped at
5, seed {args.seed}, one CPU thread; the epoch of lowest validation NLL is kept (stopping
{args.patience} epochs after it, at most {args.max_epochs}). NLL is nats per reply token
(`<eos>` included) on the validation split; distinct-n, BLEU-4 (against each context's own
reply, corpus level) and length are of the greedy replies. Wall time is the training loop's.
The backward model reads a reply and scores the context (Li et al. 2016's semantic
coherence). With `min_count={args.min_count}`, {unknown:.1%} of the training replies' tokens
are `<unk>`{english_unk}; weights are stored as float16 to keep the files small.
{chr(10).join(sample_lines)}
"""
    header = [
        "model",
        "file",
        "untrained NLL",
        "validation NLL",
        "best epoch",
        "distinct-1 / -2",
        "BLEU-4",
        "reply length",
        "parameters (file)",
        "train s",
    ]
    path = write_table(
        "dialogue_user" if args.language == "english" else f"dialogue_user_{args.language}",
        f"Dialogue-v0 shipped {args.language} chat models (MLE)",
        header,
        rows,
        notes,
    )
    print(path.read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
