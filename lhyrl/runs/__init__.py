"""The run layer: run directory, config, training, periodic and final evaluation, ``eval.json``.

``lhyrl train`` and ``lhyrl eval``, ``scripts/``, the main job (:mod:`lhyrl.demo`) and the
benchmarks all call :func:`train_run` and :func:`evaluate_run`, so the wiring of trainers to
envs is written once, per family (:mod:`lhyrl.runs.imitation`, :mod:`lhyrl.runs.sequence`,
:mod:`lhyrl.runs.dialogue`). Every run directory ``runs/<env>__<algo>__<seed>__<time>/``
holds the same files: ``config.yaml``, TensorBoard events, ``progress.csv``,
``checkpoints/checkpoint.pt``, the final ``model.pt`` and ``eval.json`` (the family's report,
and under ``metrics`` the final evaluation's scalars, logged as ``eval/<name>``); with
``eval_every``, ``evaluations.json`` lists the periodic evaluations with the training seconds
before each (:class:`~lhyrl.runs.common.EvaluationHistory`).

A run is checked before its folder is made: an unknown env, unreadable data or a bad config
leave nothing behind. A resume checks the run and its checkpoint before it touches anything,
then appends to ``progress.csv`` and logs on from where the interrupted run stopped.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch
import yaml
from stable_baselines3.common.logger import Logger

from lhyrl.agents.trainer import CHECKPOINT_FILE, read_checkpoint, resolve_device
from lhyrl.config import RunConfig, make_config, preset_file, write_yaml
from lhyrl.runs.common import (
    CHECKPOINTS,
    CONFIG_FILE,
    EVAL_FILE,
    EVALUATIONS_FILE,
    MODEL_FILE,
    Built,
    Evaluation,
    EvaluationHistory,
    ProgressBar,
    chain,
    every_units,
    film,
    log_hyperparameters,
    log_samples,
    log_text,
    new_run_dir,
    open_run,
    record_evaluation,
    run_logger,
    write_json,
)
from lhyrl.runs.imitation import collect_demos, reference_returns

__all__ = [
    "CONFIG_FILE",
    "EVALUATIONS_FILE",
    "EVAL_FILE",
    "MODEL_FILE",
    "collect_demos",
    "evaluate_run",
    "open_run",
    "preset_text",
    "reference_returns",
    "train_run",
]


def preset_text(config: RunConfig) -> str:
    """The text of the shipped preset a config started from, each line commented out."""
    preset = preset_file(config.algo, config.env)
    if preset is None:
        return ""
    return "".join(f"#   {line}\n" for line in preset.read_text(encoding="utf-8").splitlines())


def family_module(config: RunConfig) -> ModuleType:
    """The run-layer module of the config's family (imported on first use)."""
    return importlib.import_module(f"lhyrl.runs.{config.spec.family}")


def train_run(
    config: RunConfig | None = None,
    *,
    resume: str | os.PathLike[str] | None = None,
    total: int | None = None,
    on_evaluation: Callable[[int, Evaluation], object] | None = None,
) -> Path:
    """Train as ``config`` says, or finish the interrupted run in the folder ``resume``.

    Everything is checked before anything is written: a new run's env and data, a resumed
    run's folder and checkpoint. A failed check leaves no folder (new run) or an unchanged
    one (resume).

    Args:
        config: A new run's config.
        resume: A run directory to continue from its last checkpoint.
        total: With ``resume``, a larger budget for the run (the value of its algorithm's
            budget key, e.g. ``epochs``): a finished run trains on to it, as SB3's
            ``learn(reset_num_timesteps=False)`` does; ``config.yaml`` records it.
        on_evaluation: Called as ``on_evaluation(step, evaluation)`` after each periodic
            evaluation (``eval_every``), e.g. to report it to a tuner; an exception it raises
            (a pruned trial) ends the run there, leaving its last checkpoint.

    Returns:
        The run directory.

    Raises:
        ValueError: If ``total`` comes without ``resume`` or is below the run's budget.
    """
    if resume is not None:
        run_dir, config = open_run(resume)
        config = _extended(config, total)
    elif config is None:
        raise ValueError("give a config or a run directory to resume")
    elif total is not None:
        raise ValueError("total extends a resumed run; a new run takes its budget from config")
    torch.set_num_threads(config.threads)
    # Subnormal floats (AIRL's reward net on MujocoCar-v0 made them) slow CPU math by 20x or more:
    # flushed to zero, an AIRL round there took 4.6 s instead of 90 s.
    torch.set_flush_denormal(True)
    resolve_device(config.device)  # a bad or absent device fails before the run folder exists
    family = family_module(config)
    prepared = family.prepare(config)
    checkpoints = (Path(resume) if resume is not None else Path()) / CHECKPOINTS
    resuming = resume is not None and (checkpoints / CHECKPOINT_FILE).is_file()
    if resuming:
        read_checkpoint(checkpoints)  # refuses a truncated or foreign file before any write
    if resume is not None and total is not None:
        write_yaml(run_dir / CONFIG_FILE, config.to_dict())
    if resume is None:
        run_dir = new_run_dir(config)
        write_yaml(run_dir / CONFIG_FILE, config.to_dict())
        checkpoints = run_dir / CHECKPOINTS
    logger = run_logger(run_dir)
    if resume is None:
        text = yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True)
        log_text(logger, "config", f"```yaml\n{text}```")
    built = prepared.build(logger, run_dir)
    try:
        trainer = built.trainer
        if resuming:
            trainer.resume(checkpoints)
        done = trainer.learn_progress
        bar = ProgressBar(config.total, done, trainer.learn_unit)
        history = EvaluationHistory(run_dir, resumed_at=done if resume is not None else None)

        def evaluate(step: int) -> None:
            _periodic_evaluation(logger, built, step, history, on_evaluation)

        def video(step: int) -> None:
            film(logger, built, step)

        def samples(step: int) -> None:
            log_samples(logger, built, step)

        callback = chain(
            every_units(config.eval_every, history.excluding(evaluate), start=done),
            every_units(config.video_every, history.excluding(video), start=done),
            every_units(config.samples_every, history.excluding(samples), start=done),
            bar,
        )
        try:
            trainer.learn(
                config.total,
                callback,
                checkpoint_dir=checkpoints,
                checkpoint_every=config.checkpoint_every,
            )
        finally:
            bar.close()
        train_seconds = history.train_seconds()
        built.save(run_dir / MODEL_FILE)
        evaluation = built.evaluate()
        step = trainer.learn_progress
        if config.video_every > 0:
            film(logger, built, step)
        log_samples(logger, built, step)
        log_hyperparameters(logger, config, evaluation)
        record_evaluation(logger, evaluation, step)
        write_json(
            run_dir / EVAL_FILE,
            {
                "env": config.env,
                "algo": config.algo,
                "seed": config.seed,
                **evaluation.report,
                **built.summary(),
                "metrics": evaluation.scalars,
                "learn_unit": trainer.learn_unit,
                "learn_progress": step,
                "train_seconds": train_seconds,
            },
        )
    finally:
        built.close()
        logger.close()
    return run_dir


def _periodic_evaluation(
    logger: Logger,
    built: Built,
    step: int,
    history: EvaluationHistory,
    on_evaluation: Callable[[int, Evaluation], object] | None,
) -> None:
    train_seconds = history.train_seconds()
    evaluation = built.evaluate()
    history.add(step, evaluation, train_seconds)
    logger.record("time/train_seconds", train_seconds)
    record_evaluation(logger, evaluation, step)
    if on_evaluation is not None:
        on_evaluation(step, evaluation)


def _extended(config: RunConfig, total: int | None) -> RunConfig:
    """``config`` with its budget raised to ``total`` (``None``: unchanged)."""
    if total is None or int(total) == config.total:
        return config
    budget = config.spec.budget
    if int(total) < config.total:
        raise ValueError(
            f"a resume can only extend the run: it was configured for {config.total} "
            f"{config.spec.unit} ({budget}: {config.total}), got {budget}: {total}"
        )
    return make_config({**config.to_dict(), budget: int(total)}, use_preset=False)


def evaluate_run(
    run_dir: str | os.PathLike[str], *, episodes: int | None = None, seed: int | None = None
) -> Evaluation:
    """Score a finished run's ``model.pt`` (``episodes`` and ``seed`` default to the run's).

    Raises:
        FileNotFoundError: If ``run_dir`` is no run, or its run has not finished.
    """
    path, config = open_run(run_dir)
    if not (path / MODEL_FILE).is_file():
        raise FileNotFoundError(f"the run at {path} has no {MODEL_FILE}: it has not finished")
    return family_module(config).evaluate_saved(
        path,
        config,
        episodes=config.eval_episodes if episodes is None else episodes,
        seed=config.eval_seed if seed is None else seed,
    )
