"""GAN ablation (issue 16): each discriminator objective and remedy, one change at a time.

    python benchmarks/gan_ablation.py                               # every task (many hours)
    python benchmarks/gan_ablation.py --tasks gail-cartpole         # one task
    python benchmarks/gan_ablation.py --tasks gail-cartpole --variants default lsgan
    python benchmarks/gan_ablation.py --quick                       # a smoke run of minutes
    python benchmarks/gan_ablation.py --table-only                  # rebuild the table and PNG

Every run goes through the run layer (``lhyrl.runs.train_run``) with the trainer's preset for
the env, and one change from :data:`VARIANTS`: a discriminator objective of the registry in
``lhyrl.nn.gan`` (``disc_loss``) or one remedy (spectral norm, input noise, label smoothing,
replay of past generated samples, a discriminator ensemble). A variant that is the trainer's
default already, or that the trainer refuses (AIRL-style structure, labels an objective has
not), is left out and the table says so.

Tasks (:data:`TASKS`): SeqGAN on the paper's oracle (NLL-oracle, and NLL-test as the
quality-diversity point), GAIL on CartPole-v1 and Hopper-v5 (expert-normalized return), REGS
on the shipped English dialogue corpus (self-play length and distinct-2 of the simulation).
Budgets are the presets' unless the task says otherwise; seeds 0, 1, 2 by default.

Results accumulate in ``results/gan_ablation.json`` (one entry per task, variant and seed; a
finished entry is skipped, so an interrupted or partial benchmark continues where it stopped)
and the table ``results/gan_ablation.md`` and ``gan_ablation.png`` are rebuilt from all of
them. "Beyond seed noise" is a Welch 95% confidence interval of the difference of means
against the default that excludes 0. Wall time is a ratio to the default's mean on the same
task.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import RESULTS, write_table

from lhyrl.config import ConfigError, make_config
from lhyrl.files import atomic_write_text
from lhyrl.metrics.aggregate import save_figure
from lhyrl.runs import EVAL_FILE, collect_demos, train_run

NAME = "gan_ablation"


def _get(path: str) -> Callable[[dict[str, Any]], float]:
    """A reader of ``eval.json`` that follows a dotted path."""

    def read(evaluation: dict[str, Any]) -> float:
        value: Any = evaluation
        for key in path.split("."):
            value = value[key]
        return float(value)

    return read


@dataclass(frozen=True)
class Metric:
    """One score of a task's ``eval.json``.

    Attributes:
        name: Column name.
        read: Reads it from ``eval.json``.
        higher_is_better: Direction of "helps".
    """

    name: str
    read: Callable[[dict[str, Any]], float]
    higher_is_better: bool = True


@dataclass(frozen=True)
class Task:
    """An env, an adversarial trainer and how its runs are scored.

    Attributes:
        env: Environment id.
        algo: ``gail``, ``airl``, ``seqgan`` or ``regs``.
        metrics: The first one decides "helps"/"hurts".
        values: Config keys on top of the preset (budgets, demonstrations).
        quick: Keys of ``--quick`` runs.
    """

    env: str
    algo: str
    metrics: tuple[Metric, ...]
    values: dict[str, Any] = field(default_factory=dict)
    quick: dict[str, Any] = field(default_factory=dict)


NORMALIZED = Metric("normalized return", _get("normalized_return"))
TASKS: dict[str, Task] = {
    "seqgan-oracle": Task(
        env="lhyrl/SeqGen-v0",
        algo="seqgan",
        metrics=(
            Metric("NLL-oracle", _get("nll_oracle"), higher_is_better=False),
            Metric("NLL-test", _get("nll_test"), higher_is_better=False),
        ),
        # the preset's adversarial Adam rate before issue 18 doubled it (all seeds alike)
        values={"epochs": 6, "eval_every": 6, "adversarial_learning_rate": 0.01},
        quick={
            "epochs": 2,
            "pretrain_discriminator_samples": 512,
            "train_size": 512,
            "test_size": 512,
            "eval_episodes": 512,
        },
    ),
    "gail-cartpole": Task(
        env="CartPole-v1",
        algo="gail",
        metrics=(NORMALIZED,),
        values={"total_timesteps": 60_000, "eval_episodes": 50},
        quick={"total_timesteps": 4096, "eval_episodes": 4},
    ),
    "gail-hopper": Task(
        env="Hopper-v5",
        algo="gail",
        metrics=(NORMALIZED,),
        values={"eval_episodes": 20},
        quick={"total_timesteps": 4096, "eval_episodes": 2, "epochs": 2},
    ),
    "regs-english": Task(
        env="lhyrl/Dialogue-v0",
        algo="regs",
        metrics=(
            Metric("self-play length", _get("simulation.dialogue_length")),
            Metric("distinct-2", _get("simulation.distinct_2")),
        ),
        values={"iterations": 60, "pretrain_discriminator_steps": 60},
        quick={
            "iterations": 2,
            "pretrain_discriminator_steps": 2,
            "max_pairs": 16,
            "eval_episodes": 4,
            "eval_envs": 4,
        },
    ),
}
"""The ablation's tasks, on budgets that fit 33 runs each into about an hour on one core:
SeqGAN 6 adversarial epochs at Adam 0.01 from the 50-epoch MLE generator (the preset before
issue 18's change to 15 epochs at 0.02 from 25 MLE epochs), REGS
60 iterations after 60 discriminator pretraining steps (the benchmark's row: 600 after 300);
GAIL on CartPole-v1 60,000 env steps; on Hopper-v5 its preset's budget."""

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "bce": {"disc_loss": "bce"},
    "wgan-gp": {"disc_loss": "wgan-gp"},
    "lsgan": {"disc_loss": "lsgan"},
    "hinge": {"disc_loss": "hinge"},
    "ebgan": {"disc_loss": "ebgan"},
    "magan": {"disc_loss": "magan"},
    "spectral norm": {"spectral_norm": True},
    "input noise 0.1": {"input_noise": 0.1},
    "label smoothing 0.1": {"label_smoothing": 0.1},
    "replay 0.5": {"replay_ratio": 0.5},
    "ensemble of 3": {"ensemble_size": 3},
}
"""One change each from the trainer's default (the keys of the trainers' config sections)."""

CARTPOLE_EXPERT_STEPS = 100_000
"""PPO steps of the CartPole-v1 expert (SB3 defaults, seed 100), trained once."""
DEMO_EPISODES = {"CartPole-v1": 20, "Hopper-v5": 10}


def cartpole_expert(runs_dir: Path) -> Path:
    """An SB3 PPO expert for CartPole-v1, trained once into ``runs_dir``."""
    path = runs_dir / "experts" / "cartpole_ppo.zip"
    if not path.is_file():
        from stable_baselines3 import PPO

        path.parent.mkdir(parents=True, exist_ok=True)
        PPO("MlpPolicy", "CartPole-v1", seed=100).learn(CARTPOLE_EXPERT_STEPS).save(path)
    return path


def mle_generator(task: Task, runs_dir: Path, quick: bool) -> Path:
    """The MLE run SeqGAN starts from (its preset, seed 0), trained once into ``runs_dir``."""
    mle_dir = runs_dir / ("mle_quick" if quick else "mle")
    finished = sorted(d for d in mle_dir.glob("*__mle__*") if (d / EVAL_FILE).is_file())
    if finished:
        return finished[-1]
    values = {"algo": "mle", "env": task.env, "seed": 0, "runs_dir": str(mle_dir)}
    if quick:
        values.update({"epochs": 1, **{k: task.quick[k] for k in SEQUENCE_SIZES}})
    return train_run(make_config(values))


SEQUENCE_SIZES = ("train_size", "test_size", "eval_episodes")
"""Keys an MLE run and the SeqGAN runs started from it share in ``--quick`` runs."""


def task_values(task: Task, runs_dir: Path, quick: bool) -> dict[str, Any]:
    """The config keys of a task's runs, recording demonstrations the first time."""
    values = dict(task.values)
    if task.algo == "seqgan":
        values["init"] = str(mle_generator(task, runs_dir, quick))
    if task.env in DEMO_EPISODES:
        expert = str(cartpole_expert(runs_dir)) if task.env == "CartPole-v1" else None
        demos = runs_dir / "demos" / f"{task.env}.npz"
        if not demos.is_file():
            collect_demos(
                env_id=task.env,
                episodes=2 if quick else DEMO_EPISODES[task.env],
                out=demos,
                seed=0,
                expert=expert,
                progress=False,
            )
        values["demos"] = str(demos)
        if expert:
            values["expert"] = expert
    if quick:
        values.update(task.quick)
    return values


def config_of(task: Task, variant: str, seed: int, values: dict[str, Any], runs_dir: Path):
    """The run config of one ablation cell, or the reason it is left out."""
    base = {"algo": task.algo, "env": task.env, "seed": seed, "runs_dir": str(runs_dir), **values}
    default = make_config(base)
    try:
        config = make_config({**base, **VARIANTS[variant]})
    except (ConfigError, ValueError) as error:
        return None, f"refused: {error}"
    if variant != "default" and config == default:
        return None, "the trainer's default"
    return config, ""


def run_cell(task_name: str, variant: str, seed: int, args: argparse.Namespace) -> dict:
    """Train one run; returns its entry (or why it is left out)."""
    task = TASKS[task_name]
    runs_dir = Path(args.runs_dir)
    config, reason = config_of(
        task, variant, seed, task_values(task, runs_dir, args.quick), runs_dir
    )
    entry: dict[str, Any] = {"task": task_name, "variant": variant, "seed": seed}
    if config is None:
        return {**entry, "skipped": reason}
    start = time.perf_counter()
    run_dir = train_run(config)
    evaluation = json.loads((run_dir / EVAL_FILE).read_text())
    return {
        **entry,
        "run_dir": str(run_dir),
        "scores": {m.name: m.read(evaluation) for m in task.metrics},
        "train_seconds": evaluation.get("train_seconds", time.perf_counter() - start),
        "command": shlex.join(["python", *sys.argv]),
    }


def load_results(quick: bool) -> list[dict]:
    path = RESULTS / f"{NAME}{'_quick' if quick else ''}.json"
    return json.loads(path.read_text()) if path.is_file() else []


def welch_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference of means ``mean(a) - mean(b)`` and its Welch 95% confidence interval."""
    from scipy import stats

    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return diff, float("nan"), float("nan")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = float(np.sqrt(va + vb))
    if se == 0.0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.975, dof)) * se
    return diff, diff - half, diff + half


def verdict(task: Task, diff: float, low: float, high: float) -> str:
    """``helps``, ``hurts`` or ``within noise`` by the first metric's direction."""
    if np.isnan(low):
        return "-"
    good = task.metrics[0].higher_is_better
    if low > 0 or high < 0:
        return "helps" if (low > 0) == good else "hurts"
    return "within noise"


def write_results(results: list[dict], quick: bool, command: str | None = None) -> None:
    """Save the entries and rebuild the table and the PNG from them (``command``: see
    :func:`common.write_table`)."""
    atomic_write_text(
        RESULTS / f"{NAME}{'_quick' if quick else ''}.json", json.dumps(results, indent=1)
    )
    rows, plotted = [], {}
    for task_name, task in TASKS.items():
        entries = [r for r in results if r["task"] == task_name]
        done = [r for r in entries if "scores" in r]
        default = [r for r in done if r["variant"] == "default"]
        if not done:
            continue
        first = task.metrics[0].name
        base = np.array([r["scores"][first] for r in default])
        base_seconds = np.mean([r["train_seconds"] for r in default]) if default else np.nan
        plotted[task_name] = []
        for variant in VARIANTS:
            cell = [r for r in entries if r["variant"] == variant]
            if not cell:
                continue
            if "skipped" in cell[0]:
                rows.append([task_name, variant, "-", "-", "-", "-", "-", cell[0]["skipped"]])
                continue
            cell = [r for r in cell if "scores" in r]
            columns = []
            for metric in task.metrics:
                x = np.array([r["scores"][metric.name] for r in cell])
                columns.append(f"{metric.name} {x.mean():.3f} +- {x.std():.3f}")
            x = np.array([r["scores"][first] for r in cell])
            seconds = np.mean([r["train_seconds"] for r in cell])
            if variant == "default" or len(base) == 0:
                diff_text, call = "-", "-"
            else:
                diff, low, high = welch_interval(x, base)
                diff_text = f"{diff:+.3f} [{low:+.3f}, {high:+.3f}]"
                call = verdict(task, diff, low, high)
            rows.append(
                [
                    task_name,
                    variant,
                    "; ".join(columns),
                    diff_text,
                    call,
                    str(len(cell)),
                    f"{seconds / base_seconds:.2f}x" if base_seconds == base_seconds else "-",
                    "",
                ]
            )
            plotted[task_name].append((variant, x))
    figure = plot(plotted)
    png = (
        save_figure(figure, RESULTS / f"{NAME}{'_quick' if quick else ''}.png") if figure else None
    )
    if figure is not None:
        import matplotlib.pyplot as plt

        plt.close(figure)
    notes = (
        "Each row changes one thing from the trainer's default (its preset for the env). "
        "Scores: mean +- std over seeds of the run's final evaluation (`eval.json`). "
        "Difference: the first metric's mean minus the default's, with a Welch 95% "
        "confidence interval; 'helps'/'hurts' when the interval excludes 0 (in the metric's "
        "good/bad direction), else 'within noise'. Wall time: mean training time over the "
        "default's on the same task (one process, seed by seed with every variant in turn, "
        "beside other jobs on the 2 cores). "
        + (f"Plot: `{Path(png).name}`. " if png else "")
        + "Budgets: "
        + "; ".join(f"{name}: {task.values or 'the preset'}" for name, task in TASKS.items())
        + "."
    )
    write_table(
        NAME + ("_quick" if quick else ""),
        "GAN ablation: discriminator objectives and remedies, one change at a time",
        [
            "task",
            "variant",
            "scores",
            "difference vs default [95% CI]",
            "verdict",
            "seeds",
            "wall time",
            "note",
        ],
        rows,
        notes,
        command=command,
    )


def plot(plotted: dict[str, list[tuple[str, np.ndarray]]]) -> Any:
    """One panel per task: each variant's first-metric mean and its seeds."""
    if not plotted:
        return None
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(plotted), figsize=(5 * len(plotted), 4.5), squeeze=False)
    for ax, (task_name, cells) in zip(axes[0], plotted.items(), strict=True):
        task = TASKS[task_name]
        for i, (variant, x) in enumerate(cells):
            ax.bar(i, x.mean(), color="tab:blue" if variant != "default" else "tab:gray")
            ax.scatter(np.full(len(x), i), x, color="black", s=10, zorder=3)
        ax.set_xticks(range(len(cells)), [v for v, _ in cells], rotation=60, ha="right")
        metric = task.metrics[0]
        ax.set_ylabel(
            f"{metric.name} ({'higher' if metric.higher_is_better else 'lower'} is better)"
        )
        ax.set_title(f"{task.algo} on {task.env}")
        if cells and cells[0][0] == "default":
            ax.axhline(cells[0][1].mean(), color="tab:gray", linestyle="--", linewidth=1)
    figure.tight_layout()
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--runs-dir", default="runs/bench_gan_ablation")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny budgets, to check the path")
    parser.add_argument("--table-only", action="store_true", help="rebuild the table, train none")
    parser.add_argument("--rerun", action="store_true", help="retrain cells that have entries")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.table_only:
        write_results(
            load_results(args.quick),
            args.quick,
            # the cells were trained by the benchmark's own command (resumable per cell)
            command="python benchmarks/gan_ablation.py" + (" --quick" if args.quick else ""),
        )
        return
    skipped: set[tuple[str, str]] = set()
    for task_name in args.tasks:
        # seed by seed, each variant in turn, so a change in the machine's load falls on
        # every variant alike and the wall-time ratios stay comparable
        for seed in args.seeds:
            for variant in ["default", *(v for v in args.variants if v != "default")]:
                if (task_name, variant) in skipped:
                    continue
                key = (task_name, variant, seed)
                have = {(r["task"], r["variant"], r["seed"]) for r in load_results(args.quick)}
                if key in have and not args.rerun:
                    continue
                start = time.perf_counter()
                entry = run_cell(task_name, variant, seed, args)
                print(
                    f"{task_name} / {variant} / seed {seed}: "
                    f"{entry.get('scores', entry.get('skipped'))} "
                    f"({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
                # Reread: another benchmark process may have added entries meanwhile.
                results = [
                    r
                    for r in load_results(args.quick)
                    if (r["task"], r["variant"], r["seed"]) != key
                ]
                results.append(entry)
                write_results(results, args.quick)
                if "skipped" in entry:
                    skipped.add((task_name, variant))  # the other seeds: the same reason


if __name__ == "__main__":
    main()
