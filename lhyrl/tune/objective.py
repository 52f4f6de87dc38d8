"""The multi-seed objective of a study: each trial trains one run per seed; its value is their mean.

Every trial trains on the same seeds (``seed``, ``seed + 1``, ..., ``seed + K - 1``): trials are
compared on common random numbers, so a difference between two trials is their parameters',
not their seeds' luck, and the Wilcoxon pruner can pair a trial's seeds with the best trial's.
The final re-evaluation of the best trial trains on K seeds after those (``seed + K`` to
``seed + 2K - 1``) and evaluates on other episodes (``eval_seed`` moved by
:data:`FINAL_EVAL_SEED_OFFSET`), so its figure carries no selection bias from the search.

Pruning: the median and successive-halving pruners read the first seed's periodic evaluations
(``eval_every``; set to a fifth of the budget when the config has none), so a bad trial stops
within its first run, having cost less than 1/K of a full trial; the Wilcoxon pruner reads the
seeds' final values, one instance per seed, after each seed's run.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from lhyrl.config import ConfigError, RunConfig, make_config
from lhyrl.runs import EVAL_FILE, train_run
from lhyrl.runs.common import Evaluation
from lhyrl.tune.space import SearchSpace, decode_choice

CURVE_REPORTS = 5
"""Periodic evaluations of a pruned run when its config sets no ``eval_every``."""
FINAL_EVAL_SEED_OFFSET = 1_000_000
"""The final re-evaluation's ``eval_seed`` is the search's plus this: new episodes."""
CURVE_PRUNERS = ("median", "halving")
"""Pruners that read a run's periodic evaluations (the Wilcoxon pruner reads whole seeds)."""


class SurplusTrialError(RuntimeError):
    """A trial started after other workers had taken the study's whole trial budget."""


def search_seeds(seed: int, count: int) -> list[int]:
    """The training seeds of every trial of a search."""
    return [seed + i for i in range(count)]


def final_seeds(seed: int, count: int) -> list[int]:
    """The training seeds of the best trial's re-evaluation: the ``count`` after the search's."""
    return [seed + count + i for i in range(count)]


def trial_params(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """A finished trial's sampled parameters as config values."""
    return {name: decode_choice(value) for name, value in trial.params.items()}


def metric_of(evaluation: Evaluation | dict[str, float], metric: str, what: str) -> float:
    """The value of ``metric`` among an evaluation's scalars.

    Raises:
        ConfigError: If the evaluation has no such scalar (it lists the ones it has).
    """
    scalars = evaluation.scalars if isinstance(evaluation, Evaluation) else evaluation
    if metric not in scalars:
        raise ConfigError(
            f"metric {metric!r} is not among the evaluation scalars of {what}: "
            f"{sorted(scalars)}; set metric in the search space or pass --metric"
        )
    return float(scalars[metric])


def final_metric(run_dir: Path, metric: str) -> float:
    """A finished run's final value of ``metric`` (from ``eval.json``'s ``metrics``)."""
    report = json.loads((run_dir / EVAL_FILE).read_text())
    return metric_of(report["metrics"], metric, f"{report['algo']} on {report['env']}")


@dataclass(kw_only=True)
class Objective:
    """Scores an Optuna trial: sample the space, train one run per seed, return the mean."""

    base: dict[str, Any]
    """Flat config values every trial starts from (over the algorithm's preset)."""
    space: SearchSpace
    seeds: list[int]
    study_dir: Path
    pruner: str = "none"
    n_trials: int | None = None
    """The study's trial budget: a trial numbered past it (a race between workers) is refused."""
    on_trial_start: Callable[[], None] | None = None
    """Called first thing in each trial (the worker releases its budget lock there)."""

    def config(self, params: dict[str, Any], *, seed: int, runs_dir: Path) -> RunConfig:
        """The run config of one seed of a trial with ``params``."""
        config = make_config({**self.base, **params, "seed": seed, "runs_dir": str(runs_dir)})
        if self.pruner in CURVE_PRUNERS and config.eval_every == 0:
            every = max(1, config.total // CURVE_REPORTS)
            config = make_config({**config.to_dict(), "eval_every": every}, use_preset=False)
        return config

    def __call__(self, trial: optuna.Trial) -> float:
        """Train the trial's runs; their mean final metric (raises TrialPruned when pruned)."""
        if self.on_trial_start is not None:
            self.on_trial_start()
        self._check_budget(trial)
        params = self.space.suggest(trial)
        trial_dir = self.study_dir / "trials" / f"{trial.number:04d}"
        metric = self.space.metric
        values: list[float] = []
        run_dirs: list[str] = []
        trial.set_user_attr("seeds", self.seeds)
        for index, seed in enumerate(self.seeds):
            config = self.config(params, seed=seed, runs_dir=trial_dir)
            report = self._curve_reporter(trial, config) if index == 0 else None
            run_dir = train_run(config, on_evaluation=report)
            values.append(final_metric(run_dir, metric))
            run_dirs.append(str(run_dir.relative_to(self.study_dir)))
            trial.set_user_attr("seed_values", values)
            trial.set_user_attr("run_dirs", run_dirs)
            if self.pruner == "wilcoxon":
                trial.report(values[-1], step=index)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"worse than the best trial on seeds {self.seeds}")
        return statistics.fmean(values)

    def _curve_reporter(
        self, trial: optuna.Trial, config: RunConfig
    ) -> Callable[[int, Evaluation], None] | None:
        if self.pruner not in CURVE_PRUNERS:
            return None
        what = f"{config.algo} on {config.env}"

        def report(step: int, evaluation: Evaluation) -> None:
            trial.report(metric_of(evaluation, self.space.metric, what), step=step)
            if trial.should_prune():
                raise optuna.TrialPruned(
                    f"pruned at {step} {config.spec.unit} of seed {config.seed}"
                )

        return report

    def _check_budget(self, trial: optuna.Trial) -> None:
        """Refuse a trial numbered past the budget (two workers asked for the last one at once)."""
        if self.n_trials is None:
            return
        live = (
            optuna.trial.TrialState.COMPLETE,
            optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.RUNNING,
            optuna.trial.TrialState.WAITING,
        )
        ahead = [
            t
            for t in trial.study.get_trials(deepcopy=False, states=live)
            if t.number < trial.number
        ]
        if len(ahead) >= self.n_trials:
            trial.set_user_attr("surplus", True)
            raise SurplusTrialError(
                f"trial {trial.number} not run: the study's {self.n_trials} trials were taken"
            )
