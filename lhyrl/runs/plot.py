"""Learning curves of finished runs, grouped by algorithm, with a band over seeds (``lhyrl plot``).

Each run directory is read for one metric (a TensorBoard tag such as ``eval/normalized_return``
or ``train/loss``):

* against ``step`` (the default): from the run's TensorBoard events, where every scalar has the
  step it was logged at (the learn unit's count: epochs, env steps, iterations). When a step
  was logged twice (a periodic evaluation and the final one at the same step) the last value
  counts;
* against a column of ``progress.csv`` (``x="train/epoch"``, ``"time/total_timesteps"``...):
  from the CSV rows that hold both columns. SB3's CSV has no step column and an evaluation
  row holds only ``eval/*``, so evaluation metrics plot against ``step``.

Runs are grouped by ``(algo, env)`` from their ``config.yaml``; one panel per env, one line per
algorithm. Seeds of a group are interpolated onto the steps they all cover, and the line is
their mean (a group evaluated at one step only is a point with an error bar); the
band is a 95% bootstrap confidence interval of the mean over seeds (percentile,
2,000 resamples, seeded), or mean +- one standard deviation (``band="std"``). A group of one
run has no band.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import yaml

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Curve", "plot_runs", "read_curve", "save_plot"]

PROGRESS_FILE = "progress.csv"
CONFIG_FILE = "config.yaml"


@dataclass(frozen=True)
class Curve:
    """One run's metric against x.

    Attributes:
        run_dir: The run directory.
        algo: The run's algorithm (``config.yaml``).
        env: The run's env id.
        seed: The run's seed.
        x: (K,) x values, increasing.
        y: (K,) the metric at each x.
    """

    run_dir: Path
    algo: str
    env: str
    seed: int
    x: np.ndarray
    y: np.ndarray


def _from_events(run_dir: Path, metric: str) -> tuple[np.ndarray, np.ndarray]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0}).Reload()
    tags = events.Tags().get("scalars", [])
    if metric not in tags:
        shown = ", ".join(sorted(tags)) or "none"
        raise ValueError(f"{run_dir}: no scalar {metric!r} in its TensorBoard events ({shown})")
    by_step = {int(e.step): float(e.value) for e in events.Scalars(metric)}  # last value wins
    steps = sorted(by_step)
    return np.array(steps, dtype=np.float64), np.array([by_step[s] for s in steps])


def _from_csv(run_dir: Path, metric: str, x: str) -> tuple[np.ndarray, np.ndarray]:
    path = run_dir / PROGRESS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no {PROGRESS_FILE}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        for name in (metric, x):
            if name not in columns:
                raise ValueError(f"{path}: no column {name!r} (columns: {', '.join(columns)})")
        pairs = [(row[x], row[metric]) for row in reader if row.get(x) and row.get(metric)]
    if not pairs:
        raise ValueError(
            f"{path}: no row holds both {x!r} and {metric!r} (evaluation rows hold only "
            "eval/*: plot them against step)"
        )
    by_x = {float(a): float(b) for a, b in pairs}
    xs = sorted(by_x)
    return np.array(xs), np.array([by_x[v] for v in xs])


def read_curve(run_dir: str | os.PathLike[str], metric: str, *, x: str = "step") -> Curve:
    """One run's ``metric`` against ``x`` (``"step"``: TensorBoard events; else a CSV column).

    Raises:
        FileNotFoundError: If the folder has no ``config.yaml`` (it is not a run directory).
        ValueError: If the metric (or the x column) is missing or never logged; the message
            lists what the run has.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    config = yaml.safe_load((run_dir / CONFIG_FILE).read_text(encoding="utf-8")) or {}
    xs, ys = _from_events(run_dir, metric) if x == "step" else _from_csv(run_dir, metric, x)
    return Curve(
        run_dir=run_dir,
        algo=str(config.get("algo", "?")),
        env=str(config.get("env", "?")),
        seed=int(config.get("seed", 0)),
        x=xs,
        y=ys,
    )


def _band(
    values: np.ndarray, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of (S, K) seed curves, and the band's low and high, each (K,)."""
    mean = values.mean(0)  # (K,)
    if len(values) < 2:
        return mean, mean, mean
    if kind == "std":
        std = values.std(0)
        return mean, mean - std, mean + std
    resampled = rng.integers(0, len(values), (2000, len(values)))  # (B, S)
    means = values[resampled].mean(1)  # (B, K)
    low, high = np.percentile(means, [2.5, 97.5], axis=0)
    return mean, low, high


def _aligned(curves: Sequence[Curve]) -> tuple[np.ndarray, np.ndarray]:
    """The seeds' curves on the x values inside every seed's range: (K,) x and (S, K) y."""
    start = max(c.x[0] for c in curves)
    end = min(c.x[-1] for c in curves)
    grid = np.unique(np.concatenate([c.x for c in curves]))
    grid = grid[(grid >= start) & (grid <= end)]  # (K,)
    return grid, np.stack([np.interp(grid, c.x, c.y) for c in curves])  # (S, K)


def plot_runs(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    metric: str = "eval/normalized_return",
    x: str = "step",
    band: Literal["ci", "std"] = "ci",
    title: str | None = None,
    seed: int = 0,
) -> Figure:
    """Learning curves of runs grouped by algorithm: mean over seeds and a band.

    Args:
        run_dirs: Run directories written by ``lhyrl train``.
        metric: The scalar to plot (a TensorBoard tag / ``progress.csv`` column).
        x: ``"step"`` (TensorBoard steps) or a ``progress.csv`` column.
        band: ``"ci"``: 95% bootstrap CI of the mean over seeds; ``"std"``: +- one std.
        title: The figure's title; default the metric.
        seed: Seeds the bootstrap.

    Returns:
        The figure: one panel per env, one line (and band) per algorithm, legend with the
        number of seeds.

    Raises:
        ValueError: If no run is given, or a run lacks the metric.
    """
    if not run_dirs:
        raise ValueError("no run directories given")
    if band not in ("ci", "std"):
        raise ValueError(f"band must be 'ci' or 'std', got {band!r}")
    from matplotlib.figure import Figure

    curves = [read_curve(d, metric, x=x) for d in run_dirs]
    envs = sorted({c.env for c in curves})
    figure = Figure(figsize=(6.4 * len(envs), 4.6), dpi=120)
    axes = figure.subplots(1, len(envs), squeeze=False)[0]
    rng = np.random.default_rng(seed)
    band_text = "95% bootstrap CI of the mean" if band == "ci" else "mean +- 1 std"
    for ax, env in zip(axes, envs, strict=True):
        algos = sorted({c.algo for c in curves if c.env == env})
        for algo in algos:
            group = sorted((c for c in curves if (c.env, c.algo) == (env, algo)), key=_seed)
            grid, values = _aligned(group)
            if len(grid) == 0:
                raise ValueError(
                    f"the {algo} runs on {env} share no {x} range: "
                    + ", ".join(str(c.run_dir) for c in group)
                )
            mean, low, high = _band(values, band, rng)
            label = f"{algo} ({len(group)} seed{'s' if len(group) > 1 else ''})"
            if len(grid) == 1:  # one evaluation (e.g. only the final one): an error bar
                ax.errorbar(
                    grid,
                    mean,
                    yerr=[mean - low, high - mean],
                    label=label,
                    fmt="o",
                    capsize=5,
                    linewidth=2,
                )
                continue
            (line,) = ax.plot(
                grid, mean, label=label, linewidth=2, marker="." if len(grid) < 30 else None
            )
            if len(group) > 1:
                ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.25, linewidth=0)
        ax.set_xlabel(x)
        ax.set_ylabel(metric)
        ax.set_title(env)
        ax.grid(alpha=0.3)
        ax.legend(title=f"algorithm (band: {band_text})", fontsize=9, title_fontsize=8)
    figure.suptitle(title or f"{metric} over {x}")
    figure.tight_layout()
    return figure


def _seed(curve: Curve) -> int:
    return curve.seed


def save_plot(figure: Figure, path: str | os.PathLike[str]) -> str:
    """Write the figure atomically as PNG or SVG (by the suffix); returns the path."""
    from lhyrl.metrics.aggregate import save_figure

    if Path(path).suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"--out must end in .png or .svg, got {path}")
    return save_figure(figure, path)
