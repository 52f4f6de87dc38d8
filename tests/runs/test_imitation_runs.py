"""The run layer's imitation family from ``lhyrl train``: run files, resume, checks, evaluation."""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from runs_helpers import killed_after_first_checkpoint, lhyrl, only_run
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lhyrl.config import make_config
from lhyrl.data import Demonstrations, collect_episodes, save_npz
from lhyrl.runs import EVALUATIONS_FILE, collect_demos, train_run

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "MPLBACKEND": "Agg"}
RUN_FILES = ("config.yaml", "progress.csv", "model.pt", "eval.json", "checkpoints/checkpoint.pt")


def progress_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "progress.csv") as f:
        return list(csv.DictReader(f))


def same_weights(a: Path, b: Path) -> bool:
    left = torch.load(a / "checkpoints" / "checkpoint.pt", weights_only=True)["state"]
    right = torch.load(b / "checkpoints" / "checkpoint.pt", weights_only=True)["state"]
    key = "policy_state_dict" if "policy_state_dict" in left else "reward_state_dict"
    return all(torch.equal(v, right[key][k]) for k, v in left[key].items())


def cartpole_expert(obs: np.ndarray) -> np.ndarray:
    """A linear controller that balances CartPole: (B, 4) -> (B,)."""
    x, x_dot, theta, theta_dot = np.asarray(obs).T
    return (theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0).astype(np.int64)


@pytest.fixture(scope="module")
def cartpole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = gym.make("CartPole-v1")
    episodes = collect_episodes(env, cartpole_expert, n_episodes=4, seed=0, progress=False)
    demos = Demonstrations(episodes, env.observation_space, env.action_space, env_id="CartPole-v1")
    return save_npz(tmp_path_factory.mktemp("demos") / "cartpole.npz", demos)


@pytest.fixture(scope="module")
def gridworld(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demos") / "gridworld.npz"
    collect_demos(env_id="lhyrl/GridWorld-v0", episodes=20, out=path, progress=False)
    return path


def test_bc_killed_mid_training_resumes_bit_identical(cartpole: Path, tmp_path: Path) -> None:
    args = ["--algo", "bc", "--env", "CartPole-v1", "--demos", str(cartpole), "--epochs", "150"]
    args += [
        "--batch-size",
        "64",
        "--net-arch",
        "16",
        "--eval-episodes",
        "2",
        "--checkpoint-every",
        "10",
    ]
    killed = killed_after_first_checkpoint(args, tmp_path / "killed")
    rows_before = progress_rows(killed) if (killed / "progress.csv").exists() else []
    lhyrl("train", "--resume", str(killed))
    straight = tmp_path / "straight"
    lhyrl("train", *args, "--runs-dir", str(straight))
    straight_run = only_run(straight)
    assert same_weights(killed, straight_run)
    rows_after = progress_rows(killed)
    kept = [{k: row[k] for k in rows_before[0]} for row in rows_after[: len(rows_before)]]
    assert kept == rows_before  # appended, not truncated (new columns may have joined)
    epochs = [float(r["train/epoch"]) for r in rows_after if r.get("train/epoch")]
    assert epochs[-1] == 150 and len(rows_after) >= len(progress_rows(straight_run))
    a, b = (json.loads((r / "eval.json").read_text()) for r in (killed, straight_run))
    assert a["mean_return"] == b["mean_return"] and a["learn_progress"] == 150


def test_maxent_irl_trains_from_the_command_line_and_resumes_bit_identical(
    gridworld: Path, tmp_path: Path
) -> None:
    args = ["--algo", "maxent-irl", "--env", "lhyrl/GridWorld-v0", "--demos", str(gridworld)]
    args += ["--iterations", "300", "--eval-episodes", "10", "--checkpoint-every", "5"]
    killed = killed_after_first_checkpoint(args, tmp_path / "killed")
    lhyrl("train", "--resume", str(killed))
    straight = tmp_path / "straight"
    lhyrl("train", *args, "--runs-dir", str(straight))
    straight_run = only_run(straight)
    for name in RUN_FILES:
        assert (straight_run / name).is_file(), name
    assert same_weights(killed, straight_run)
    result = json.loads((straight_run / "eval.json").read_text())
    assert result["learn_unit"] == "iterations" and result["learn_progress"] == 300
    # The recovered reward's optimal policy is far better than a random one.
    assert result["normalized_return"] > 0.8


def test_gail_killed_mid_training_resumes_and_loses_at_most_one_round(
    cartpole: Path, tmp_path: Path
) -> None:
    """GAIL resumes at its last round (env episodes in flight are not checkpointed, so the
    resumed run is a continuation, not a bit-identical replay)."""
    args = ["--algo", "gail", "--env", "CartPole-v1", "--demos", str(cartpole)]
    args += ["--total-timesteps", "3072", "--n-envs", "2", "--gen-n-steps", "64"]
    args += ["--net-arch", "16", "--eval-episodes", "2", "--checkpoint-every", "1"]
    killed = killed_after_first_checkpoint(args, tmp_path / "killed")
    before = [
        int(r["time/total_timesteps"]) for r in progress_rows(killed) if r["time/total_timesteps"]
    ]
    assert before and before[-1] < 3072  # killed mid-training
    checkpoint = torch.load(killed / "checkpoints" / "checkpoint.pt", weights_only=True)
    assert checkpoint["trainer_class"] == "GAIL"
    lhyrl("train", "--resume", str(killed))
    after = [
        int(r["time/total_timesteps"]) for r in progress_rows(killed) if r["time/total_timesteps"]
    ]
    assert after[: len(before)] == before  # appended
    assert before[-1] <= after[len(before)] <= before[-1] + 128  # at most one round redone
    assert after[-1] == 3072 and set(range(128, 3073, 128)) <= set(after)  # no round missing
    result = json.loads((killed / "eval.json").read_text())
    assert result["learn_progress"] == 3072 and result["env_steps"] == 3072


def test_gail_logs_periodic_and_final_evaluations_at_its_env_steps(
    cartpole: Path, tmp_path: Path
) -> None:
    args = ["--algo", "gail", "--env", "CartPole-v1", "--demos", str(cartpole)]
    args += ["--total-timesteps", "512", "--n-envs", "2", "--gen-n-steps", "64"]
    args += ["--net-arch", "16", "--eval-episodes", "2", "--eval-every", "256"]
    lhyrl("train", *args, "--runs-dir", str(tmp_path))
    run_dir = only_run(tmp_path)
    for name in (*RUN_FILES, "reward_net.pt"):
        assert (run_dir / name).is_file(), name
    result = json.loads((run_dir / "eval.json").read_text())
    assert result["learn_unit"] == "env steps" and result["env_steps"] == 512
    assert result["learn_progress"] == 512 and result["updates"] > 0
    events = EventAccumulator(str(run_dir)).Reload()
    steps = [e.step for e in events.Scalars("eval/return")]
    assert steps == [256, 512, 512]  # two periodic evaluations, then the final one


def test_resume_of_a_truncated_checkpoint_changes_nothing(cartpole: Path, tmp_path: Path) -> None:
    args = ["--algo", "bc", "--env", "CartPole-v1", "--demos", str(cartpole), "--epochs", "2"]
    lhyrl("train", *args, "--eval-episodes", "2", "--runs-dir", str(tmp_path))
    run_dir = only_run(tmp_path)
    checkpoint = run_dir / "checkpoints" / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    out = lhyrl("train", "--resume", str(run_dir), check=False)
    assert out.returncode == 2 and "not a readable lhyrl checkpoint" in out.stderr
    after = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    assert after == before


def test_resume_with_a_larger_budget_trains_a_finished_run_on(
    cartpole: Path, tmp_path: Path
) -> None:
    args = ["--algo", "bc", "--env", "CartPole-v1", "--demos", str(cartpole)]
    args += ["--batch-size", "64", "--net-arch", "16", "--eval-episodes", "2"]
    lhyrl("train", *args, "--epochs", "20", "--runs-dir", str(tmp_path / "extended"))
    extended = only_run(tmp_path / "extended")
    before = {p: p.read_bytes() for p in extended.rglob("*") if p.is_file()}
    for flags, message in (
        (["--epochs", "10"], "can only extend the run: it was configured for 20 epochs"),
        (
            ["--epochs", "40", "--learning-rate", "0.1"],
            "it takes only a larger budget (--epochs N), got --learning-rate",
        ),
    ):
        out = lhyrl("train", "--resume", str(extended), *flags, check=False)
        assert out.returncode == 2 and message in out.stderr, out.stderr
    assert {p: p.read_bytes() for p in extended.rglob("*") if p.is_file()} == before
    lhyrl("train", "--resume", str(extended), "--epochs", "40")
    lhyrl("train", *args, "--epochs", "40", "--runs-dir", str(tmp_path / "straight"))
    straight = only_run(tmp_path / "straight")
    assert same_weights(extended, straight)  # as if it had been a 40-epoch run all along
    assert "epochs: 40" in (extended / "config.yaml").read_text()

    def epochs(run_dir: Path) -> list[float]:
        return [float(r["train/epoch"]) for r in progress_rows(run_dir) if r.get("train/epoch")]

    # One continuous progress.csv: the straight run's rows, and the first run's final row.
    assert epochs(extended) == sorted(epochs(extended)) and epochs(extended)[-1] == 40
    assert set(epochs(straight)) <= set(epochs(extended))
    assert json.loads((extended / "eval.json").read_text())["learn_progress"] == 40


@pytest.mark.parametrize("command", [("train", "--resume"), ("eval",)])
def test_a_missing_run_is_named(command: tuple[str, ...], tmp_path: Path) -> None:
    out = lhyrl(*command, str(tmp_path / "nowhere"), check=False)
    assert out.returncode == 2
    assert f"no run at {tmp_path / 'nowhere'}" in out.stderr


def test_failing_inputs_leave_no_run_folder(cartpole: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(cartpole.read_bytes()[:200])
    minari_dir = tmp_path / "demos" / "driving"
    collect_demos(env_id="lhyrl/Driving-v0", episodes=1, out=minari_dir, progress=False)
    for hdf5 in (tmp_path / "demos").rglob("*.hdf5"):
        hdf5.unlink()
    runs = tmp_path / "runs"
    cases = [
        (["--env", "lhyrl/NoSuchEnv-v0", "--demos", str(cartpole)], "NoSuchEnv"),
        (["--env", "CartPole-v1", "--demos", str(truncated)], "truncated.npz"),
        (["--env", "lhyrl/Driving-v0", "--demos", str(minari_dir)], "driving"),
        (["--env", "CartPole-v1"], "needs demonstrations"),
    ]
    for args, message in cases:
        out = lhyrl("train", "--algo", "bc", *args, "--runs-dir", str(runs), check=False)
        assert out.returncode == 2, out.stderr
        assert message in out.stderr
        assert not runs.exists() or not any(runs.iterdir()), args


def test_an_algorithm_on_an_env_it_cannot_train_lists_the_env_kinds(tmp_path: Path) -> None:
    out = lhyrl("train", "--algo", "maxent-irl", "--env", "CartPole-v1", check=False)
    assert out.returncode == 2
    assert "maxent-irl cannot train on CartPole-v1" in out.stderr and "tabular" in out.stderr


@pytest.mark.parametrize(
    ("device", "message"),
    [("gpu", "device must be one of auto, cpu, cuda, cuda:N, mps; got 'gpu'"), ("cuda", "CUDA")],
)
def test_bad_devices_are_refused_in_one_line(
    cartpole: Path, tmp_path: Path, device: str, message: str
) -> None:
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    args = ["--algo", "bc", "--env", "CartPole-v1", "--demos", str(cartpole)]
    out = lhyrl("train", *args, "--device", device, "--runs-dir", str(tmp_path), check=False)
    assert out.returncode == 2
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # no run folder left behind


def test_help_answers_within_a_second() -> None:
    # CPU time of the child, not wall time: the suite runs on every core at once.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-m", "lhyrl.cli", "--help"], capture_output=True, text=True, env=ENV
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert out.returncode == 0 and "train" in out.stdout
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 1.0, f"lhyrl --help took {cpu:.2f} s of CPU"


def test_show_config_prints_the_resolved_config(cartpole: Path) -> None:
    out = lhyrl(
        "train", "--algo", "dagger", "--env", "CartPole-v1", "--rounds", "7", "--show-config"
    )
    assert "algo: dagger" in out.stdout and "rounds: 7" in out.stdout
    assert "total_timesteps" not in out.stdout  # a GAIL key: dagger does not read it


def test_eval_every_draws_a_curve_in_epochs(cartpole: Path, tmp_path: Path) -> None:
    config = make_config(
        {
            "algo": "bc",
            "env": "CartPole-v1",
            "demos": str(cartpole),
            "epochs": 4,
            "eval_every": 2,
            "eval_episodes": 2,
            "runs_dir": str(tmp_path),
        }
    )
    run_dir = train_run(config)
    events = EventAccumulator(str(run_dir)).Reload()
    assert [e.step for e in events.Scalars("eval/return")] == [2, 4, 4]
    history = json.loads((run_dir / EVALUATIONS_FILE).read_text())
    assert [e["step"] for e in history] == [2, 4]
    assert 0 < history[0]["train_seconds"] < history[1]["train_seconds"]
    assert history[1]["return"] == pytest.approx(events.Scalars("eval/return")[1].value)


def test_a_run_films_evaluations_and_logs_its_hyperparameters(
    tmp_path: Path, gridworld: Path
) -> None:
    config = make_config(
        {
            "algo": "bc",
            "env": "lhyrl/GridWorld-v0",
            "demos": str(gridworld),
            "epochs": 4,
            "video_every": 2,
            "eval_episodes": 2,
            "runs_dir": str(tmp_path),
        }
    )
    run_dir = train_run(config)
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0}).Reload()
    videos = events.Images("eval/video")
    assert [v.step for v in videos] == [2, 4, 4]
    assert videos[0].encoded_image_string[:6] == b"GIF89a"
    plugins = events.PluginTagToContent("hparams")
    assert plugins  # the HParams plugin's experiment and session summaries


def pendulum_expert(obs: np.ndarray) -> np.ndarray:
    """Energy pumping far from the top, PD control near it: (B, 3) -> (B, 1)."""
    cos, sin, theta_dot = np.asarray(obs).T
    theta = np.arctan2(sin, cos)
    energy = theta_dot**2 / 6 + 5.0 * (cos - 1)
    pump = np.clip(-0.2 * energy * theta_dot, -2, 2)
    hold = np.clip(-(10.0 * theta + 2.0 * theta_dot), -2, 2)
    near_top = np.clip((cos - 0.8) / 0.1, 0, 1)
    return (near_top * hold + (1 - near_top) * pump)[:, None].astype(np.float32)


@pytest.mark.parametrize(
    ("env_id", "expert"), [("Pendulum-v1", pendulum_expert), ("CartPole-v1", cartpole_expert)]
)
def test_bc_defaults_imitate_classic_control(env_id: str, expert: object, tmp_path: Path) -> None:
    """`lhyrl train --algo bc` with its defaults, from 20 episodes a user recorded (seed 0)."""
    env = gym.make(env_id)
    episodes = collect_episodes(env, expert, n_episodes=20, seed=0, progress=False)
    demos = Demonstrations(episodes, env.observation_space, env.action_space, env_id=env_id)
    path = save_npz(tmp_path / "demos.npz", demos)
    config = make_config(
        {"algo": "bc", "env": env_id, "demos": str(path), "runs_dir": str(tmp_path / "runs")}
    )
    result = json.loads((train_run(config) / "eval.json").read_text())
    # No expert is known for these envs: the demonstrations' mean return is the reference.
    assert result["reference"] == "demonstrations"
    assert result["normalized_return"] >= 0.9, result
