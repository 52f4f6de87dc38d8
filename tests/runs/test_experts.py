"""Experts from files (``--expert``), and the whole command-line path on a plain Gymnasium task.

The SB3 expert is a real ``PPO.save`` zip whose (hidden-layer-free) policy has been given the
weights of a linear controller that balances CartPole, so it is a true expert that takes no
training time.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from runs_helpers import lhyrl, only_run
from stable_baselines3 import PPO, SAC

from lhyrl.data import load_demonstrations
from lhyrl.runs.experts import load_expert

CARTPOLE_GAINS = (0.01, 0.1, 1.0, 0.5)  # x, x_dot, theta, theta_dot


@pytest.fixture(scope="module")
def sb3_expert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PPO zip for CartPole-v1 acting as the linear controller (action 1 iff gains . obs > 0)."""
    model = PPO("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": []}, device="cpu", seed=0)
    with torch.no_grad():
        model.policy.action_net.weight.copy_(torch.tensor([[0.0] * 4, list(CARTPOLE_GAINS)]))
        model.policy.action_net.bias.zero_()
    path = tmp_path_factory.mktemp("experts") / "cartpole_ppo.zip"
    model.save(path)
    return path


def test_an_sb3_zip_acts_as_the_saved_model(sb3_expert: Path, tmp_path: Path) -> None:
    env = gym.make("CartPole-v1")
    policy = load_expert(str(sb3_expert), env.observation_space, env.action_space)
    obs = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
    actions, _ = policy.predict(obs, deterministic=True)
    np.testing.assert_array_equal(actions, (obs @ np.array(CARTPOLE_GAINS) > 0).astype(int))
    # A continuous-action model with a non-default activation: the same actions as SB3's own.
    sac = SAC(
        "MlpPolicy",
        "Pendulum-v1",
        policy_kwargs={"net_arch": [8], "activation_fn": torch.nn.Tanh},
        device="cpu",
        seed=0,
    )
    sac.save(tmp_path / "sac.zip")
    pendulum = gym.make("Pendulum-v1")
    loaded = load_expert(
        str(tmp_path / "sac.zip"), pendulum.observation_space, pendulum.action_space
    )
    obs = np.random.default_rng(1).uniform(-1, 1, size=(64, 3)).astype(np.float32)
    np.testing.assert_allclose(
        loaded.predict(obs, deterministic=True)[0], sac.predict(obs, deterministic=True)[0]
    )


def test_bad_experts_are_refused_naming_what_is_wrong(sb3_expert: Path, tmp_path: Path) -> None:
    pendulum = gym.make("Pendulum-v1")
    with pytest.raises(ValueError, match=r"trained on a observation space .*shape \(4,\)"):
        load_expert(str(sb3_expert), pendulum.observation_space, pendulum.action_space)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    cartpole = gym.make("CartPole-v1")
    spaces = (cartpole.observation_space, cartpole.action_space)
    with pytest.raises(ValueError, match="not a readable Stable-Baselines3 model zip"):
        load_expert(str(tmp_path / "junk.zip"), *spaces)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_expert(str(tmp_path / "missing.zip"), *spaces)
    with pytest.raises(ValueError, match="cannot import module 'no_such_module'"):
        load_expert("no_such_module:policy", *spaces)
    with pytest.raises(ValueError, match="has no 'nothing'"):
        load_expert("numpy:nothing", *spaces)


def test_a_module_callable_expert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_expert.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            def act(obs):
                return (obs @ np.array([0.01, 0.1, 1.0, 0.5]) > 0).astype(np.int64)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    env = gym.make("CartPole-v1")
    policy = load_expert("my_expert:act", env.observation_space, env.action_space)
    assert list(policy(np.array([[0, 0, 0.1, 0], [0, 0, -0.1, 0]]))) == [1, 0]


def test_cartpole_from_an_sb3_expert_through_the_command_line(
    sb3_expert: Path, tmp_path: Path
) -> None:
    """Record demos with ``lhyrl demos --expert``; train BC, DAgger, GAIL, AIRL; read eval.json."""
    demos = tmp_path / "cartpole.npz"
    recorded = lhyrl(
        "demos", "--env", "CartPole-v1", "--expert", str(sb3_expert), "--episodes", "4",
        "--out", str(demos),
    )  # fmt: skip
    assert "4 episodes" in recorded.stdout
    assert load_demonstrations(demos).mean_return == 500.0  # the controller never falls
    taken = lhyrl("demos", "--env", "CartPole-v1", "--out", str(demos), check=False)
    assert taken.returncode == 2 and "already exists" in taken.stderr
    assert "--overwrite" in taken.stderr  # checked before recording: CartPole has no shipped expert

    common = ["--env", "CartPole-v1", "--demos", str(demos), "--expert", str(sb3_expert)]
    common += ["--eval-episodes", "4"]
    small = ["--net-arch", "32", "--n-envs", "2", "--gen-n-steps", "128"]
    budgets = {
        "bc": [],  # BC's defaults
        "dagger": ["--rounds", "2", "--episodes-per-round", "2", "--epochs", "30"],
        "gail": ["--total-timesteps", "1024", *small],
        "airl": ["--total-timesteps", "1024", *small],
    }
    for algo, budget in budgets.items():
        runs = tmp_path / algo
        lhyrl("train", "--algo", algo, *common, *budget, "--runs-dir", str(runs))
        result = json.loads((only_run(runs) / "eval.json").read_text())
        assert result["reference"] == f"expert {sb3_expert}", algo
        assert result["reference_return"] == 500.0, algo
        assert result["normalized_return"] is not None and result["mean_return"] > 0, algo
        if algo in ("bc", "dagger"):  # enough to imitate a linear controller
            assert result["normalized_return"] > 0.9, (algo, result["normalized_return"])

    # Without --expert, a plain Gymnasium task is scored against the demonstrations.
    runs = tmp_path / "no-expert"
    lhyrl("train", "--algo", "bc", *common[:4], "--epochs", "2", "--runs-dir", str(runs))
    result = json.loads((only_run(runs) / "eval.json").read_text())
    assert result["reference"] == "demonstrations" and "mean_return" in result
