"""Studies on one machine: reports and best.yaml, the multi-seed value, grid, pruning, resume."""

from __future__ import annotations

import csv
import itertools
import json
import statistics
from pathlib import Path

import optuna
import pytest
from tune_helpers import LR_BATCH, TINY, TINY_FLAGS, cartpole_demos, eval_metric, lhyrl, write_space

from lhyrl.cli import main
from lhyrl.config import ConfigError
from lhyrl.tune import TuneSettings, tune
from lhyrl.tune.study import make_storage, open_space, open_study


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cartpole_demos(tmp_path_factory.mktemp("demos") / "cartpole.npz")


def settings(tmp_path: Path, demos: Path, space: Path, **changes: object) -> TuneSettings:
    values = {**TINY, "demos": str(demos)}
    defaults: dict[str, object] = {
        "algo": "bc",
        "env": "CartPole-v1",
        "values": values,
        "space_file": str(space),
        "sampler": "random",
        "sampler_seed": 0,
        "pruner": "none",
        "seeds": 1,
        "study_dir": str(tmp_path / "study"),
        "reevaluate": False,
    }
    return TuneSettings(**{**defaults, **changes})  # type: ignore[arg-type]


def load(s: TuneSettings) -> optuna.Study:
    return optuna.load_study(study_name=s.name, storage=make_storage(s))


def test_a_random_study_writes_its_reports_and_best_yaml_trains_as_is(
    demos: Path, tmp_path: Path
) -> None:
    space = write_space(tmp_path / "space.yaml", LR_BATCH)
    study = tmp_path / "study"
    out = lhyrl(
        "tune", "--algo", "bc", "--env", "CartPole-v1", "--demos", str(demos), *TINY_FLAGS,
        "--space", str(space), "--sampler", "random", "--sampler-seed", "1", "--pruner", "none",
        "--n-trials", "3", "--seeds", "2", "--study-dir", str(study),
    )  # fmt: skip
    assert "best trial" in out.stdout and "optuna-dashboard sqlite:///" in out.stdout
    for name in ("study.db", "trials.csv", "best.yaml", "summary.json"):
        assert (study / name).is_file(), name
    for plot in ("history", "importance", "parallel_coordinate"):
        assert (study / "plots" / f"{plot}.html").stat().st_size > 1000
        assert (study / "plots" / f"{plot}.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["trials"] == {"complete": 3} and summary["seeds"] == [0, 1]
    rows = list(csv.DictReader((study / "trials.csv").open()))
    assert [r["state"] for r in rows] == ["COMPLETE"] * 3
    # Each trial's value is the mean of its seeds' eval.json metric; each seed has its run.
    for row in rows:
        run_dirs = [study / d for d in row["run_dirs"].split()]
        assert sorted(json.loads((d / "eval.json").read_text())["seed"] for d in run_dirs) == [0, 1]
        assert all(list(d.glob("events.out.tfevents.*")) for d in run_dirs)  # TensorBoard
        mean = statistics.fmean(eval_metric(d) for d in run_dirs)
        assert float(row["value"]) == pytest.approx(mean, abs=1e-12)
        assert [float(v) for v in row["seed_values"].split()] == pytest.approx(
            [eval_metric(d) for d in run_dirs], rel=1e-5
        )
    best = summary["best"]
    assert best["value"] == max(float(r["value"]) for r in rows)
    # The re-evaluation trained the best config on seeds 2 and 3, new episodes.
    again = summary["reevaluation"]
    assert again["seeds"] == [2, 3] and again["eval_seed"] != 10_000
    assert again["mean"] == pytest.approx(
        statistics.fmean(eval_metric(study / d) for d in again["run_dirs"])
    )
    # best.yaml is a flat config that `lhyrl train --config` runs as is: with seed 0 it
    # retrains the best trial's first run, bit for bit.
    lhyrl("train", "--config", str(study / "best.yaml"), "--runs-dir", str(tmp_path / "again"))
    (run,) = (tmp_path / "again").iterdir()
    assert eval_metric(run) == best["seed_values"][0]
    config = json.loads(json.dumps(__import__("yaml").safe_load((study / "best.yaml").read_text())))
    assert config["learning_rate"] == best["params"]["learning_rate"]
    assert config["demos"] == str(demos) and "runs_dir" not in config


def test_the_grid_sampler_visits_every_point_of_the_files_grid(demos: Path, tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml", LR_BATCH)
    s = settings(
        tmp_path, demos, space, sampler="grid", values={**TINY, "demos": str(demos), "epochs": 1}
    )
    summary = tune(s)
    trials = load(s).trials
    visited = sorted((t.params["learning_rate"], t.params["batch_size"]) for t in trials)
    assert visited == sorted(itertools.product([3e-3, 3e-2], [32, 64]))
    assert summary["trials"] == {"complete": 4}


def test_the_median_pruner_stops_a_worse_trial_on_its_first_seeds_curve(
    demos: Path, tmp_path: Path
) -> None:
    space = write_space(tmp_path / "space.yaml", LR_BATCH)
    values = {**TINY, "demos": str(demos), "epochs": 10, "eval_every": 2}
    s = settings(
        tmp_path, demos, space, values=values, pruner="median", pruner_startup_trials=1,
        n_trials=2, seeds=2,
    )  # fmt: skip
    study = open_study(s, open_space(s))
    study.enqueue_trial({"learning_rate": 3e-2, "batch_size": 32})  # learns
    study.enqueue_trial({"learning_rate": 1e-3 + 1e-9, "batch_size": 64})  # hardly moves
    tune(s)
    good, bad = load(s).trials
    assert good.state == optuna.trial.TrialState.COMPLETE
    assert sorted(good.intermediate_values) == [2, 4, 6, 8, 10]  # the first seed's curve
    assert bad.state == optuna.trial.TrialState.PRUNED
    assert len(bad.user_attrs.get("run_dirs", [])) == 0  # stopped within its first seed
    assert max(bad.intermediate_values) < 10


def test_a_study_resumed_by_name_adds_to_its_trials(demos: Path, tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml", LR_BATCH)
    first = settings(tmp_path, demos, space, n_trials=2, study_name="mine")
    tune(first)
    tune(settings(tmp_path, demos, space, n_trials=3, study_name="mine", sampler="tpe"))
    trials = load(first).trials
    assert [t.number for t in trials] == [0, 1, 2]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert len(list((tmp_path / "study" / "trials").iterdir())) == 3
    # n_trials is the study's total: asking for 3 again runs nothing more.
    tune(settings(tmp_path, demos, space, n_trials=3, study_name="mine"))
    assert len(load(first).trials) == 3
    with pytest.raises(ConfigError, match=r"made with other settings.*metric"):
        tune(settings(tmp_path, demos, space, n_trials=4, study_name="mine", metric="return"))


def test_cli_errors_name_what_is_wrong(
    demos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_space(
        tmp_path / "bad.yaml", {"learning_rat": {"type": "float", "low": 0.1, "high": 1}}
    )
    good = write_space(tmp_path / "good.yaml", LR_BATCH)
    common = ["tune", "--algo", "bc", "--env", "CartPole-v1", "--demos", str(demos)]
    common += ["--study-dir", str(tmp_path / "s")]
    assert main([*common, "--space", str(bad)]) == 2
    assert "param 'learning_rat'" in capsys.readouterr().err
    assert main([*common, "--space", str(good), "--learning-rate", "0.1"]) == 2
    assert "learning_rate searched by the space" in capsys.readouterr().err
    assert main(["tune", "--algo", "bc"]) == 2
    assert "--algo ALGO --env ENV" in capsys.readouterr().err
    no_grid = write_space(
        tmp_path / "nogrid.yaml", {"epochs": {"type": "int", "low": 1, "high": 3}}
    )
    assert main([*common, "--space", str(no_grid), "--sampler", "grid"]) == 2
    assert "give epochs a grid: list" in capsys.readouterr().err
    assert main([*common, "--space", str(good), "--storage", "foo:/bar"]) == 2
    assert "storage must be a database URL" in capsys.readouterr().err
    assert main([*common, "--space", str(good), "--storage", "mysql://me:secret@h/db"]) == 2
    err = capsys.readouterr().err
    assert "no Python driver for the storage mysql://me:***@h/db" in err and "secret" not in err
    assert not (tmp_path / "s" / "trials").exists()  # nothing trained


def test_the_wilcoxon_pruner_stops_a_trial_worse_on_every_seed(demos: Path, tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml", LR_BATCH)
    values = {**TINY, "demos": str(demos), "epochs": 3}
    s = settings(tmp_path, demos, space, values=values, pruner="wilcoxon", n_trials=2, seeds=5)
    study = open_study(s, open_space(s))
    study.enqueue_trial({"learning_rate": 3e-2, "batch_size": 32})
    study.enqueue_trial({"learning_rate": 1e-3 + 1e-9, "batch_size": 64})
    tune(s)
    good, bad = load(s).trials
    assert good.state == optuna.trial.TrialState.COMPLETE and len(good.user_attrs["run_dirs"]) == 5
    # Worse on each of 4 seeds (one-sided p = 1/16 < 0.1): pruned before the fifth.
    worse = bad.user_attrs["seed_values"]
    assert all(b < g for b, g in zip(worse, good.user_attrs["seed_values"][:4], strict=True))
    assert bad.state == optuna.trial.TrialState.PRUNED and len(bad.user_attrs["run_dirs"]) == 4


@pytest.mark.parametrize(("sampler", "pruner"), [("cmaes", "halving"), ("tpe", "median")])
def test_the_other_samplers_and_pruners_run_a_study(
    demos: Path, tmp_path: Path, sampler: str, pruner: str
) -> None:
    space = write_space(tmp_path / "space.yaml", LR_BATCH)
    s = settings(tmp_path, demos, space, sampler=sampler, pruner=pruner, n_trials=3)
    summary = tune(s)
    states = {t.state for t in load(s).trials}
    assert len(load(s).trials) == 3 and states <= {
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
    }
    assert summary["trials"].get("complete", 0) >= 1


def test_n_jobs_worker_processes_share_the_study_file(demos: Path, tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml", LR_BATCH)
    s = settings(tmp_path, demos, space, n_trials=4, n_jobs=2, sampler_seed=None)
    summary = tune(s)
    trials = load(s).trials
    assert [t.number for t in trials] == [0, 1, 2, 3] and summary["trials"] == {"complete": 4}
    assert len(list((tmp_path / "study" / "trials").iterdir())) == 4
