"""SeqGAN's synthetic-data experiment (Yu et al. 2017, Table 1) on the paper's oracle LSTM.

Run: ``python benchmarks/seqgan_synthetic.py`` (``--quick`` for a smoke run of a few minutes).

Protocol (``lhyrl.nn.oracle``'s docstring): 9,984 oracle samples of 20 tokens are the
training data; every row's generator is an LSTM with embedding and state of size 32; NLL-oracle
is the oracle's mean per-token NLL of the generator's samples at temperature 1, averaged over
full batches of 64. NLL-test is the generator's NLL of held-out oracle samples.

Every row is an ordinary run of the run layer (``lhyrl.runs.train_run``) on
``lhyrl/SeqGen-v0`` with the shipped presets (``lhyrl/presets/<algo>/lhyrl-SeqGen-v0.yaml``),
so the command line trains the same rows: ``lhyrl train --algo mle --env lhyrl/SeqGen-v0``
is the MLE row, and ``lhyrl train --algo seqgan --env lhyrl/SeqGen-v0 --init RUN_DIR``, with
the MLE run's directory, the SeqGAN row. The flags below override the presets' keys.

Rows: Random (the MLE run's config with 0 epochs: the untrained generator), MLE, then three
rows that start from the MLE run's generator (``init``): Scheduled Sampling (more epochs with a
growing probability of feeding its own tokens), PG-BLEU (REINFORCE with a BLEU-4 reward) and
SeqGAN (discriminator pretraining, then adversarial epochs). Wall times are per row ("own": its
run's ``train_seconds``) and including the shared MLE pretraining ("total"), also as ratios to
the MLE row. Run directories go to ``--logdir``; samples of each row to
``results/seqgan_synthetic/samples_<row>.txt`` (the first 2,048 of the sequences its NLL-oracle
scored, one sequence of token ids per line), the table to ``results/seqgan_synthetic.md``.

``--rows`` runs only some rows (MLE is always trained; a partial run only prints its rows).
``--reuse`` looks in ``--logdir`` for a run of each row's exact config: a finished one is only
read, an interrupted one is resumed, so an interrupted benchmark continues and a later
``--rows SeqGAN --reuse`` run reuses the finished MLE run.

At the end (not with ``--quick`` or ``--rows``) it sweeps the saved generators of the rows
over sampling temperature (NLL-oracle against NLL-test, Caccia et al. 2018) and says whether
SeqGAN's curve lies below MLE's (``results/seqgan_quality_diversity.md``, ``.png``);
``python benchmarks/seqgan_quality_diversity.py --runs-dir <logdir>`` does the same without
retraining.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from common import RESULTS, write_table
from seqgan_quality_diversity import report as quality_diversity_report
from seqgan_quality_diversity import run_sweep as run_quality_diversity

from lhyrl.config import RunConfig, make_config, read_yaml
from lhyrl.files import atomic_write_text
from lhyrl.metrics import distinct_n, nll_oracle, nll_test
from lhyrl.metrics.quality_diversity import DEFAULT_TEMPERATURES
from lhyrl.runs import CONFIG_FILE, EVAL_FILE, MODEL_FILE, train_run
from lhyrl.runs.sequence import DATA_SEED_OFFSET, TRAINERS, evaluation_samples, load_task

ENV = "lhyrl/SeqGen-v0"
PAPER = {
    "Random": 10.310,
    "MLE": 9.038,
    "Scheduled Sampling": 8.985,
    "PG-BLEU": 8.946,
    "SeqGAN": 8.736,
}
ALGO = {
    "MLE": "mle",
    "Scheduled Sampling": "scheduled-sampling",
    "PG-BLEU": "pg-bleu",
    "SeqGAN": "seqgan",
}
"""Each trained row's ``--algo``."""
ROWS = tuple(ALGO)
SAVED_SAMPLES = 2048


@dataclass
class Row:
    name: str
    nll_oracle: float
    nll_test: float
    distinct_4: float
    own_seconds: float
    total_seconds: float


def slug(name: str) -> str:
    return name.lower().replace(" ", "_").replace("-", "_")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = p.add_argument
    add("--mle-epochs", type=int, help="MLE epochs (shared pretraining)")
    add("--mle-lr", type=float, help="MLE's learning rate (Adam)")
    add("--mle-decay-epochs", type=int, help="last MLE epochs at a lower rate")
    add("--mle-decay-factor", type=float, help="their learning-rate multiplier")
    add("--ss-epochs", type=int, help="scheduled-sampling epochs after MLE (the ramp: all)")
    add("--ss-max-prob", type=float, help="largest probability of own tokens")
    add("--ss-lr", type=float, help="scheduled sampling's learning rate")
    add(
        "--ss-continue-optimizer",
        action=argparse.BooleanOptionalAction,
        help="start SS from MLE's Adam moments (else a fresh Adam)",
    )
    add("--pg-epochs", type=int, help="PG-BLEU updates (batches of 64) after MLE")
    add("--adv-epochs", type=int, help="SeqGAN adversarial epochs after MLE")
    add("--rollouts", type=int, help="SeqGAN Monte Carlo completions N")
    add("--disc-pretrain-rounds", type=int, help="D rounds before adversarial epochs")
    add("--disc-rounds", type=int, help="D rounds of fresh negatives per adv. epoch")
    add("--disc-epochs", type=int, help="epochs over each D round's data")
    add("--disc-samples", type=int, help="negatives per D round in adv. epochs")
    add("--pg-lr", type=float, help="PG-BLEU's learning rate (Adam)")
    add("--adv-lr", type=float, help="SeqGAN's policy-gradient learning rate")
    add("--eval-samples", type=int, help="samples scored by the oracle (>= 2048)")
    add("--eval-every", type=int, help="epochs between TensorBoard evaluations")
    add("--train-size", type=int, help="oracle samples to train on")
    add("--test-size", type=int, help="held-out oracle samples")
    add("--threads", type=int, default=2, help="torch threads")
    add("--rows", nargs="+", choices=ROWS, default=list(ROWS), help="rows to run (MLE always)")
    add("--reuse", action="store_true", help="reuse or resume runs of the same config")
    add("--checkpoint-dir", default="", help="(earlier versions) non-empty: same as --reuse")
    add("--checkpoint-every", type=int, help="epochs between checkpoints")
    add("--seed", type=int, default=0)
    add("--logdir", default="runs", help="where the run directories go")
    add("--oracle", help="'seqgan' (the paper's, shipped) or an .npz file")
    add("--quick", action="store_true", help="a tiny smoke run (a few minutes)")
    args = p.parse_args()
    args.reuse = args.reuse or bool(args.checkpoint_dir)
    if args.quick:
        args.mle_epochs, args.ss_epochs, args.pg_epochs, args.adv_epochs = 3, 1, 3, 3
        args.mle_decay_epochs = 1
        args.rollouts, args.disc_pretrain_rounds, args.disc_samples = 4, 1, 512
        args.eval_samples, args.test_size, args.eval_every = 2048, 2048, 1
    if args.eval_samples is not None and args.eval_samples < SAVED_SAMPLES:
        p.error(f"--eval-samples must be at least {SAVED_SAMPLES}")
    return args


FLAG_KEYS: dict[str, dict[str, str]] = {
    "all": {
        "oracle": "oracle",
        "train_size": "train_size",
        "test_size": "test_size",
        "eval_samples": "eval_episodes",
        "eval_every": "eval_every",
        "checkpoint_every": "checkpoint_every",
    },
    "MLE": {
        "mle_epochs": "epochs",
        "mle_lr": "learning_rate",
        "mle_decay_epochs": "decay_epochs",
        "mle_decay_factor": "decay_factor",
    },
    "Scheduled Sampling": {
        "ss_epochs": "epochs",
        "ss_max_prob": "sampling_max_probability",
        "ss_lr": "learning_rate",
        "ss_continue_optimizer": "init_optimizer",
    },
    "PG-BLEU": {"pg_epochs": "epochs", "pg_lr": "learning_rate"},
    "SeqGAN": {
        "adv_epochs": "epochs",
        "rollouts": "n_rollouts",
        "disc_pretrain_rounds": "pretrain_discriminator_rounds",
        "train_size": "pretrain_discriminator_samples",
        "disc_rounds": "discriminator_rounds",
        "disc_epochs": "discriminator_epochs",
        "disc_samples": "discriminator_samples",
        "adv_lr": "adversarial_learning_rate",
    },
}
"""The benchmark's flags (``args`` attributes) → config keys: for every row, and per row."""


def row_values(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Each row's config keys beyond its preset: the flags given."""

    def given(row: str) -> dict[str, Any]:
        pairs = ((key, getattr(args, flag)) for flag, key in FLAG_KEYS[row].items())
        return {key: value for key, value in pairs if value is not None}

    rows = {}
    for row, algo in ALGO.items():
        rows[row] = {"env": ENV, "seed": args.seed, "runs_dir": args.logdir, "algo": algo}
        rows[row].update(given("all"), **given(row))
    if args.ss_epochs is not None:  # the ramp: all of the epochs
        rows["Scheduled Sampling"]["sampling_ramp_epochs"] = max(1, args.ss_epochs - 1)
    return rows


def run(config: RunConfig, reuse: bool) -> Path:
    """Train ``config`` (with ``reuse``: read a finished run of it, or resume an unfinished one)."""
    if reuse:
        env = config.env.replace("/", "-")
        pattern = f"{env}__{config.algo}__{config.seed}__*"
        for run_dir in sorted(Path(config.runs_dir).glob(pattern), reverse=True):
            saved = run_dir / CONFIG_FILE
            if saved.is_file() and read_yaml(saved) == config.to_dict():
                if (run_dir / EVAL_FILE).is_file():
                    print(f"{config.algo}: reusing the finished run {run_dir}", flush=True)
                    return run_dir
                print(f"{config.algo}: resuming {run_dir}", flush=True)
                return train_run(resume=run_dir)
    return train_run(config)


def scored(name: str, run_dir: Path, mle_seconds: float, save_samples: bool) -> Row:
    """The row of a finished run, from its eval.json; writes its first 2,048 evaluation samples."""
    result = json.loads((run_dir / EVAL_FILE).read_text(encoding="utf-8"))
    own = float(result["train_seconds"]) if name != "Random" else 0.0
    total = own + (mle_seconds if name not in ("Random", "MLE") else 0.0)
    row = Row(name, result["nll_oracle"], result["nll_test"], result["distinct_4"], own, total)
    if save_samples:
        config = make_config(read_yaml(run_dir / CONFIG_FILE), use_preset=False)
        trainer = TRAINERS[config.algo].load(run_dir / MODEL_FILE)
        samples = evaluation_samples(
            trainer.generator,
            result["eval_samples"],
            seq_len=trainer.seq_len,
            start_token=trainer.start_token,
            seed=result["eval_seed"],
        )[:SAVED_SAMPLES]  # (2048, T): the first of the sequences NLL-oracle scored
        lines = "\n".join(" ".join(map(str, seq)) for seq in samples.tolist())
        atomic_write_text(RESULTS / "seqgan_synthetic" / f"samples_{slug(name)}.txt", lines + "\n")
    print(
        f"{name:20s} NLL-oracle {row.nll_oracle:.3f}  NLL-test {row.nll_test:.3f}  "
        f"own {own:.0f} s  total {total:.0f} s  ({run_dir})",
        flush=True,
    )
    return row


def references(config: RunConfig) -> list[Row]:
    """The oracle's own samples and uniformly random tokens, scored like the rows."""
    task = load_task(config)
    assert task.oracle is not None
    rng = torch.Generator().manual_seed(config.eval_seed)
    n, length = config.eval_episodes, task.seq_len
    reference = task.oracle.sample(n, length, start_token=task.start_token, generator=rng)
    uniform = torch.randint(task.vocab_size, (n, length), generator=rng)  # (n, T)
    start = task.start_token
    return [
        Row(
            "Oracle (reference)",
            nll_oracle(task.oracle, reference, start_token=start),
            nll_test(task.oracle, task.test, start_token=start),
            distinct_n(reference[:SAVED_SAMPLES], 4),
            0.0,
            0.0,
        ),
        Row(
            "Uniform tokens (reference)",
            nll_oracle(task.oracle, uniform, start_token=start),
            float("nan"),
            distinct_n(uniform[:SAVED_SAMPLES], 4),
            0.0,
            0.0,
        ),
    ]


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    values = row_values(args)
    full = set(args.rows) == set(ROWS)  # a partial run writes no results, only prints them
    configs = {"MLE": make_config(values["MLE"])}
    rows = references(configs["MLE"])

    random_dir = run(make_config({**values["MLE"], "epochs": 0}), args.reuse)
    mle_dir = run(configs["MLE"], args.reuse)
    mle_seconds = float(json.loads((mle_dir / EVAL_FILE).read_text())["train_seconds"])
    rows.append(scored("Random", random_dir, mle_seconds, full))
    rows.append(scored("MLE", mle_dir, mle_seconds, full))
    for name in ROWS[1:]:
        if name in args.rows:
            configs[name] = make_config({**values[name], "init": str(mle_dir)})
            rows.append(scored(name, run(configs[name], args.reuse), mle_seconds, full))
    if full:
        write(rows, args, configs, mle_seconds)
        if not args.quick:  # the rows over sampling temperature (seqgan_quality_diversity.py)
            sweep = argparse.Namespace(
                runs_dir=args.logdir,
                temperatures=list(DEFAULT_TEMPERATURES),
                samples=9984,
                self_bleu_samples=256,
                threads=args.threads,
            )
            print(quality_diversity_report(run_quality_diversity(sweep)).read_text())
    else:
        print("A partial run (--rows): results/seqgan_synthetic.md is left as it was.")


def write(
    rows: list[Row], args: argparse.Namespace, configs: dict[str, RunConfig], mle_time: float
) -> None:
    table = [
        [
            r.name,
            f"{r.nll_oracle:.3f}",
            f"{PAPER[r.name]:.3f}" if r.name in PAPER else "-",
            "-" if r.nll_test != r.nll_test else f"{r.nll_test:.3f}",
            f"{r.distinct_4:.3f}",
            *(
                [
                    f"{r.own_seconds:,.0f}",
                    f"{r.total_seconds:,.0f}",
                    f"{r.total_seconds / mle_time:.2f}" if mle_time > 0 else "-",
                ]
                if r.total_seconds > 0
                else ["-", "-", "-"]
            ),
        ]
        for r in rows
    ]
    mle, ss, pg, gan = (configs[name].to_dict() for name in ROWS)
    quick = " This is a --quick smoke run: far too short to mean anything." if args.quick else ""
    ss_optimizer = "continuing MLE's Adam moments" if ss["init_optimizer"] else "a fresh Adam"
    notes = f"""
NLL-oracle: {mle["eval_episodes"]} samples per row at temperature 1 (seed {mle["eval_seed"]}),
the oracle's mean per-token NLL over full batches of 64 (lower is better; the oracle's own
samples score about 5.75). "Uniform tokens" scores tokens drawn uniformly at random: the
untrained generator (Random) is that close to uniform, and the paper's Random (10.310) lies
below what uniform tokens score, so no generator that knows nothing of the oracle can reach it;
that row is a reference point. NLL-test: the generator's NLL of {mle["test_size"]} held-out
oracle samples. distinct-4: unique 4-grams / all 4-grams of 2,048 samples (a collapsed
generator scores near 0). Training data: {mle["train_size"]} oracle samples (seed
{DATA_SEED_OFFSET + args.seed}). "own s" is the row's training time after the shared MLE
pretraining, "total s" includes it; "x MLE" is total / MLE time. Times include the periodic
evaluations (every {mle["eval_every"]} epochs; PG-BLEU every {pg["eval_every"]}). {args.threads}
torch threads. Every row is a run of `lhyrl train` (lhyrl/presets/<algo>/lhyrl-SeqGen-v0.yaml);
the rows after MLE start from the MLE run's generator (`--init`).

Schedule: MLE {mle["epochs"]} epochs (Adam {mle["learning_rate"]}, batch {mle["batch_size"]},
clip 5), the last {mle["decay_epochs"]} at {mle["decay_factor"]} x that rate (a step decay: at
a constant 0.01, NLL-oracle plateaus near 9.02 by epoch 25 and wanders by +-0.015 from epoch
to epoch; a few epochs at a tenth of the rate settle it). Scheduled
Sampling: {ss["epochs"]} more epochs (Adam {ss["learning_rate"]}, {ss_optimizer}: the MLE run
continued with a second step of the decay), own-token probability rising linearly from 0 to
{ss["sampling_max_probability"]} (a slow ramp, like the 0.002 per epoch of the SeqGAN authors'
SS code; to 0.1 in 4 epochs it raised NLL-oracle by 0.01 at Adam 1e-4 and by 0.03 at 1e-3).
PG-BLEU: {pg["epochs"]} REINFORCE updates of {pg["batch_size"]} samples, BLEU-{pg["bleu_order"]}
reward against the training data, batch-mean baseline, Adam {pg["learning_rate"]}. SeqGAN:
{gan["pretrain_discriminator_rounds"]} discriminator rounds on
{gan["pretrain_discriminator_samples"]} fresh negatives ({gan["discriminator_epochs"]} epoch
each), then {gan["epochs"]} adversarial epochs, each {gan["generator_steps"]} policy-gradient
update (N = {gan["n_rollouts"]} rollouts by a rollout network with delay
{gan["rollout_delay"]}, Adam {gan["adversarial_learning_rate"]}) and
{gan["discriminator_rounds"]} discriminator round(s) of {gan["discriminator_epochs"]} epoch(s)
on {gan["discriminator_samples"]} fresh negatives and as many real sequences (the paper: 5
rounds of 3 epochs on 10,000 per adversarial epoch). Samples:
results/seqgan_synthetic/samples_<row>.txt, 2,048 per row. The PG-BLEU and SeqGAN schedules
were chosen from short exploratory runs on another training set (data seed 1000); the SS ramp
from a few runs on this one, scored by NLL-oracle (a fixed number of epochs; no row picks its
best epoch by NLL-oracle). The MLE and SeqGAN budgets (25 and 15 epochs, SeqGAN's Adam 0.02)
were chosen by one run of each with `--seed 1` (its own training data and initial weights) to
fit issue 18's goal, the SeqGAN row in 20 minutes, MLE included, at NLL-oracle 8.70 or
less.{quick}
"""
    path = write_table(
        "seqgan_synthetic",
        "SeqGAN synthetic experiment (Table 1 of Yu et al. 2017) on the paper's oracle",
        ["row", "NLL-oracle", "paper", "NLL-test", "distinct-4", "own s", "total s", "x MLE"],
        table,
        notes,
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
