"""What every run family shares: the run directory, its logger, and what a family hands over.

A family module (:mod:`lhyrl.runs.imitation`, :mod:`lhyrl.runs.sequence`,
:mod:`lhyrl.runs.dialogue`) has two functions:

* ``prepare(config) -> Prepared``: check everything the run needs (env, data, init models)
  without writing anything, so a bad input leaves no run folder;
* ``evaluate_saved(run_dir, config, episodes, seed) -> Evaluation``: score a finished run's
  ``model.pt`` (``lhyrl eval``).

``Prepared.build(logger, run_dir)`` makes the trainer and returns a :class:`Built`: the
trainer, how to save ``model.pt``, and how to evaluate it (for ``--eval-every`` curves and the
final ``eval.json``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from stable_baselines3.common.logger import (
    CSVOutputFormat,
    HParam,
    Logger,
    TensorBoardOutputFormat,
)

from lhyrl.agents.trainer import Trainer
from lhyrl.config import RunConfig, make_config, read_yaml
from lhyrl.files import atomic_write_text

CONFIG_FILE = "config.yaml"
MODEL_FILE = "model.pt"
EVAL_FILE = "eval.json"
EVALUATIONS_FILE = "evaluations.json"
PROGRESS_FILE = "progress.csv"
CHECKPOINTS = "checkpoints"
TEXT_ONLY = ("stdout", "log", "json", "csv")
"""SB3 output formats that cannot show a text summary."""


class Evaluation(NamedTuple):
    """One evaluation: scalars logged as ``eval/<key>``, and the entries of ``eval.json``."""

    scalars: dict[str, float]
    report: dict[str, Any]


@dataclass
class Built:
    """A family's trainer for a run, and what the run layer does with it."""

    trainer: Trainer
    save: Callable[[Path], object]
    """Writes the trained model to the given ``model.pt``."""
    evaluate: Callable[[], Evaluation]
    """Scores the current model (periodic and final evaluation)."""
    summary: Callable[[], dict[str, Any]] = field(default=dict)
    """Extra ``eval.json`` entries after training (counts, samples)."""
    close: Callable[[], None] = field(default=lambda: None)
    """Releases envs and other resources."""
    film: Callable[[], tuple[list[Any], int]] | None = None
    """Renders one evaluation episode: its ``rgb_array`` frames and frame rate (None: the
    family or env has no frames)."""
    samples: Callable[[], str] | None = None
    """Decoded samples of the current model as Markdown text (sequence and dialogue runs)."""


class Prepared(Protocol):
    """A family's checked inputs for one run, ready to build its trainer."""

    def build(self, logger: Logger, run_dir: Path) -> Built:
        """Build the trainer, logging to ``logger``; may write files into ``run_dir``."""
        ...


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically (temp file, then rename)."""
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False))


def new_run_dir(config: RunConfig) -> Path:
    """``<runs_dir>/<env>__<algo>__<seed>__<time>``, made unique if that exists already."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    env = config.env.replace("/", "-").replace(":", "-")
    name = f"{env}__{config.algo}__{config.seed}__{stamp}"
    Path(config.runs_dir).mkdir(parents=True, exist_ok=True)
    run_dir = Path(config.runs_dir) / name
    suffix = 1
    while True:
        try:
            run_dir.mkdir()  # atomic: of two runs started in the same second, one gets -2
            return run_dir
        except FileExistsError:
            suffix += 1
            run_dir = Path(config.runs_dir) / f"{name}-{suffix}"


def open_run(run_dir: str | os.PathLike[str]) -> tuple[Path, RunConfig]:
    """A finished or interrupted run's directory and config.

    Raises:
        FileNotFoundError: If ``run_dir`` is not a run directory.
    """
    path = Path(run_dir)
    if not (path / CONFIG_FILE).is_file():
        what = "no such folder" if not path.exists() else f"it has no {CONFIG_FILE}"
        raise FileNotFoundError(f"no run at {path} ({what})")
    return path, make_config(read_yaml(path / CONFIG_FILE), use_preset=False)


class ResumableCSVOutputFormat(CSVOutputFormat):
    """SB3's CSV output that continues an existing ``progress.csv`` instead of truncating it."""

    def __init__(self, filename: str) -> None:
        path = Path(filename)
        if path.is_file() and path.stat().st_size > 0:
            self.file = open(path, "r+")  # noqa: SIM115 (closed by close())
            header = self.file.readline().rstrip("\n")
            self.keys = header.split(",") if header else []
            self.file.seek(0, os.SEEK_END)
        else:
            self.file = open(path, "w+")  # noqa: SIM115
            self.keys = []
        self.separator = ","
        self.quotechar = '"'


def run_logger(run_dir: Path) -> Logger:
    """The run's SB3 logger: TensorBoard events and ``progress.csv`` (appended to on resume)."""
    formats = [
        TensorBoardOutputFormat(str(run_dir)),
        ResumableCSVOutputFormat(str(run_dir / PROGRESS_FILE)),
    ]
    return Logger(folder=str(run_dir), output_formats=formats)


def log_text(logger: Logger, tag: str, text: str, step: int = 0) -> None:
    """Write a text summary (Markdown) to the logger's TensorBoard file, if it has one."""
    for output in logger.output_formats:
        if isinstance(output, TensorBoardOutputFormat):
            output.writer.add_text(tag, text, step)
            output.writer.flush()


def record_evaluation(logger: Logger, evaluation: Evaluation, step: int) -> None:
    """Log an evaluation's scalars as ``eval/<key>`` at ``step`` (the learn unit's count)."""
    for key, value in evaluation.scalars.items():
        logger.record(f"eval/{key}", value)
    logger.dump(step=step)


def every_units(
    every: int, action: Callable[[int], None], *, start: int = 0
) -> Callable[[Trainer, int], None]:
    """A learn callback calling ``action(done)`` each time ``done`` passes a multiple of ``every``.

    GAIL's env steps grow by whole rounds, hence "passes" rather than "hits". ``start`` is
    the units already done (after a resume), so nothing is repeated.
    """
    last = {"bucket": start // every if every > 0 else 0}

    def callback(trainer: Trainer, done: int) -> None:
        if every > 0 and done // every > last["bucket"]:
            last["bucket"] = done // every
            action(done)

    return callback


def film(logger: Logger, built: Built, step: int) -> None:
    """Log one evaluation episode of ``built`` as ``eval/video`` at ``step``."""
    if built.film is not None:
        from lhyrl.runs.video import log_video

        frames, fps = built.film()
        log_video(logger, "eval/video", frames, fps, step)


def log_samples(logger: Logger, built: Built, step: int) -> None:
    """Log ``built``'s decoded samples as the text summary ``samples/text`` at ``step``."""
    if built.samples is not None:
        log_text(logger, "samples/text", built.samples(), step)


def log_hyperparameters(logger: Logger, config: RunConfig, evaluation: Evaluation) -> None:
    """The run's config and final ``eval/*`` metrics in TensorBoard's HParams plugin."""
    hparams = {
        k: v if isinstance(v, int | float | str | bool) else str(v)
        for k, v in config.to_dict().items()
        if v is not None
    }
    metrics = {f"eval/{k}": float(v) for k, v in evaluation.scalars.items()}
    if metrics:
        logger.record("hparams", HParam(hparams, metrics), exclude=TEXT_ONLY)


class ProgressBar:
    """A tqdm bar over the units of learn, shown on a terminal only (as SB3's progress bar)."""

    def __init__(self, total: int, start: int, unit: str) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=start, unit=f" {unit}", disable=None, leave=False)
        self.done = start

    def __call__(self, trainer: Trainer, done: int) -> None:
        """Move the bar to ``done`` units."""
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        """Remove the bar."""
        self.bar.close()


def chain(*callbacks: Callable[[Trainer, int], Any] | None) -> Callable[[Trainer, int], None]:
    """One learn callback calling each of ``callbacks`` (``None`` entries are skipped)."""
    kept = [c for c in callbacks if c is not None]

    def callback(trainer: Trainer, done: int) -> None:
        for each in kept:
            each(trainer, done)

    return callback


class EvaluationHistory:
    """A run's periodic evaluations, kept in ``evaluations.json`` and its clock of training time.

    Each entry holds the learn unit's count at the evaluation (``step``), the seconds spent
    training before it (``train_seconds``: wall time since training began, less the periodic
    evaluations, videos and samples, which :meth:`excluding` times) and the evaluation's
    scalars, so a run's time to a score reads off the file, as SB3's ``evaluations.npz``
    gives its curve. The file is rewritten atomically after each evaluation. A resumed run
    keeps the entries up to its checkpoint's ``step`` and counts training seconds on from
    the last of them (the training between that evaluation and the interruption is not
    counted).
    """

    def __init__(self, run_dir: Path, *, resumed_at: int | None = None) -> None:
        """Start the clock; a resumed run (``resumed_at``: its checkpoint's count) reloads."""
        self.path = run_dir / EVALUATIONS_FILE
        self.entries: list[dict[str, Any]] = []
        if resumed_at is not None and self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = []  # an unreadable history is restarted, the run is not refused
            self.entries = [
                e for e in (loaded if isinstance(loaded, list) else []) if _kept(e, resumed_at)
            ]
        self._offset = float(self.entries[-1]["train_seconds"]) if self.entries else 0.0
        self._excluded = 0.0
        self._start = time.perf_counter()

    def train_seconds(self) -> float:
        """Seconds of training so far (wall time less the timed side actions)."""
        return self._offset + time.perf_counter() - self._start - self._excluded

    def excluding(self, action: Callable[[int], None]) -> Callable[[int], None]:
        """``action`` with its wall time left out of :meth:`train_seconds`."""

        def timed(step: int) -> None:
            begin = time.perf_counter()
            try:
                action(step)
            finally:
                self._excluded += time.perf_counter() - begin

        return timed

    def add(self, step: int, evaluation: Evaluation, train_seconds: float) -> None:
        """Append one evaluation and rewrite the file."""
        entry = {"step": int(step), "train_seconds": train_seconds, **evaluation.scalars}
        self.entries.append(entry)
        write_json(self.path, self.entries)


def _kept(entry: Any, resumed_at: int) -> bool:
    """Whether a saved evaluation entry is well formed and not past the resumed checkpoint."""
    if not isinstance(entry, dict):
        return False
    step, seconds = entry.get("step"), entry.get("train_seconds")
    numbers = all(isinstance(v, int | float) for v in (step, seconds))
    return numbers and step <= resumed_at
