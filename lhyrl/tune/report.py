"""What a finished study writes: the best trial re-evaluated, ``best.yaml``, tables and plots.

In the study folder:

- ``best.yaml``: the best trial's whole config, flat; ``lhyrl train --config best.yaml`` trains
  it as is;
- ``trials.csv``: one row per trial (number, state, value, each seed's value, parameters,
  duration, the trial a retried one repeats, its run folders);
- ``plots/{history,importance,parallel_coordinate}.{html,png}``: Optuna's plots, interactive
  (plotly, with ``plotly.min.js`` beside them, so they open offline) and as images
  (``optuna.visualization.matplotlib``);
- ``summary.json``: the study, its counts, the best trial's search score and its re-evaluation
  on new seeds, the files, and the ``optuna-dashboard`` command.
"""

from __future__ import annotations

import csv
import io
import statistics
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from lhyrl.config import make_config
from lhyrl.files import atomic_write, atomic_write_text
from lhyrl.runs import train_run
from lhyrl.runs.common import write_json
from lhyrl.tune.objective import (
    FINAL_EVAL_SEED_OFFSET,
    final_metric,
    final_seeds,
    search_seeds,
    trial_params,
)
from lhyrl.tune.space import SearchSpace

PLOTS = ("history", "importance", "parallel_coordinate")
LEFT_OUT_OF_BEST = ("runs_dir", "preset")
"""Keys ``best.yaml`` leaves out: a new run goes to the default runs folder."""


def finish(settings: Any, space: SearchSpace, values: dict[str, Any]) -> dict[str, Any]:
    """Re-evaluate the best trial, write the study folder's reports; the summary."""
    from lhyrl.tune.study import make_storage, masked, state_counts

    study = optuna.load_study(study_name=settings.name, storage=make_storage(settings))
    folder = settings.folder
    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): n for state, n in state_counts(study).items() if n}
    summary: dict[str, Any] = {
        "study": settings.name,
        "storage": masked(settings.storage_url),
        "folder": str(folder.resolve()),
        "algo": settings.algo,
        "env": settings.env,
        "metric": space.metric,
        "direction": space.direction,
        "space": space.source,
        "sampler": settings.sampler,
        "pruner": settings.pruner,
        "seeds": search_seeds(settings.base_seed, settings.seeds),
        "trials": counts,
        "best": None,
        "reevaluation": None,
    }
    write_trials_csv(folder / "trials.csv", trials, space)
    summary["plots"], summary["plots_skipped"] = write_plots(study, folder / "plots")
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if complete:
        best = study.best_trial
        params = trial_params(best)
        summary["best"] = {
            "number": best.number,
            "value": best.value,
            "seed_values": best.user_attrs.get("seed_values"),
            "params": params,
            "run_dirs": best.user_attrs.get("run_dirs"),
        }
        if settings.reevaluate:
            summary["reevaluation"] = reevaluate(study, best, settings, space, values)
        write_best_yaml(folder / "best.yaml", {**values, **params}, summary)
        summary["best_yaml"] = str((folder / "best.yaml").resolve())
    summary["dashboard"] = f"optuna-dashboard {summary['storage']}"
    write_json(folder / "summary.json", summary)
    return summary


def reevaluate(
    study: optuna.Study,
    best: FrozenTrial,
    settings: Any,
    space: SearchSpace,
    values: dict[str, Any],
) -> dict[str, Any]:
    """Train the best trial's config on new seeds, evaluated on new episodes (once per trial).

    The result is kept in the study (a user attribute), so another worker or a resume with the
    same best trial reads it instead of training again.
    """
    key = f"reevaluation:{best.number}"
    if key in study.user_attrs:
        return dict(study.user_attrs[key])
    count = len(best.user_attrs.get("seeds", [])) or settings.seeds
    seeds = final_seeds(settings.base_seed, count)
    runs_dir = settings.folder.resolve() / "best" / f"{best.number:04d}"
    eval_seed = make_config(values).eval_seed + FINAL_EVAL_SEED_OFFSET
    scores, run_dirs = [], []
    for seed in seeds:
        config = make_config(
            {
                **values,
                **trial_params(best),
                "seed": seed,
                "eval_seed": eval_seed,
                "runs_dir": str(runs_dir),
            }
        )
        run_dir = train_run(config)
        scores.append(final_metric(run_dir, space.metric))
        run_dirs.append(str(run_dir.relative_to(settings.folder.resolve())))
    result = {
        "trial": best.number,
        "seeds": seeds,
        "eval_seed": eval_seed,
        "values": scores,
        "mean": statistics.fmean(scores),
        "std": statistics.pstdev(scores),
        "run_dirs": run_dirs,
    }
    study.set_user_attr(key, result)
    return result


def write_best_yaml(path: Path, values: dict[str, Any], summary: dict[str, Any]) -> None:
    """The best trial's whole config as a flat ``--config`` file, with its scores on top."""
    config = make_config(values).to_dict()
    for key in LEFT_OUT_OF_BEST:
        config.pop(key, None)
    best, again = summary["best"], summary["reevaluation"]
    metric = summary["metric"]
    lines = [
        f"# The best trial ({best['number']}) of study {summary['study']} "
        f"({summary['sampler']} sampler): {metric} {best['value']:.4g},",
        f"# the mean over the search's seeds {summary['seeds']}.",
    ]
    if again is not None:
        lines.append(
            f"# Re-evaluated on new seeds {again['seeds']} and new episodes "
            f"(eval_seed {again['eval_seed']}): {metric} {again['mean']:.4g}."
        )
    lines.append("# Train it: lhyrl train --config best.yaml")
    text = "\n".join(lines) + "\n" + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    atomic_write_text(path, text)


def write_trials_csv(path: Path, trials: list[FrozenTrial], space: SearchSpace) -> None:
    """One row per trial: number, state, value, seeds' values, parameters, times, retries."""
    names = list(dict.fromkeys([*space.names, *(n for t in trials for n in t.params)]))
    header = [
        "number",
        "state",
        "value",
        "seed_values",
        *(f"params_{n}" for n in names),
        "duration_s",
        "datetime_start",
        "datetime_complete",
        "retried_trial",
        "run_dirs",
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for trial in trials:
        seed_values = trial.user_attrs.get("seed_values", [])
        duration = trial.duration.total_seconds() if trial.duration is not None else ""
        writer.writerow(
            [
                trial.number,
                trial.state.name,
                "" if trial.value is None else trial.value,
                " ".join(f"{v:.6g}" for v in seed_values),
                *(trial.params.get(n, "") for n in names),
                duration,
                trial.datetime_start or "",
                trial.datetime_complete or "",
                optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(trial) or "",
                " ".join(trial.user_attrs.get("run_dirs", [])),
            ]
        )
    atomic_write_text(path, out.getvalue())


def write_plots(study: optuna.Study, folder: Path) -> tuple[list[str], dict[str, str]]:
    """Optuna's three plots as HTML and PNG; the files written, and why any plot was not."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization as vis
    import optuna.visualization.matplotlib as vis_png
    from plotly.offline import get_plotlyjs

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    names = {n for t in complete for n in t.params}
    skipped: dict[str, str] = {}
    if not complete:
        return [], dict.fromkeys(PLOTS, "no complete trial")
    wanted = dict.fromkeys(PLOTS, True)
    if len(complete) < 2 or len(names) < 2:
        wanted["importance"] = False
        skipped["importance"] = "needs 2 complete trials and 2 searched parameters"
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    makers: dict[str, tuple[Callable[..., Any], Callable[..., Any], dict[str, Any]]] = {
        "history": (vis.plot_optimization_history, vis_png.plot_optimization_history, {}),
        "importance": (
            vis.plot_param_importances,
            vis_png.plot_param_importances,
            {"evaluator": evaluator},
        ),
        "parallel_coordinate": (vis.plot_parallel_coordinate, vis_png.plot_parallel_coordinate, {}),
    }
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "plotly.min.js").is_file():
        atomic_write_text(folder / "plotly.min.js", get_plotlyjs())
    for name, (html_plot, png_plot, kwargs) in makers.items():
        if not wanted[name]:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # matplotlib's note on a parameter with one value in the plot ("identical low
            # and high ylims") says nothing to a user
            warnings.filterwarnings(
                "ignore", message=".*identical low and high", category=UserWarning
            )
            try:
                figure = html_plot(study, **kwargs)
                html = figure.to_html(include_plotlyjs="directory", full_html=True)
                axes = png_plot(study, **kwargs)
            except (ValueError, RuntimeError, ZeroDivisionError) as err:
                skipped[name] = f"Optuna could not draw it: {err}"
                continue
        atomic_write_text(folder / f"{name}.html", html)
        png = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        png.set_size_inches(8, 5)
        png.tight_layout()
        atomic_write(folder / f"{name}.png", partial(png.savefig, format="png", dpi=100))
        plt.close(png)
        written += [f"plots/{name}.html", f"plots/{name}.png"]
    return written, skipped


def summary_text(summary: dict[str, Any]) -> str:
    """A few lines for the terminal: the counts, the best trial, its re-evaluation, the files."""
    counts = ", ".join(f"{n} {state}" for state, n in summary["trials"].items())
    lines = [f"study {summary['study']} ({summary['storage']}): {counts}"]
    best, again = summary["best"], summary["reevaluation"]
    metric = summary["metric"]
    if best is None:
        lines.append("no trial completed: no best.yaml")
    else:
        seeds = ", ".join(f"{v:.4g}" for v in best["seed_values"] or [])
        lines.append(
            f"best trial {best['number']}: {metric} {best['value']:.4g} "
            f"(seeds {summary['seeds']}: {seeds}) with {best['params']}"
        )
        if again is not None:
            values = ", ".join(f"{v:.4g}" for v in again["values"])
            lines.append(
                f"re-evaluated on new seeds {again['seeds']}: {metric} {again['mean']:.4g} "
                f"({values})"
            )
        lines.append(f"train it: lhyrl train --config {summary['best_yaml']}")
    lines.append(f"trials table, plots, summary.json: {summary['folder']}")
    lines.append(f"TensorBoard (HParams): tensorboard --logdir {summary['folder']}/trials")
    lines.append(f"dashboard: {summary['dashboard']}")
    return "\n".join(lines)
