"""Hyperparameter search benchmark: grid vs random vs TPE (lecture 13), and workers' throughput.

    python benchmarks/hpo.py            # the full benchmark (30-50 minutes on 2 free cores)
    python benchmarks/hpo.py --quick    # a smoke run of a couple of minutes

The task: BC on ``lhyrl/Driving-v0`` from 4 demonstrations of the shipped expert (recorded once,
seed 0), searched over BC's shipped space (``lhyrl/presets/bc/search.yaml``): learning rate
1e-4..1e-2 (log), batch size 32/64/256, epochs 10..60, whose grid is 3x3x3 = 27 points. It is a
fair test of the three methods: a run trains in seconds, so every sampler gets the same budget
of 27 trials (the whole grid) several times over; the score (the expert-normalized return on 50
evaluation episodes) really depends on all three parameters (BC from 4 demonstrations over- or
underfits), and the grid's points span the same box the other samplers draw from.

Each study scores a trial by the mean over 3 training seeds (1000-1002; the task's settings
were fixed beforehand on seeds 0-7); the best trial of each is re-evaluated on 3 new seeds
(1003-1005) and new evaluation episodes. Each sampler runs one study per study seed (the
sampler's seed; it orders the grid). ``lhyrl.tune`` runs everything, as ``lhyrl tune`` would.

Throughput: the 27 grid points queued in one PostgreSQL study (a throwaway local server), run
by 1 and then by 2 ``lhyrl tune`` worker processes (one training seed per trial), trials per
hour each, so both do the same work.

Writes ``results/hpo.md`` (``hpo_quick.md`` for ``--quick``), ``hpo.png`` and ``hpo.json``
(the command, machine, date, and every study's values in trial order).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import yaml
from common import RESULTS, machine, write_table

from lhyrl.files import atomic_write, atomic_write_text
from lhyrl.runs import collect_demos
from lhyrl.tune import TuneSettings, tune
from lhyrl.tune.postgres import throwaway_postgres
from lhyrl.tune.space import load_space
from lhyrl.tune.study import open_space, open_study, quiet_optuna

ROOT = Path(__file__).resolve().parents[1]
ENV_ID = "lhyrl/Driving-v0"
SAMPLERS = ("grid", "random", "tpe")
DEMO_EPISODES = 4
TRAIN_SEED = 1000
"""The first training seed of every reported trial (the settings were chosen on seeds 0-7)."""
CHECKPOINTS = [1, 3, 9, 18, 27]
"""Trial counts at which the table shows the best score so far."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=27, help="trials per study")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per trial")
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--runs-dir", default="runs/bench_hpo")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: tiny budgets, results/hpo_quick.*"
    )
    parser.add_argument("--skip-throughput", action="store_true", help="no PostgreSQL part")
    args = parser.parse_args()
    if args.quick:
        args.study_seeds, args.trials, args.seeds, args.eval_episodes = [0, 1], 4, 1, 5
    return args


def quick_space(folder: Path) -> Path:
    """BC's shipped space with epochs 1..3 (grid 1, 2, 3): the --quick mode's."""
    data = yaml.safe_load((ROOT / "lhyrl/presets/bc/search.yaml").read_text())
    data["params"]["epochs"] = {"type": "int", "low": 1, "high": 3, "grid": [1, 2, 3]}
    path = folder / "quick_space.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def settings(args: argparse.Namespace, demos: Path, space: Path | None, **changes: Any):
    values = {"demos": str(demos), "eval_episodes": args.eval_episodes, "seed": TRAIN_SEED}
    values["checkpoint_every"] = 1000  # checkpoints cost time and nothing resumes here
    defaults: dict[str, Any] = {
        "algo": "bc",
        "env": ENV_ID,
        "values": values,
        "space_file": None if space is None else str(space),
        "pruner": "none",
        "seeds": args.seeds,
        "n_trials": args.trials,
    }
    return TuneSettings(**{**defaults, **changes})


def run_search(args: argparse.Namespace, demos: Path, space: Path | None) -> list[dict[str, Any]]:
    """One study per sampler and study seed; each one's values in trial order, wall time."""
    studies = []
    for sampler, seed in itertools.product(SAMPLERS, args.study_seeds):
        folder = Path(args.runs_dir) / "search" / f"{sampler}-{seed}"
        s = settings(args, demos, space, sampler=sampler, sampler_seed=seed, study_dir=str(folder))
        print(f"{sampler}, study seed {seed}: {args.trials} trials -> {folder}", flush=True)
        start = time.perf_counter()
        summary = tune(s)
        seconds = time.perf_counter() - start
        with quiet_optuna():
            study = optuna.load_study(study_name=s.name, storage=s.storage_url)
        trials = sorted(study.trials, key=lambda t: t.number)
        studies.append(
            {
                "sampler": sampler,
                "study_seed": seed,
                "values": [t.value for t in trials],
                "params": [t.params for t in trials],
                "best": summary["best"],
                "reevaluated": summary["reevaluation"]["mean"],
                "seconds": seconds,
            }
        )
    return studies


def run_throughput(args: argparse.Namespace, demos: Path, space: Path | None) -> dict[str, Any]:
    """Trials per hour of 1 and 2 workers on one PostgreSQL study, the same queued points."""
    grid = load_space("bc", ENV_ID, space).grid()
    points = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    points = points[: args.trials]
    result: dict[str, Any] = {"trials": len(points)}
    with throwaway_postgres() as url:
        for workers in (1, 2):
            name = f"throughput-{workers}"
            folder = Path(args.runs_dir) / "throughput" / name
            s = settings(
                args, demos, space, sampler="random", seeds=1, storage=url, study_name=name,
                study_dir=str(folder), n_trials=len(points), reevaluate=False,
            )  # fmt: skip
            study = open_study(s, open_space(s))
            for point in points:
                study.enqueue_trial(point)
            command = [
                sys.executable, "-m", "lhyrl.cli", "tune", "--algo", "bc", "--env", ENV_ID,
                "--demos", str(demos), "--eval-episodes", str(args.eval_episodes),
                "--seed", str(TRAIN_SEED), "--checkpoint-every", "1000", "--sampler", "random",
                "--pruner", "none", "--seeds", "1", "--n-trials", str(len(points)),
                "--storage", url, "--study-name", name, "--no-reevaluate",
            ]  # fmt: skip
            if space is not None:
                command += ["--space", str(space)]
            print(f"{workers} worker(s): {len(points)} queued trials on {name}", flush=True)
            start = time.perf_counter()
            procs = [
                subprocess.Popen(
                    [*command, "--study-dir", str(folder / f"worker-{w}")],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    env={**os.environ, "TQDM_DISABLE": "1"},
                )
                for w in range(workers)
            ]
            codes = [p.wait() for p in procs]
            seconds = time.perf_counter() - start
            if any(codes):
                raise RuntimeError(f"a worker failed: exit codes {codes}")
            with quiet_optuna():
                done = optuna.load_study(study_name=name, storage=url).trials
            complete = sum(t.state == optuna.trial.TrialState.COMPLETE for t in done)
            if complete != len(points):
                raise RuntimeError(f"{name}: {complete} of {len(points)} trials complete")
            result[f"{workers}_workers"] = {
                "seconds": seconds,
                "trials_per_hour": len(points) / seconds * 3600,
            }
    return result


def best_so_far(values: list[float | None]) -> list[float]:
    out, best = [], -np.inf
    for value in values:
        best = max(best, value if value is not None else -np.inf)
        out.append(best)
    return out


def curves(studies: list[dict[str, Any]], sampler: str) -> np.ndarray:
    """(study seeds, trials) best-so-far scores of one sampler's studies."""
    return np.array([best_so_far(s["values"]) for s in studies if s["sampler"] == sampler])


def verdict(studies: list[dict[str, Any]]) -> str:
    """Whether random beat grid and TPE beat both, from the final best and re-evaluated means."""
    final = {m: curves(studies, m)[:, -1] for m in SAMPLERS}
    again = {
        m: np.array([s["reevaluated"] for s in studies if s["sampler"] == m]) for m in SAMPLERS
    }

    def compare(a: str, b: str, scores: dict[str, np.ndarray]) -> str:
        gap = scores[a].mean() - scores[b].mean()
        spread = max(scores[a].std(), scores[b].std())
        word = "beat" if gap > 0 else "tied with" if gap == 0 else "did not beat"
        size = "more than" if abs(gap) > spread else "within"
        return f"{a} {word} {b} ({gap:+.3f}, {size} the spread over study seeds, {spread:.3f})"

    lines = []
    for label, scores in (("best search score", final), ("re-evaluated on new seeds", again)):
        lines.append(
            f"- {label}: {compare('random', 'grid', scores)}; {compare('tpe', 'grid', scores)}; "
            f"{compare('tpe', 'random', scores)}."
        )
    return "\n".join(lines)


def write_plot(studies: list[dict[str, Any]], path: Path, title: str, seeds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for sampler in SAMPLERS:
        scores = curves(studies, sampler)
        x = np.arange(1, scores.shape[1] + 1)
        mean, std = scores.mean(axis=0), scores.std(axis=0)
        ax.plot(x, mean, label=f"{sampler} (n={len(scores)} studies)")
        ax.fill_between(x, mean - std, mean + std, alpha=0.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trials")
    ax.set_ylabel(f"best normalized return so far (mean of {seeds} seeds)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def fmt(values: np.ndarray | list[float]) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std():.3f}"


def main() -> None:
    args = parse_args()
    runs = Path(args.runs_dir)
    runs.mkdir(parents=True, exist_ok=True)
    name = "hpo_quick" if args.quick else "hpo"
    space = quick_space(runs) if args.quick else None
    demos = runs / f"driving-expert-{DEMO_EPISODES}.npz"
    collect_demos(env_id=ENV_ID, episodes=DEMO_EPISODES, out=demos, progress=False, overwrite=True)
    studies = run_search(args, demos, space)
    throughput = None if args.skip_throughput else run_throughput(args, demos, space)
    checkpoints = [c for c in CHECKPOINTS if c <= args.trials] or [args.trials]
    if checkpoints[-1] != args.trials:
        checkpoints.append(args.trials)
    grid_seconds = statistics.fmean(s["seconds"] for s in studies if s["sampler"] == "grid")
    header = ["sampler", *(f"best after {c}" for c in checkpoints), "re-evaluated", "wall time"]
    rows = []
    for sampler in SAMPLERS:
        scores = curves(studies, sampler)
        mine = [s for s in studies if s["sampler"] == sampler]
        seconds = statistics.fmean(s["seconds"] for s in mine)
        rows.append(
            [
                sampler,
                *(fmt(scores[:, c - 1]) for c in checkpoints),
                fmt([s["reevaluated"] for s in mine]),
                f"{seconds / grid_seconds:.2f}x grid ({seconds:.0f} s)",
            ]
        )
    notes = [
        f"BC on {ENV_ID} from {DEMO_EPISODES} demonstrations; {args.trials} trials per study, "
        f"{len(args.study_seeds)} study seeds per sampler (mean ± std over them); each trial "
        f"scored by the mean expert-normalized return of {args.seeds} training seed(s) on "
        f"{args.eval_episodes} episodes; re-evaluated: the best trial retrained on "
        f"{args.seeds} new seeds, scored on new episodes. Training is deterministic, so the grid "
        "sampler's study seed only orders its points: after all 27 its best is the same in every "
        "study. TPE's first 10 trials are random "
        "(Optuna's default start-up), drawn as the random sampler's of the same seed. "
        f"Plot: `{name}.png`.",
        "",
        verdict(studies),
    ]
    if throughput is not None:
        one, two = throughput["1_workers"], throughput["2_workers"]
        notes += [
            "",
            f"Throughput on one PostgreSQL study ({throughput['trials']} queued grid points, one "
            f"seed per trial): 1 worker {one['trials_per_hour']:.0f} trials/hour, 2 workers "
            f"{two['trials_per_hour']:.0f} trials/hour: "
            f"{two['trials_per_hour'] / one['trials_per_hour']:.2f}x on "
            f"{os.cpu_count()} cores.",
        ]
    write_table(
        name, "Hyperparameter search: grid vs random vs TPE", header, rows, "\n".join(notes)
    )
    write_plot(
        studies, RESULTS / f"{name}.png", f"BC on {ENV_ID}: best score vs trials", args.seeds
    )
    record = {
        "command": shlex.join(["python", *sys.argv]),
        "machine": machine(),
        "date": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}",
        "settings": {k: v for k, v in vars(args).items()},
        "studies": studies,
        "throughput": throughput,
    }
    atomic_write_text(RESULTS / f"{name}.json", json.dumps(record, indent=2, default=str))
    print((RESULTS / f"{name}.md").read_text())


if __name__ == "__main__":
    main()
