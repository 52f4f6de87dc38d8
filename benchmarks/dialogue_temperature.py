"""BLEU, self-BLEU and distinct-n of the dialogue benchmark's bots over sampling temperature.

Run from the repository root, after ``benchmarks/dialogue.py`` (nothing is retrained):

    python benchmarks/dialogue_temperature.py --runs-dir runs/bench_dialogue

Caccia et al. 2018 for dialogue: a bot's diversity at greedy decoding says little, because any
model sampled hotter replies more diversely, and worse. Each saved bot of the benchmark (MLE,
RL's first stage (mmi), RL (dialogue-rl) and REGS: the newest finished run of each algorithm
in ``--runs-dir``) replies to every context of its run's evaluation split (the test split) by
sampling at each temperature (seeded, the same seed for every temperature), and greedily as a
reference. Scores: BLEU-4 of each reply against its own reference reply (``paired_bleu``, the
benchmark's BLEU; quality), self-BLEU-4 of the replies (Zhu et al. 2018; lower is more
diverse), distinct-1/2 and the mean reply length.

Writes ``results/dialogue_temperature.json`` (rows, command, time), ``.md`` (table) and
``.png`` (BLEU against self-BLEU); ``--table-only`` rebuilds the last two from the JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch
from common import RESULTS, write_table

from lhyrl.agents.dialogue.base import paired_bleu, reply_tokens
from lhyrl.config import make_config, read_yaml
from lhyrl.files import atomic_write_text
from lhyrl.metrics import SentenceAutoencoder, distinct_n, ms_jaccard, self_bleu
from lhyrl.metrics.aggregate import save_figure
from lhyrl.metrics.distances import frechet_distance
from lhyrl.metrics.quality_diversity import Curve, plot_quality_diversity
from lhyrl.nn.chat_model import ChatModel
from lhyrl.runs import CONFIG_FILE, EVAL_FILE, MODEL_FILE
from lhyrl.runs.dialogue_sim import load_task

NAME = "dialogue_temperature"
ROWS = {"MLE": "mle", "RL stage 1 (MMI)": "mmi", "RL": "dialogue-rl", "REGS": "regs"}
TEMPERATURES = (0.5, 0.7, 0.85, 1.0, 1.2, 1.5)


def finished_runs(runs_dir: Path) -> dict[str, Path]:
    """Each row's newest finished run in ``runs_dir`` (rows without one are left out)."""
    found: dict[str, Path] = {}
    for run_dir in sorted(runs_dir.glob("*__*__*__*")):  # by time: the newest wins
        if (run_dir / MODEL_FILE).is_file() and (run_dir / EVAL_FILE).is_file():
            found[read_yaml(run_dir / CONFIG_FILE)["algo"]] = run_dir
    rows = {row: found[algo] for row, algo in ROWS.items() if algo in found}
    if not rows:
        raise SystemExit(f"{runs_dir}: no finished dialogue run")
    return rows


ENCODERS: dict[bytes, SentenceAutoencoder] = {}
"""One sentence autoencoder per training split (the bots share theirs), fitted once."""


def encoder_for(sentences: list[list[int]]) -> SentenceAutoencoder:
    """The sentence autoencoder fitted on a training split's sentences (seed 0)."""
    key = json.dumps(sentences).encode()
    if key not in ENCODERS:
        t0 = time.perf_counter()
        ENCODERS[key] = SentenceAutoencoder(seed=0).fit(sentences)
        print(
            f"sentence autoencoder: {len(sentences)} sentences, held-out reconstruction "
            f"{ENCODERS[key].reconstruction_accuracy:.3f}, {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    return ENCODERS[key]


def scores(
    replies: list[list[int]], references: list[list[int]], encoder: SentenceAutoencoder
) -> dict[str, float]:
    return {
        "bleu": paired_bleu(replies, references),
        "self_bleu_4": self_bleu([r or [0] for r in replies], 4, max_samples=500, seed=0),
        "distinct_1": distinct_n(replies, 1),
        "distinct_2": distinct_n(replies, 2),
        "ms_jaccard_4": ms_jaccard([r or [0] for r in replies], references, 4),
        "frechet": frechet_distance(encoder(replies), encoder(references)),
        "reply_length": sum(map(len, replies)) / len(replies),
    }


def sweep(run_dir: Path, args: argparse.Namespace) -> tuple[Curve, dict[str, float]]:
    """Rows of one bot (one per temperature) and its greedy replies' scores."""
    config = make_config(read_yaml(run_dir / CONFIG_FILE), use_preset=False)
    model = ChatModel.load(run_dir / MODEL_FILE)
    task = load_task(config, model=model, source=str(run_dir / MODEL_FILE))
    pairs = task.splits[config.dialogue.eval_split]
    if pairs is None:
        raise SystemExit(f"{run_dir}: its evaluation split {config.dialogue.eval_split} is empty")
    src, tgt = pairs  # (N, S), (N, T)
    references = reply_tokens(tgt)
    train = task.splits["train"]
    assert train is not None  # load_task refuses an empty training split
    encoder = encoder_for(reply_tokens(train[1]) + reply_tokens(train[0]))  # replies, contexts
    greedy_replies = reply_tokens(model.generate(src, decoding="greedy").tokens)
    greedy = scores(greedy_replies, references, encoder)
    rows: Curve = []
    for t in args.temperatures:
        generator = torch.Generator().manual_seed(args.seed)
        drawn = model.generate(src, decoding="sample", temperature=t, generator=generator)
        rows.append({"temperature": t, **scores(reply_tokens(drawn.tokens), references, encoder)})
    return rows, {
        "temperature": 0.0,
        **greedy,
        "contexts": float(len(references)),
        "encoder_reconstruction": encoder.reconstruction_accuracy,
    }


def run_sweep(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    runs = finished_runs(Path(args.runs_dir))
    curves: dict[str, dict[str, Any]] = {}
    start = time.perf_counter()
    for name, run_dir in runs.items():
        t0 = time.perf_counter()
        rows, greedy = sweep(run_dir, args)
        curves[name] = {"run_dir": str(run_dir), "rows": rows, "greedy": greedy}
        print(f"{name}: {time.perf_counter() - t0:.0f} s ({run_dir})", flush=True)
        for r in [greedy, *rows]:
            print("   " + "  ".join(f"{k} {v:.3f}" for k, v in r.items()), flush=True)
    record = {
        "command": shlex.join(["python", *sys.argv]),
        "date": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}",
        "seconds": time.perf_counter() - start,
        "threads": args.threads,
        "seed": args.seed,
        "runs_dir": args.runs_dir,
        "curves": curves,
    }
    atomic_write_text(RESULTS / f"{NAME}.json", json.dumps(record, indent=1))
    return record


BLEU_TOLERANCE = 0.01
"""BLEU-4 of 128 replies moves by about this much between neighbouring temperatures."""


def against_sampled_mle(record: dict[str, Any]) -> str:
    """Each bot's greedy replies against MLE sampled as hot as keeps BLEU within the tolerance."""
    curves = record["curves"]
    if "MLE" not in curves:
        return ""
    lines = []
    for name, curve in curves.items():
        g = curve["greedy"]
        close = [r for r in curves["MLE"]["rows"] if r["bleu"] >= g["bleu"] - BLEU_TOLERANCE]
        if not close:
            lines.append(f"- {name} (greedy, BLEU {g['bleu']:.3f}): no sampled MLE point is close.")
            continue
        m = max(close, key=lambda r: r["temperature"])
        lines.append(
            f"- {name}, greedy: BLEU {g['bleu']:.3f}, self-BLEU-4 {g['self_bleu_4']:.3f}, "
            f"distinct-2 {g['distinct_2']:.3f}. MLE sampled at t={m['temperature']:g} (the "
            f"hottest within {BLEU_TOLERANCE} BLEU of it): BLEU {m['bleu']:.3f}, self-BLEU-4 "
            f"{m['self_bleu_4']:.3f}, distinct-2 {m['distinct_2']:.3f}: "
            + (
                "more diverse at about the same BLEU."
                if m["self_bleu_4"] < g["self_bleu_4"] and m["distinct_2"] > g["distinct_2"]
                else "not more diverse."
            )
        )
    return "\n".join(lines)


def closest_to_references(record: dict[str, Any]) -> str:
    """Per bot: the Fréchet distance of its greedy replies and its closest temperature."""
    lines = []
    for name, curve in record["curves"].items():
        g = curve["greedy"]
        best = min(curve["rows"], key=lambda r: r["frechet"])
        hottest = curve["rows"][-1]
        lines.append(
            f"- {name}: Fréchet distance to the reference replies {g['frechet']:.1f} greedy, "
            f"lowest {best['frechet']:.1f} at t={best['temperature']:g} "
            f"(hottest: {hottest['frechet']:.1f} at t={hottest['temperature']:g})."
        )
    return "\n".join(lines)


def report(record: dict[str, Any]) -> Path:
    curves: dict[str, Curve] = {name: c["rows"] for name, c in record["curves"].items()}
    figure = plot_quality_diversity(
        curves,
        x="bleu",
        y="self_bleu_4",
        xlabel="BLEU-4 against the reference replies (quality; higher is better)",
        ylabel="self-BLEU-4 of the replies (lower is more diverse)",
        title="Dialogue bots: quality-diversity over sampling temperature",
    )
    png = save_figure(figure, RESULTS / f"{NAME}.png")
    table = []
    for name, curve in record["curves"].items():
        for r in [curve["greedy"], *curve["rows"]]:
            table.append(
                [
                    name,
                    "greedy" if r["temperature"] == 0.0 else f"{r['temperature']:g}",
                    f"{r['bleu']:.3f}",
                    f"{r['self_bleu_4']:.3f}",
                    f"{r['distinct_1']:.3f}",
                    f"{r['distinct_2']:.3f}",
                    f"{r['ms_jaccard_4']:.3f}",
                    f"{r['frechet']:.2f}",
                    f"{r['reply_length']:.1f}",
                ]
            )
    first = next(iter(record["curves"].values()))["greedy"]
    contexts = int(first["contexts"])
    recon = f"{first['encoder_reconstruction']:.2f} of the tokens"
    runs = "; ".join(f"{n}: `{Path(c['run_dir']).name}`" for n, c in record["curves"].items())
    notes = f"""
{against_sampled_mle(record)}

{closest_to_references(record)}

Each bot is the saved `model.pt` of its run in `{record["runs_dir"]}` (nothing was retrained):
{runs}. Every bot replies to the {contexts:,} contexts of its run's evaluation split, greedily
and by sampling each token from softmax(logits / t) (seed {record["seed"]} at every
temperature). BLEU: corpus BLEU-4 of each reply against its own reference (the benchmark's
`paired_bleu`); self-BLEU-4: of up to 500 replies against each other (lower is more diverse);
distinct-n: distinct n-grams over all n-grams of all replies; MS-Jaccard-4 (Montahaei et al.
2019): how alike the n-gram distributions (n = 1..4) of the replies and the reference replies
are (1 = the same); Fréchet: the Fréchet distance between the replies and the reference replies
in the features of a sentence autoencoder (`lhyrl.metrics.SentenceAutoencoder`: a
bidirectional GRU trained here to reproduce the training split's replies and contexts, its
final state as the features; held-out reconstruction {recon}; 0 = the same distribution);
length: mean tokens before `eos`. One run (seed 0) per bot. Curve: `{Path(png).name}`; rows:
`{NAME}.json`. The sweep:
`{record["command"]}` ({record["date"]}, {record["seconds"]:.0f} s on {record["threads"]}
torch thread(s), beside other jobs).
"""
    return write_table(
        NAME,
        "Dialogue bots over sampling temperature: BLEU, self-BLEU, distinct-n",
        [
            "bot",
            "temperature",
            "BLEU-4",
            "self-BLEU-4",
            "distinct-1",
            "distinct-2",
            "MS-Jaccard-4",
            "Fréchet",
            "length",
        ],
        table,
        notes,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs-dir", default="runs/bench_dialogue", help="dialogue.py's runs")
    p.add_argument("--temperatures", type=float, nargs="+", default=list(TEMPERATURES))
    p.add_argument("--seed", type=int, default=0, help="seeds the sampled replies")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--table-only", action="store_true", help=f"rebuild from {NAME}.json")
    args = p.parse_args()
    if args.table_only:
        record = json.loads((RESULTS / f"{NAME}.json").read_text(encoding="utf-8"))
    else:
        record = run_sweep(args)
    print(report(record).read_text())


if __name__ == "__main__":
    main()
