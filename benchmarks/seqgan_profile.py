"""Where the SeqGAN row's time goes: MLE epochs, Monte Carlo rollouts, discriminator rounds.

Run: ``python benchmarks/seqgan_profile.py`` (about 3 minutes on one core).

Issue 18 asks for the SeqGAN row of ``seqgan_synthetic.py`` (MLE pretraining included) in 20
minutes, and for a profile of its parts first. This trains, under cProfile and with the shipped
presets of ``lhyrl/SeqGen-v0``, a few MLE epochs and then a few SeqGAN adversarial epochs from
that generator, and splits the adversarial epoch into its parts by the cumulative time of the
functions that do them:

- Monte Carlo rollouts: ``SequenceGenerator.monte_carlo_completions`` (sampling the N
  completions of every prefix with the rollout network);
- scoring the completions: ``SeqGAN.discriminator_rewards`` (the discriminator on every
  completion and on the sampled sequences);
- the policy-gradient update: the rest of ``SeqGAN.policy_step`` (sampling the batch, its
  log-probabilities, the backward pass and Adam);
- discriminator rounds: ``SeqGAN.train_discriminator`` (sampling the negatives, the
  discriminator's epochs);
- the rest (rollout-network update, logging).

Evaluations are left out (``eval_every`` past the run), as is the one discriminator
pretraining round. The table gives seconds per epoch of each part, its share of an adversarial
epoch, and what the row's schedule (the presets' epochs) makes of the parts: the share of
the row's total time each one takes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

import torch
from common import write_table

from lhyrl.config import make_config, preset_file, read_yaml
from lhyrl.runs import train_run

ENV = "lhyrl/SeqGen-v0"


def cumulative(stats: pstats.Stats, function: str) -> float:
    """Total cumulative seconds of every function of that name (outermost calls only)."""
    total = 0.0
    for (_, _, name), (_, _, _, cum, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name == function and not any(caller[2] == function for caller in callers):
            total += cum
    return total


def profiled(values: dict) -> tuple[Path, pstats.Stats, float]:
    """Train one run under cProfile; its directory, the statistics and the wall time."""
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    run_dir = train_run(make_config(values))
    profiler.disable()
    return run_dir, pstats.Stats(profiler), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mle-epochs", type=int, default=2)
    parser.add_argument("--adversarial-epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    mle_preset = read_yaml(Path(str(preset_file("mle", ENV))))
    seqgan_preset = read_yaml(Path(str(preset_file("seqgan", ENV))))
    with tempfile.TemporaryDirectory() as runs_dir:
        common = {"env": ENV, "seed": 0, "runs_dir": runs_dir, "threads": args.threads}
        mle_dir, mle_stats, _ = profiled(
            {**common, "algo": "mle", "epochs": args.mle_epochs, "eval_every": 0}
        )
        mle_epoch = cumulative(mle_stats, "mle_epoch") / args.mle_epochs
        # a reference run of 0 adversarial epochs: data, discriminator pretraining, saving
        _, setup_stats, setup_seconds = profiled(
            {**common, "algo": "seqgan", "init": str(mle_dir), "epochs": 0, "eval_every": 0}
        )
        _, stats, seqgan_seconds = profiled(
            {
                **common,
                "algo": "seqgan",
                "init": str(mle_dir),
                "epochs": args.adversarial_epochs,
                "eval_every": 0,
            }
        )
    pretrain = cumulative(stats, "train_discriminator")
    # the set-up: what a run of 0 epochs spends besides its final evaluation
    setup_seconds -= cumulative(setup_stats, "evaluate")
    epochs = args.adversarial_epochs
    # train_discriminator's calls include the pretraining round: the set-up run's
    pretrain_round = cumulative(setup_stats, "train_discriminator")
    parts = {}
    rollouts = cumulative(stats, "monte_carlo_completions") / epochs
    scoring = cumulative(stats, "discriminator_rewards") / epochs
    policy = cumulative(stats, "policy_step") / epochs
    parts["Monte Carlo rollouts"] = rollouts
    parts["scoring completions (discriminator)"] = scoring
    parts["policy-gradient update"] = policy - rollouts - scoring
    parts["discriminator rounds"] = (pretrain - pretrain_round) / epochs
    adversarial_epoch = (seqgan_seconds - cumulative(stats, "evaluate") - setup_seconds) / epochs
    parts["other (rollout-network update, logging)"] = adversarial_epoch - sum(parts.values())
    mle_epochs = int(mle_preset["epochs"])
    adv_epochs = int(seqgan_preset["epochs"])
    row_total = mle_epochs * mle_epoch + setup_seconds + adv_epochs * adversarial_epoch
    rows = [
        [
            "MLE epoch (pretraining)",
            f"{mle_epoch:.2f}",
            "-",
            f"{mle_epochs}",
            f"{mle_epochs * mle_epoch / row_total:.0%}",
        ]
    ]
    rows.append(
        [
            "SeqGAN set-up (data, 1 discriminator pretraining round, saving)",
            f"{setup_seconds:.2f}",
            "-",
            "1",
            f"{setup_seconds / row_total:.0%}",
        ]
    )
    for name, seconds in parts.items():
        rows.append(
            [
                f"adversarial epoch: {name}",
                f"{seconds:.2f}",
                f"{seconds / adversarial_epoch:.0%}",
                f"{adv_epochs}",
                f"{adv_epochs * seconds / row_total:.0%}",
            ]
        )
    notes = (
        f"Seconds per epoch measured over {args.mle_epochs} MLE and {epochs} adversarial "
        f"epochs of the presets of {ENV} (seed 0, {args.threads} torch thread(s), cProfile on, "
        "evaluations off; the SeqGAN run starts from the MLE run's generator). 'share of "
        "epoch': of one adversarial epoch; 'share of row': of the row's schedule "
        f"({mle_epochs} MLE epochs, the set-up, {adv_epochs} adversarial epochs; "
        f"{row_total:.0f} s without evaluations). Every part runs in the same process, so "
        "the machine's load falls on all alike."
    )
    write_table(
        "seqgan_profile",
        "SeqGAN row: where the time goes",
        ["part", "seconds per epoch", "share of epoch", "epochs in the row", "share of row"],
        rows,
        notes,
    )


if __name__ == "__main__":
    main()
