"""The scripts and the ``lhyrl`` command, end to end on tiny budgets."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import minari
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lhyrl.data import load_demonstrations

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "MPLBACKEND": "Agg"}


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300
    )
    if check and out.returncode != 0:
        raise AssertionError(f"{args} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def lhyrl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("-m", "lhyrl.cli", *args, check=check)


def only_run_dir(runs: Path, algo: str) -> Path:
    (run_dir,) = [p for p in runs.iterdir() if f"__{algo}__" in p.name]
    return run_dir


@pytest.fixture(scope="module")
def demos(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demos") / "driving"
    run("scripts/collect_demos.py", "--episodes", "3", "--disturbance", "0.3", "--out", str(path))
    return path


def test_scripts_collect_train_and_evaluate_end_to_end(demos, tmp_path):
    out = run(
        "scripts/train.py", "--algo", "bc", "--env", "lhyrl/Driving-v0", "--demos", str(demos),
        "--seed", "1", "--epochs", "2", "--eval-episodes", "3", "--runs-dir", str(tmp_path),
    )  # fmt: skip
    run_dir = only_run_dir(tmp_path, "bc")
    assert run_dir.name.startswith("lhyrl-Driving-v0__bc__1__")
    assert str(run_dir) in out.stdout
    for name in ("config.yaml", "model.pt", "eval.json", "checkpoints/checkpoint.pt"):
        assert (run_dir / name).is_file(), name
    result = json.loads((run_dir / "eval.json").read_text())
    assert result["n_episodes"] == 3 and result["expert_episodes"] == 3
    assert result["normalized_return"] is not None

    (events,) = run_dir.glob("events.out.tfevents.*")
    tags = EventAccumulator(str(events)).Reload().Tags()
    for key in ("train/loss", "eval/return", "eval/normalized_return"):
        assert key in tags["scalars"], key
    assert "config/text_summary" in tags["tensors"]

    evaluated = json.loads(run("scripts/evaluate.py", str(run_dir), "--episodes", "2").stdout)
    assert evaluated["n_episodes"] == 2


def test_dagger_trains_through_the_lhyrl_command(demos, tmp_path):
    lhyrl(
        "train", "--algo", "dagger", "--demos", str(demos), "--demo-episodes", "1",
        "--rounds", "2", "--episodes-per-round", "1", "--epochs", "1", "--eval-episodes", "2",
        "--runs-dir", str(tmp_path),
    )  # fmt: skip
    result = json.loads((only_run_dir(tmp_path, "dagger") / "eval.json").read_text())
    assert result["expert_episodes"] == 3  # 1 demonstration + 2 rounds of 1 episode


def test_yaml_config_with_command_line_overrides(demos, tmp_path):
    config = tmp_path / "bc.yaml"
    config.write_text(f"algo: bc\ndemos: {demos}\nepochs: 5\nlearning_rate: 0.0005\n")
    lhyrl(
        "train", "--config", str(config), "--epochs", "1", "--eval-episodes", "2",
        "--runs-dir", str(tmp_path / "runs"),
    )  # fmt: skip
    saved = (only_run_dir(tmp_path / "runs", "bc") / "config.yaml").read_text()
    assert "epochs: 1\n" in saved and "learning_rate: 0.0005" in saved


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("epoch: 3\n", "unknown config key(s) ['epoch']; valid keys for bc are"),
        ("epochs: three\n", "config key 'epochs' must be int"),
        ("algo: sqil\n", "algo must be one of"),
        ("algo: gail\ntotal_timesteps: 0\n", "total_timesteps must be at least 1"),
        ("algo: gail\ndisc_loss: hinge-loss\n", "disc_loss must be one of bce, lsgan"),
        ("disc_loss: bce\n", "bc on a control env does not read the key(s) disc_loss"),
        ("- 1\n- 2\n", "must hold a mapping"),
    ],
)
def test_bad_config_gets_a_clear_error(tmp_path, yaml_text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)
    out = lhyrl("train", "--config", str(config), "--demos", "x", check=False)
    assert out.returncode == 2
    assert message in out.stderr


def test_mismatched_dataset_names_both_spaces(tmp_path):
    discrete = tmp_path / "discrete.npz"
    lhyrl("demos", "--env", "lhyrl/DrivingDiscrete-v0", "--episodes", "1", "--out", str(discrete))
    out = lhyrl(
        "train", "--algo", "bc", "--demos", str(discrete), "--runs-dir", str(tmp_path), check=False
    )
    assert out.returncode == 2
    assert "Discrete(5)" in out.stderr and "Box(-1.0, 1.0, (2,), float32)" in out.stderr


def test_corrupted_dataset_gets_a_clear_error(demos, tmp_path):
    broken = tmp_path / "broken"
    (broken / "data").mkdir(parents=True)
    for name in ("metadata.json", "main_data.hdf5"):
        data = (demos.with_name(f"{demos.name}-v0") / "data" / name).read_bytes()
        (broken / "data" / name).write_bytes(data[: len(data) // 2])
    out = lhyrl(
        "train", "--algo", "bc", "--demos", str(broken), "--runs-dir", str(tmp_path), check=False
    )
    assert out.returncode == 2
    assert str(broken) in out.stderr


def test_demos_writes_a_dataset_minaris_own_tools_list_and_load(tmp_path, monkeypatch):
    out = lhyrl(
        "demos", "--env", "lhyrl/DrivingDiscrete-v0", "--episodes", "1",
        "--out", str(tmp_path / "driving"),
    )  # fmt: skip
    assert out.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["driving-v0"]
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    assert list(minari.list_local_datasets()) == ["driving-v0"]
    assert minari.load_dataset("driving-v0").total_episodes == 1
    assert load_demonstrations(tmp_path / "driving").n_episodes == 1


def test_demos_with_an_out_path_that_cannot_be_a_minari_id_gets_a_clear_error(tmp_path):
    out = lhyrl("demos", "--episodes", "1", "--out", str(tmp_path / "driving.v2"), check=False)
    assert out.returncode == 2
    assert "cannot be a Minari dataset" in out.stderr


def test_unknown_env_id_gets_a_clear_error(tmp_path):
    out = lhyrl("demos", "--env", "lhyrl/Drivng-v0", "--out", str(tmp_path / "d"), check=False)
    assert out.returncode == 2
    assert "Drivng" in out.stderr and "Did you mean" in out.stderr


def test_an_interrupted_run_resumes_from_its_last_checkpoint(demos, tmp_path):
    args = [
        sys.executable, "-m", "lhyrl.cli", "train", "--algo", "dagger", "--demos", str(demos),
        "--demo-episodes", "1", "--rounds", "6", "--episodes-per-round", "1", "--epochs", "3",
        "--eval-episodes", "2", "--runs-dir", str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.Popen(
        args, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    checkpoint = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(tmp_path.glob("*/checkpoints/checkpoint.pt"))
        if found:
            checkpoint = found[0]
            break
        time.sleep(0.05)
    assert checkpoint is not None, "no checkpoint appeared"
    proc.send_signal(signal.SIGKILL)  # as abrupt as a power cut
    proc.wait()
    run_dir = checkpoint.parents[1]
    assert not (run_dir / "eval.json").exists()
    lhyrl("train", "--resume", str(run_dir))
    result = json.loads((run_dir / "eval.json").read_text())
    assert result["expert_episodes"] == 1 + 6  # every round ran exactly once in all
    assert np.isfinite(result["mean_return"])


def test_the_main_job_runs_from_any_folder_and_prints_the_table(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for row in ("expert (scripted)", "random policy", "BC", "DAgger"):
        assert row in out.stdout
    assert len(list((tmp_path / "runs").glob("lhyrl-Driving-v0__*__0__*/eval.json"))) == 2
    assert (tmp_path / "runs" / "demos" / "driving-expert-20-seed0-v0" / "data").is_dir()


def test_train_gail_and_airl_write_a_full_run_dir(tmp_path):
    demos = tmp_path / "car.npz"
    lhyrl("demos", "--env", "lhyrl/MujocoCar-v0", "--episodes", "1", "--out", str(demos))
    for algo in ("gail", "airl"):
        flags = ["--total-timesteps", "256", "--n-envs", "2", "--gen-n-steps", "64"]
        flags += ["--eval-episodes", "2", "--runs-dir", str(tmp_path / "runs")]
        if algo == "airl":
            flags += ["--state-only", "--warm-start", "--epochs", "1"]
        lhyrl("train", "--algo", algo, "--env", "lhyrl/MujocoCar-v0", "--demos", str(demos), *flags)
        run = only_run_dir(tmp_path / "runs", algo)
        for name in ("model.pt", "reward_net.pt", "config.yaml", "eval.json"):
            assert (run / name).is_file(), name
        assert (run / "checkpoints" / "checkpoint.pt").is_file()
        result = json.loads((run / "eval.json").read_text())
        assert result["env_steps"] == 256 and result["expert_episodes"] == 1
        assert any(p.name.startswith("events.out.tfevents") for p in run.iterdir())
        assert "train/disc_acc_expert" in (run / "progress.csv").read_text().splitlines()[0]
    airl_config = (only_run_dir(tmp_path / "runs", "airl") / "config.yaml").read_text()
    assert "state_only: true" in airl_config


@pytest.mark.parametrize("command", ["demos", "train", "eval", "tune", "demo", "chat", "plot"])
def test_every_command_takes_threads_defaulting_to_one(command, monkeypatch):
    import torch

    from lhyrl import cli

    parser = cli.build_parser()
    action = next(
        a
        for a in parser._subparsers._group_actions[0].choices[command]._actions
        if "--threads" in a.option_strings
    )
    assert action.default in (1, None)  # None: the config's threads, whose default is 1
    from lhyrl.config import RunConfig

    assert RunConfig().threads == 1
    if command == "plot":  # the count reaches torch
        seen = []
        monkeypatch.setattr(torch, "set_num_threads", seen.append)
        monkeypatch.setattr("lhyrl.runs.plot.plot_runs", lambda *a, **k: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            cli.main(["plot", "nowhere", "--threads", "2"])
        assert seen == [2]


def test_threads_below_one_is_refused():
    out = subprocess.run(
        [sys.executable, "-m", "lhyrl.cli", "eval", "nowhere", "--threads", "0"],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert out.returncode == 2 and "--threads must be at least 1" in out.stderr
