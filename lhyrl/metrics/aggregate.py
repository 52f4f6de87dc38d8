"""Aggregate scores over seeds and tasks with confidence intervals, through ``rliable``.

Agarwal et al. 2021, "Deep reinforcement learning at the edge of the statistical precipice"
(NeurIPS; the ``rliable`` package): with a few seeds per task, report interval estimates, not
point estimates:

* the interquartile mean (IQM: the mean of the middle 50% of all run-task scores) and the mean
  of normalized scores, each with a stratified-bootstrap 95% confidence interval (runs are
  resampled within each task);
* the probability of improvement ``P(X > Y)``: the chance that a run of agent X on a task beats
  a run of agent Y on it (Mann-Whitney U statistic averaged over tasks), with its interval;
* performance profiles: the share of runs scoring above each threshold tau, with bands.

Scores are (runs, tasks) arrays of normalized scores (e.g. expert-normalized returns: 0 random,
1 expert). rliable (and its bootstrap backend ``arch``) is imported when a function runs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Interval",
    "aggregate_scores",
    "performance_profile",
    "probability_of_improvement",
    "save_figure",
]


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval ``[low, high]``."""

    estimate: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def to_dict(self) -> dict[str, float]:
        """``{"estimate", "low", "high"}``, for JSON."""
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


def _score_matrix(scores: Any, name: str) -> np.ndarray:
    """``scores`` as a (runs, tasks) float array; a 1-D array is one task."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]  # (runs, 1)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"{name}: scores must be (runs, tasks), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: scores hold NaN or infinite values")
    if array.shape[0] < 2:
        raise ValueError(f"{name}: a bootstrap over runs needs at least 2 runs, got 1")
    return array


def _interval_estimates(
    score_dict: dict[str, Any], func: Any, *, reps: int, confidence: float, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Interval estimates by rliable's ``get_interval_estimates`` (percentile), seeded."""
    from rliable import library

    with warnings.catch_warnings():  # arch deprecates the random_state rliable 1.2 passes
        warnings.filterwarnings("ignore", "random_state is deprecated", FutureWarning)
        return library.get_interval_estimates(
            score_dict,
            func,
            reps=reps,
            confidence_interval_size=confidence,
            random_state=np.random.RandomState(seed),
        )


def _check_tasks(matrices: Mapping[str, np.ndarray]) -> None:
    tasks = {name: m.shape[1] for name, m in matrices.items()}
    if len(set(tasks.values())) > 1:
        raise ValueError(f"every agent needs scores on the same tasks; task counts: {tasks}")


def aggregate_scores(
    scores: Mapping[str, Any],
    *,
    reps: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, Interval]]:
    """IQM and mean of each agent's normalized scores, with stratified-bootstrap intervals.

    rliable's ``get_interval_estimates`` with ``aggregate_iqm`` and ``aggregate_mean``
    (Agarwal et al. 2021, sections 4.1-4.2), percentile intervals.

    Args:
        scores: Agent name → (runs, tasks) normalized scores (a 1-D array is one task); every
            agent on the same tasks, at least 2 runs each.
        reps: Bootstrap replications (the paper uses 50,000; 10,000 gives intervals stable to
            about 0.005 on scores near 1).
        confidence: Size of the intervals.
        seed: Seeds the bootstrap.

    Returns:
        Agent → ``{"iqm": Interval, "mean": Interval}``.

    Raises:
        ValueError: For no agents, NaN, a single run, or agents on different task counts.
    """
    if not scores:
        raise ValueError("no agents to aggregate")
    matrices = {name: _score_matrix(s, name) for name, s in scores.items()}
    _check_tasks(matrices)
    from rliable import metrics

    def both(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(x), metrics.aggregate_mean(x)])

    points, intervals = _interval_estimates(
        matrices, both, reps=reps, confidence=confidence, seed=seed
    )
    return {
        name: {
            key: Interval(
                float(points[name][i]), float(intervals[name][0, i]), float(intervals[name][1, i])
            )
            for i, key in enumerate(("iqm", "mean"))
        }
        for name in matrices
    }


def probability_of_improvement(
    x: Any, y: Any, *, reps: int = 2_000, confidence: float = 0.95, seed: int = 0
) -> Interval:
    """``P(X > Y)``: the chance that a run of agent X beats a run of agent Y, with its interval.

    rliable's ``probability_of_improvement`` (Agarwal et al. 2021, section 4.3): per task, the
    share of (x-run, y-run) pairs with x > y, ties counting half; averaged over tasks. 1: X
    always better, 0.5: no difference. The interval comes from a stratified bootstrap of both
    agents' runs.

    Args:
        x: (runs, tasks) scores of agent X.
        y: (runs, tasks) scores of agent Y, the same number of runs and tasks (the bootstrap
            resamples both together).
        reps: Bootstrap replications.
        confidence: Size of the interval.
        seed: Seeds the bootstrap.

    Raises:
        ValueError: For NaN, fewer than 2 runs, or shapes that differ.
    """
    mx, my = _score_matrix(x, "x"), _score_matrix(y, "y")
    if mx.shape != my.shape:
        raise ValueError(
            f"x and y need the same (runs, tasks) shape for the joint bootstrap: {mx.shape} "
            f"and {my.shape}"
        )
    from rliable import metrics

    points, intervals = _interval_estimates(
        {"x,y": (mx, my)},
        metrics.probability_of_improvement,
        reps=reps,
        confidence=confidence,
        seed=seed,
    )
    low, high = np.asarray(intervals["x,y"]).reshape(2)
    return Interval(float(points["x,y"]), float(low), float(high))


def performance_profile(
    scores: Mapping[str, Any],
    *,
    taus: Sequence[float] | None = None,
    reps: int = 2_000,
    seed: int = 0,
    title: str = "Performance profile",
) -> Figure:
    """Score distributions: the share of runs above each normalized score tau, with 95% bands.

    rliable's ``create_performance_profile`` (Agarwal et al. 2021, section 4.2; Dolan and Moré
    2002), drawn with matplotlib: one curve per agent, its stratified-bootstrap band shaded.

    Args:
        scores: Agent name → (runs, tasks) normalized scores.
        taus: Thresholds; default 101 points from 0 to the highest score (at least 1).
        reps: Bootstrap replications for the bands.
        seed: Seeds the bootstrap.
        title: The figure's title.

    Returns:
        The figure (save it with :func:`save_figure`).
    """
    if not scores:
        raise ValueError("no agents to plot")
    matrices = {name: _score_matrix(s, name) for name, s in scores.items()}
    _check_tasks(matrices)
    from matplotlib.figure import Figure
    from rliable import library

    if taus is None:
        top = max(1.0, max(float(m.max()) for m in matrices.values()))
        tau_grid = np.linspace(0.0, top, 101)  # (K,)
    else:
        tau_grid = np.asarray(taus, dtype=np.float64)  # (K,)

    def profile(x: np.ndarray) -> np.ndarray:  # what create_performance_profile bootstraps
        return library.score_distributions(x, tau_grid)  # (K,)

    # create_performance_profile takes no seed: bootstrap its profile function, seeded.
    profiles, bands = _interval_estimates(matrices, profile, reps=reps, confidence=0.95, seed=seed)
    figure = Figure(figsize=(6.4, 4.4), dpi=120)
    ax = figure.add_subplot()
    for name in matrices:
        (line,) = ax.plot(tau_grid, profiles[name], label=name, linewidth=2)
        low, high = bands[name]
        ax.fill_between(tau_grid, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(r"normalized score $\tau$")
    ax.set_ylabel(r"fraction of runs with score > $\tau$")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(title="agent (95% CI band)", loc="lower left")
    ax.set_title(title)
    figure.tight_layout()
    return figure


def save_figure(figure: Figure, path: str | os.PathLike[str]) -> str:
    """Write a matplotlib figure atomically; the format follows the suffix (.png, .svg, .pdf).

    Returns:
        The path written.
    """
    from lhyrl.files import atomic_write

    suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    if suffix not in ("png", "svg", "pdf"):
        raise ValueError(f"the figure's file must end in .png, .svg or .pdf, got {path}")

    def write(tmp: str) -> None:
        figure.savefig(tmp, format=suffix)

    return os.fspath(atomic_write(path, write))
