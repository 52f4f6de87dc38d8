"""A study: its storage, sampler and pruner, its folder, and the workers that run its trials.

The study's folder (``<runs_dir>/tune/<study-name>/`` unless ``study_dir`` says otherwise) holds
``study.db`` (the default storage: SQLite, nothing to set up), ``trials/<number>/`` (each
trial's runs, one per seed, with TensorBoard events and HParams), ``best/`` (the best trial's
re-evaluation runs), and the reports of :mod:`lhyrl.tune.report`.

Every storage is Optuna's RDB storage with a heartbeat: a worker killed mid-trial leaves its
trial RUNNING without heartbeats; after the grace period (two heartbeats) the next worker to
look marks it FAIL and Optuna's retry callback
(:class:`~optuna.storages.RetryHeartbeatStaleTrialCallback`) queues its parameters again, so
no trial is lost. ``--storage postgresql://...`` lets workers on many machines share one study.

``n_trials`` is the study's total of finished (complete or pruned) trials, whatever the number
of workers and resumes: a worker starts a trial only while finished, running and queued trials
are fewer, and waits for running ones (a killed worker's is retried) before it ends; the count
and the trial's creation happen under a lock (:mod:`lhyrl.tune.lock`), one worker at a time.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from lhyrl.config import ConfigError, make_config
from lhyrl.tune.lock import BudgetLock
from lhyrl.tune.objective import Objective, SurplusTrialError, search_seeds
from lhyrl.tune.space import SearchSpace, load_space

SAMPLERS = ("grid", "random", "tpe", "cmaes")
PRUNERS = ("none", "median", "halving", "wilcoxon")
DB_FILE = "study.db"
DEMO_EPISODES = 20
"""Expert episodes recorded into the study folder when an imitation study is given no demos."""
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
SCHEMA_ATTEMPTS = 5
"""Tries to open a storage whose tables another worker may be creating."""
PATH_KEYS = ("demos", "init", "user_model", "backward_model")
"""Config keys naming files: made absolute."""


@dataclass(frozen=True, kw_only=True)
class TuneSettings:
    """Everything a ``lhyrl tune`` worker needs (picklable: ``n_jobs`` workers are processes)."""

    algo: str
    env: str
    values: dict[str, Any] = field(default_factory=dict)
    """Fixed config keys (from ``--config`` and flags) over the space's ``fixed`` and preset."""
    space_file: str | None = None
    metric: str | None = None
    """Overrides the space's metric."""
    direction: str | None = None
    """Overrides the space's direction."""
    sampler: str = "tpe"
    sampler_seed: int | None = None
    pruner: str = "median"
    pruner_startup_trials: int = 5
    """Trials that finish before the median or Wilcoxon pruner prunes anything."""
    n_trials: int | None = None
    timeout: float | None = None
    seeds: int = 3
    storage: str | None = None
    study_name: str | None = None
    study_dir: str | None = None
    n_jobs: int = 1
    heartbeat: int = 60
    """Seconds between a running trial's heartbeats; a trial silent for two is failed."""
    reevaluate: bool = True
    """Re-evaluate the best trial on new seeds at the end."""

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.pruner not in PRUNERS:
            raise ConfigError(f"pruner must be one of {', '.join(PRUNERS)}, got {self.pruner!r}")
        for name, low in (("seeds", 1), ("n_jobs", 1), ("heartbeat", 1), ("n_trials", 1)):
            value = getattr(self, name)
            if value is not None and value < low:
                raise ConfigError(f"{name} must be at least {low}, got {value}")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"timeout must be positive seconds, got {self.timeout}")
        for key in ("algo", "env"):
            if key in self.values:
                raise ConfigError(f"give {key} as its own argument, not among the config values")

    @property
    def name(self) -> str:
        """The study's name: given, or ``<algo>-<env>``."""
        return self.study_name or f"{self.algo}-{slug(self.env)}"

    @property
    def folder(self) -> Path:
        """The study's folder."""
        if self.study_dir is not None:
            return Path(self.study_dir)
        return Path(str(self.values.get("runs_dir", "runs"))) / "tune" / self.name

    @property
    def storage_url(self) -> str:
        """The storage's URL: given, or SQLite in the study folder."""
        return self.storage or f"sqlite:///{(self.folder / DB_FILE).resolve()}"

    @property
    def base_seed(self) -> int:
        """The first training seed of every trial."""
        return int(self.values.get("seed", 0))


def slug(env: str) -> str:
    """An env id as a file name (``lhyrl/Driving-v0`` -> ``lhyrl-Driving-v0``)."""
    return env.replace("/", "-").replace(":", "-")


def open_space(settings: TuneSettings) -> SearchSpace:
    """The study's search space, with ``--metric``/``--direction`` applied."""
    space = load_space(settings.algo, settings.env, settings.space_file)
    changes: dict[str, Any] = {}
    if settings.metric:
        changes["metric"] = settings.metric
    if settings.direction:
        if settings.direction not in ("maximize", "minimize"):
            raise ConfigError(f"direction must be maximize or minimize, got {settings.direction!r}")
        changes["direction"] = settings.direction
    if changes:
        space = SearchSpace(**{**vars(space), **changes})
    return space


def base_values(settings: TuneSettings, space: SearchSpace) -> dict[str, Any]:
    """Every trial's starting config values: the space's fixed keys, then the user's.

    Raises:
        ConfigError: If the user fixes a key that the space searches, or the values are invalid.
    """
    searched = sorted(set(space.names) & set(settings.values))
    if searched:
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in searched)
        raise ConfigError(
            f"{', '.join(searched)} searched by the space ({space.source}) and also set "
            f"({flags} or --config): drop it there, or pass a --space without it"
        )
    values = {**space.fixed, **settings.values, "algo": settings.algo, "env": settings.env}
    for key in PATH_KEYS:  # best.yaml and the workers must find them from any folder
        if isinstance(values.get(key), str) and os.path.exists(values[key]):
            values[key] = os.path.abspath(values[key])
    make_config(values)  # refuses a bad key or value before anything is written
    return values


def record_demos_if_needed(values: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``values`` with demonstrations, recorded from the env's expert if they need some.

    An imitation algorithm that learns from demonstrations and is given none gets
    :data:`DEMO_EPISODES` episodes of the env's shipped expert, recorded once into the study
    folder (later workers and resumes reuse the file).
    """
    config = make_config(values)
    if config.spec.family != "imitation" or config.demonstrations.demos is not None:
        return values
    if config.algo == "dagger":  # DAgger learns from its expert's labels alone
        return values
    from lhyrl.runs import collect_demos

    path = (folder / "demos" / f"{slug(config.env)}-expert-{DEMO_EPISODES}.npz").resolve()
    if not path.is_file():
        try:
            collect_demos(
                env_id=config.env, episodes=DEMO_EPISODES, out=path, progress=False, overwrite=True
            )
        except ValueError as err:
            raise ConfigError(
                f"{config.algo} needs demonstrations and {config.env} has no shipped expert to "
                f"record them ({err}): pass --demos FILE"
            ) from err
        print(
            f"recorded {DEMO_EPISODES} episodes of {config.env}'s shipped expert -> {path} "
            "(pass --demos to use your own)"
        )
    return {**values, "demos": str(path)}


def make_storage(settings: TuneSettings) -> optuna.storages.RDBStorage:
    """The study's RDB storage, with heartbeats and the retry of a killed worker's trial."""
    url = with_driver(settings.storage_url)
    if url.startswith("sqlite:///"):
        settings.folder.mkdir(parents=True, exist_ok=True)
        engine: dict[str, Any] = {"connect_args": {"timeout": 60}}
    else:
        engine = {"pool_pre_ping": True}
    import sqlalchemy.exc

    # Workers started together on an empty database race to create Optuna's tables: the
    # losers' CREATE fails on the winner's tables, and a second look finds them made.
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            with quiet_optuna():
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine,
                    heartbeat_interval=settings.heartbeat,
                    grace_period=2 * settings.heartbeat,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                        max_retry=2
                    ),
                )
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == SCHEMA_ATTEMPTS - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
        except ImportError as err:  # Optuna's word for a missing database driver
            raise ConfigError(
                f"no Python driver for the storage {masked(url)}: install the one SQLAlchemy "
                "names for it (lhyrl installs psycopg, PostgreSQL's)"
            ) from err
    raise AssertionError("unreachable")


def make_sampler(
    settings: TuneSettings, space: SearchSpace, worker: int = 0
) -> optuna.samplers.BaseSampler:
    """The sampler named in ``settings`` (seeded per worker where a seed is given)."""
    seed = None if settings.sampler_seed is None else settings.sampler_seed + worker
    if settings.sampler == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if settings.sampler == "cmaes":
        # CMA-ES samples float and int keys; categorical ones fall back to random sampling.
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(settings: TuneSettings) -> optuna.pruners.BasePruner:
    """The pruner named in ``settings``."""
    startup = settings.pruner_startup_trials
    if settings.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup)
    if settings.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if settings.pruner == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=2)
    return optuna.pruners.NopPruner()


STUDY_ATTRS = ("algo", "env", "metric", "direction", "space", "seed", "seeds")


def open_study(settings: TuneSettings, space: SearchSpace, worker: int = 0) -> optuna.Study:
    """Create the study, or load it by name; a study made for other settings is refused."""
    study = optuna.create_study(
        storage=make_storage(settings),
        study_name=settings.name,
        sampler=make_sampler(settings, space, worker),
        pruner=make_pruner(settings),
        direction=optuna.study.StudyDirection[space.direction.upper()],
        load_if_exists=True,
    )
    wanted = {
        "algo": settings.algo,
        "env": settings.env,
        "metric": space.metric,
        "direction": space.direction,
        "space": space.fingerprint(),
        "seed": settings.base_seed,
        "seeds": settings.seeds,
    }
    have = study.user_attrs
    differ = [k for k in STUDY_ATTRS if k in have and have[k] != wanted[k]]
    if differ:
        detail = ", ".join(f"{k}: {have[k]!r} there, {wanted[k]!r} here" for k in differ)
        raise ConfigError(
            f"study {settings.name!r} in {masked(settings.storage_url)} was made with other "
            f"settings ({detail}); resume it with its own, or pass a new --study-name"
        )
    for key in STUDY_ATTRS:
        if key not in have:
            study.set_user_attr(key, wanted[key])
    return study


def with_driver(url: str) -> str:
    """``url`` with psycopg (3) as the driver of a bare ``postgresql://`` URL.

    SQLAlchemy 2.0 reads a bare URL as psycopg2's, 2.1 as psycopg's; lhyrl installs psycopg.
    """
    import sqlalchemy.exc
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError as err:
        raise ConfigError(
            "storage must be a database URL such as postgresql://user:password@host/db or "
            f"sqlite:///path/study.db, got {url!r}"
        ) from err
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def masked(url: str) -> str:
    """A storage URL with its password hidden."""
    import sqlalchemy.exc
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return "(not a database URL)"


def trial_budget(settings: TuneSettings, space: SearchSpace) -> int | None:
    """The study's total of finished trials (the grid's size at most for the grid sampler)."""
    if settings.sampler != "grid":
        if settings.n_trials is None and settings.timeout is None:
            return 20
        return settings.n_trials
    size = space.grid_size()
    if settings.n_trials is not None and settings.n_trials > size:
        print(f"the grid has {size} points: running {size} trials, not {settings.n_trials}")
    return size if settings.n_trials is None else min(settings.n_trials, size)


def prepare(settings: TuneSettings) -> tuple[SearchSpace, dict[str, Any]]:
    """Check the settings, the space and the config; record demonstrations if needed."""
    with_driver(settings.storage_url)  # refuses a malformed storage URL before any work
    space = open_space(settings)
    values = base_values(settings, space)
    if settings.sampler == "grid":
        space.grid()  # refuses a float or int key without grid points
    if settings.pruner == "wilcoxon" and settings.seeds < 4:
        print(
            f"note: the Wilcoxon pruner compares trials seed by seed; with {settings.seeds} "
            "seeds no difference reaches p < 0.1 (the smallest one-sided p of n pairs is "
            "2^-n): use --seeds 4 or more for it to prune"
        )
    return space, record_demos_if_needed(values, settings.folder)


def run_worker(
    settings: TuneSettings,
    worker: int = 0,
    prepared: tuple[SearchSpace, dict[str, Any]] | None = None,
) -> None:
    """Run trials until the study holds its budget of finished trials, or the timeout."""
    space, values = prepared or prepare(settings)
    study = open_study(settings, space, worker)
    budget = trial_budget(settings, space)
    objective = Objective(
        base=values,
        space=space,
        seeds=search_seeds(settings.base_seed, settings.seeds),
        study_dir=settings.folder.resolve(),
        pruner=settings.pruner,
        n_trials=budget,
    )
    deadline = None if settings.timeout is None else time.monotonic() + settings.timeout
    lock = BudgetLock(url=with_driver(settings.storage_url), study_name=settings.name)
    objective.on_trial_start = lock.release  # the trial exists: the next worker may count
    first = True
    try:
        while deadline is None or time.monotonic() < deadline:
            optuna.storages.fail_stale_trials(study)  # a killed worker's trial: FAIL, queued
            with lock:
                counts = state_counts(study)
                finished = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
                if budget is not None and finished >= budget:
                    if first:
                        print(
                            f"study {settings.name} already holds {finished} finished trials "
                            f"(--n-trials {budget}): raise --n-trials to add more"
                        )
                    break
                first = False
                if (
                    budget is not None
                    and finished + counts[TrialState.RUNNING] >= budget
                    and not counts[TrialState.WAITING]
                ):
                    lock.release()
                    time.sleep(1)  # others' last trials (or a dead one's)
                    continue
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                study.optimize(
                    objective,
                    n_trials=1,
                    timeout=remaining,
                    catch=(SurplusTrialError,),
                    gc_after_trial=False,
                )
            if settings.sampler == "grid" and grid_done(study, space):
                break
    finally:
        lock.close()


def grid_done(study: optuna.Study, space: SearchSpace) -> bool:
    """Whether every grid point has a finished trial."""
    seen = {tuple(t.params.get(n) for n in space.names) for t in study.get_trials(states=FINISHED)}
    return len(seen) >= space.grid_size()


def state_counts(study: optuna.Study) -> dict[TrialState, int]:
    """How many of the study's trials are in each state."""
    counts = dict.fromkeys(TrialState, 0)
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state] += 1
    return counts


def tune(settings: TuneSettings) -> dict[str, Any]:
    """Run a study (or add to it), then write its reports; the summary (``summary.json``).

    With ``n_jobs`` > 1 the workers are spawned processes: a script calling this must do so
    under ``if __name__ == "__main__":``, as :mod:`multiprocessing` requires.

    Raises:
        ConfigError: For a bad setting, search space or config, or a study of that name made
            with other settings.
    """
    from lhyrl.tune.report import finish

    with quiet_optuna():
        prepared = prepare(settings)
        run_workers(settings, prepared)
        return finish(settings, *prepared)


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Hide Optuna's notes that heartbeats, retries and plots are experimental features."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def run_workers(settings: TuneSettings, prepared: tuple[SearchSpace, dict[str, Any]]) -> None:
    """Run ``n_jobs`` workers: this process alone, or as many worker processes."""
    if settings.n_jobs == 1:
        run_worker(settings, 0, prepared)
        return
    open_study(settings, prepared[0])  # the database and the study, before the workers start
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_worker_main, args=(settings, worker), name=f"lhyrl-tune-{worker}")
        for worker in range(settings.n_jobs)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
    failed = [f"{p.name}: exit {p.exitcode}" for p in workers if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"tune workers failed ({', '.join(failed)}); see their errors above")


def _worker_main(settings: TuneSettings, worker: int) -> None:
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("TQDM_DISABLE", "1")
    with quiet_optuna():
        run_worker(settings, worker)
