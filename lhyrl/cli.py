"""The ``lhyrl`` command: ``demos``, ``train``, ``eval``, ``tune``, ``demo`` (main job), ``chat``.

This module only parses: every command calls the run layer (:mod:`lhyrl.runs`), as
``scripts/`` and the benchmarks do. Every training run writes a run directory
``runs/<env>__<algo>__<seed>__<time>/`` holding TensorBoard events, ``progress.csv``,
``config.yaml``, ``checkpoints/``, the final ``model.pt`` and ``eval.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lhyrl.chat import add_chat_arguments

if TYPE_CHECKING:
    from lhyrl.config import RunConfig

# Parsing only: the run layer (lhyrl.runs) and torch load when a command runs, so that
# `lhyrl --help` answers at once.


# -------------------------------------------------------------------------------- the CLI


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config key; its help is the field's doc and its defaults per section."""
    from lhyrl.config import all_keys, default_of

    for name, owners in all_keys().items():
        if name == "preset":  # set by lhyrl from the shipped presets, not a flag
            continue
        flag = "--" + name.replace("_", "-")
        hint = owners[0][1]
        docs = dict.fromkeys(doc for _, _, doc in owners)  # one line per distinct doc
        defaults = {s or "all": v for s, v in default_of(name).items() if v is not None}
        text = " / ".join(docs)
        if defaults:
            shown = (
                next(iter(defaults.values()))
                if len(set(map(str, defaults.values()))) == 1
                else ", ".join(f"{v} ({s})" for s, v in defaults.items())
            )
            text += f" (default: {shown})"
        text = text.replace("%", "%%")
        if hint is list[int]:
            parser.add_argument(flag, type=int, nargs="+", default=None, help=text)
        elif hint is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=text
            )
        else:
            parser.add_argument(flag, type=hint, default=None, help=text)


THREADS_NOTE = "the fastest count on CPU for lhyrl's model sizes, benchmarks/threads.py"


def build_parser() -> argparse.ArgumentParser:
    """The ``lhyrl`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="lhyrl", description="Record demonstrations, train and evaluate imitation agents."
    )
    parser.add_argument("--version", action="version", version=f"lhyrl {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    demos = commands.add_parser("demos", help="record expert demonstrations")
    demos.add_argument("--env", default="lhyrl/Driving-v0", help="env id")
    demos.add_argument("--episodes", type=int, default=20, help="episodes to record")
    demos.add_argument("--out", required=True, help="Minari dataset directory, or a .npz file")
    demos.add_argument("--seed", type=int, default=0, help="seed of the first env")
    demos.add_argument(
        "--disturbance",
        type=float,
        default=0.0,
        help="DART noise on executed actions (labels stay clean)",
    )
    demos.add_argument(
        "--expert",
        default=None,
        help="the expert to record: an SB3 model .zip, an lhyrl agent file or run directory, "
        "or module:callable (default: the env's shipped expert)",
    )
    demos.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    demos.add_argument(
        "--frames",
        choices=("first-person", "third-person"),
        default=None,
        help="also record pictures of each step as this domain sees it (MuJoCo envs; .npz)",
    )
    demos.add_argument("--frame-size", type=int, default=32, help="frame height and width")

    train = commands.add_parser("train", help="train an agent; writes a run directory")
    train.add_argument("--config", help="YAML file of config keys (flags override it)")
    train.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="finish an interrupted run; with its budget flag (e.g. --epochs N), train on to N",
    )
    train.add_argument(
        "--show-config", action="store_true", help="print the resolved config as YAML and exit"
    )
    _add_config_flags(train)

    evaluate = commands.add_parser("eval", help="evaluate a run's model")
    evaluate.add_argument("run_dir", help="a run directory written by `lhyrl train`")
    evaluate.add_argument("--episodes", type=int, default=None, help="episodes (default: run's)")
    evaluate.add_argument("--seed", type=int, default=None, help="seed (default: run's)")

    tune = commands.add_parser(
        "tune",
        help="search hyperparameters with Optuna; writes a study folder",
        description="Search an algorithm's hyperparameters on Optuna. Each trial trains --seeds "
        "runs and scores their mean; the best trial is re-evaluated on new seeds and written "
        "as best.yaml (lhyrl train --config best.yaml). Config flags and --config fix keys "
        "for every trial.",
    )
    _add_tune_arguments(tune)
    tune.add_argument("--config", help="YAML file of fixed config keys (flags override it)")
    _add_config_flags(tune)

    demo = commands.add_parser("demo", help="the main job: demos, BC, DAgger, a results table")
    demo.add_argument("--runs-dir", default="runs", help="where runs and demonstrations go")
    demo.add_argument("--seed", type=int, default=0, help="seed of everything")

    chat = commands.add_parser("chat", help="talk to a trained chat model in the terminal")
    add_chat_arguments(chat)

    plot = commands.add_parser(
        "plot", help="learning curves of runs by algorithm: mean and band over seeds"
    )
    plot.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories")
    plot.add_argument(
        "--metric", default="eval/normalized_return", help="scalar to plot (TensorBoard tag)"
    )
    plot.add_argument(
        "--x", default="step", help="'step' (TensorBoard steps) or a progress.csv column"
    )
    plot.add_argument(
        "--band",
        choices=("ci", "std"),
        default="ci",
        help="ci: 95%% bootstrap CI of the mean over seeds; std: +- one std",
    )
    plot.add_argument("--out", default="curves.png", help="output file, .png or .svg")
    plot.add_argument("--title", default=None, help="figure title (default: the metric)")
    for command in (demos, evaluate, demo, chat, plot):  # train and tune: the config's threads
        command.add_argument(
            "--threads", type=int, default=1, help=f"torch threads (default 1: {THREADS_NOTE})"
        )
    return parser


def _add_tune_arguments(parser: argparse.ArgumentParser) -> None:
    """The study's own flags (the config keys are added beside them)."""
    samplers, pruners = (
        ("grid", "random", "tpe", "cmaes"),
        ("none", "median", "halving", "wilcoxon"),
    )
    parser.add_argument(
        "--space",
        metavar="FILE",
        help="search space YAML (default: the algorithm's, lhyrl/presets/ALGO/search.yaml)",
    )
    parser.add_argument("--metric", help="eval scalar to optimize (default: the space's)")
    parser.add_argument("--direction", choices=("maximize", "minimize"), help="(default: space's)")
    parser.add_argument(
        "--sampler",
        choices=samplers,
        default="tpe",
        help="grid (the space's grid: points), random, tpe (model-based) or cmaes (default: tpe)",
    )
    parser.add_argument("--sampler-seed", type=int, help="seed of the sampler (default: random)")
    parser.add_argument(
        "--pruner",
        choices=pruners,
        default="median",
        help="stop bad trials early: median or halving on the first seed's periodic "
        "evaluations, wilcoxon seed by seed (needs --seeds 4 or more), none (default: median)",
    )
    parser.add_argument(
        "--n-trials",
        type=int,
        help="the study's total of finished trials, over all workers and resumes (default: 20; "
        "grid: the grid's size)",
    )
    parser.add_argument("--timeout", type=float, help="stop starting trials after this many s")
    parser.add_argument(
        "--seeds", type=int, default=3, help="runs per trial, each a seed; scored by their mean"
    )
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna RDB storage shared by workers, e.g. postgresql://user:pw@host/db "
        "(default: sqlite in the study folder)",
    )
    parser.add_argument(
        "--study-name", help="name of the study; an existing one resumes (default: ALGO-ENV)"
    )
    parser.add_argument("--study-dir", help="the study folder (default: RUNS_DIR/tune/STUDY_NAME)")
    parser.add_argument("--n-jobs", type=int, default=1, help="worker processes on this machine")
    parser.add_argument(
        "--heartbeat",
        type=int,
        default=60,
        help="seconds between a trial's heartbeats; a killed worker's trial is failed and "
        "retried after two (default: 60)",
    )
    parser.add_argument(
        "--no-reevaluate",
        dest="reevaluate",
        action="store_false",
        help="skip the best trial's re-evaluation on new seeds",
    )


def _tune(args: argparse.Namespace) -> None:
    """Run ``lhyrl tune``: a study, then its reports."""
    import sqlalchemy.exc

    from lhyrl.config import all_keys, read_yaml
    from lhyrl.tune import TuneSettings, tune
    from lhyrl.tune.report import summary_text
    from lhyrl.tune.study import masked

    values: dict[str, Any] = read_yaml(args.config) if args.config else {}
    keys = all_keys()
    values.update({k: v for k, v in vars(args).items() if k in keys and v is not None})
    algo, env = values.pop("algo", None), values.pop("env", None)
    if algo is None or env is None:
        raise ValueError("give the algorithm and env to tune: --algo ALGO --env ENV")
    settings = TuneSettings(
        algo=algo,
        env=env,
        values=values,
        space_file=args.space,
        metric=args.metric,
        direction=args.direction,
        sampler=args.sampler,
        sampler_seed=args.sampler_seed,
        pruner=args.pruner,
        n_trials=args.n_trials,
        timeout=args.timeout,
        seeds=args.seeds,
        storage=args.storage,
        study_name=args.study_name,
        study_dir=args.study_dir,
        n_jobs=args.n_jobs,
        heartbeat=args.heartbeat,
        reevaluate=args.reevaluate,
    )
    try:
        summary = tune(settings)
    except sqlalchemy.exc.SQLAlchemyError as err:
        first = str(err).strip().splitlines()[0]
        raise ValueError(f"storage {masked(settings.storage_url)}: {first}") from err
    print(summary_text(summary))


def _version() -> str:
    from lhyrl import __version__

    return __version__


def _train_config(args: argparse.Namespace) -> RunConfig:
    from lhyrl.config import all_keys, make_config, read_yaml

    values: dict[str, Any] = read_yaml(args.config) if args.config else {}
    keys = all_keys()
    values.update({k: v for k, v in vars(args).items() if k in keys and v is not None})
    return make_config(values)


def _resume_budget(args: argparse.Namespace) -> int | None:
    """The budget a ``--resume`` extends the run to; other config flags are refused.

    Raises:
        ValueError: If a flag other than the run's budget key (or ``--config``) is given.
    """
    from lhyrl import runs
    from lhyrl.config import all_keys

    budget = runs.open_run(args.resume)[1].spec.budget
    given = sorted(k for k, v in vars(args).items() if k in all_keys() and v is not None)
    others = [k for k in given if k != budget]
    if others or args.config:
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in others) or "--config"
        raise ValueError(
            f"--resume continues the run with its own config.yaml; it takes only a larger "
            f"budget (--{budget.replace('_', '-')} N), got {flags}"
        )
    return getattr(args, budget, None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lhyrl`` command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    import gymnasium as gym
    import torch

    from lhyrl import runs

    threads = getattr(args, "threads", None)
    threads = 1 if threads is None else threads  # train/tune: None until the config is read
    if threads < 1:
        print(
            f"lhyrl {args.command}: error: --threads must be at least 1, got {threads}",
            file=sys.stderr,
        )
        return 2
    torch.set_num_threads(threads)
    try:
        if args.command == "demos":
            demos = runs.collect_demos(
                env_id=args.env,
                episodes=args.episodes,
                out=args.out,
                seed=args.seed,
                disturbance=args.disturbance,
                expert=args.expert,
                overwrite=args.overwrite,
                frames=args.frames,
                frame_size=args.frame_size,
            )
            print(
                f"{demos.n_episodes} episodes, {demos.n_steps} steps, "
                f"mean return {demos.mean_return:.1f} -> {args.out}"
            )
        elif args.command == "train":
            if args.show_config:
                import yaml

                config = runs.open_run(args.resume)[1] if args.resume else _train_config(args)
                print(yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True), end="")
                if config.preset is not None and not args.resume:
                    print(f"# values not set here come from the preset {config.preset}:")
                    print(runs.preset_text(config), end="")
                return 0
            if args.resume:
                run_dir = runs.train_run(resume=args.resume, total=_resume_budget(args))
            else:
                run_dir = runs.train_run(_train_config(args))
            print(json.dumps(json.loads((run_dir / runs.EVAL_FILE).read_text()), indent=2))
            print(f"run directory: {run_dir}  (tensorboard --logdir {run_dir.parent})")
        elif args.command == "eval":
            result = runs.evaluate_run(args.run_dir, episodes=args.episodes, seed=args.seed)
            print(json.dumps(result.report, indent=2, ensure_ascii=False))
        elif args.command == "tune":
            _tune(args)
        elif args.command == "demo":
            from lhyrl.demo import run_demo

            run_demo(runs_dir=args.runs_dir, seed=args.seed)
        elif args.command == "chat":
            from lhyrl.chat import run_chat

            return run_chat(args)
        elif args.command == "plot":
            from lhyrl.runs.plot import plot_runs, save_plot

            figure = plot_runs(
                args.run_dirs, metric=args.metric, x=args.x, band=args.band, title=args.title
            )
            print(f"{len(args.run_dirs)} runs -> {save_plot(figure, args.out)}")
    except (ValueError, TypeError, FileNotFoundError, FileExistsError, gym.error.Error) as err:
        if os.environ.get("LHYRL_DEBUG"):
            raise
        print(f"lhyrl {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
