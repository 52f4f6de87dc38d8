"""Hyperparameter search on Optuna: ``lhyrl tune``.

Layered above the run layer (:mod:`lhyrl.runs`) and below the CLI: :mod:`lhyrl.tune.space`
reads search spaces, :mod:`lhyrl.tune.objective` scores a trial by training one run per seed,
:mod:`lhyrl.tune.study` makes the storage, sampler and pruner and drives the workers, and
:mod:`lhyrl.tune.report` writes the study folder's tables, plots and ``best.yaml``.
"""

from lhyrl.tune.study import PRUNERS, SAMPLERS, TuneSettings, tune

__all__ = ["PRUNERS", "SAMPLERS", "TuneSettings", "tune"]
