"""Learned reward networks, their files, and the wrappers that put them in place of a reward."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.env_util import make_vec_env

from lhyrl.nn.gan import apply_spectral_norm
from lhyrl.rewards import (
    BasicRewardNet,
    LearnedRewardWrapper,
    RewardNetError,
    RewardVecEnvWrapper,
    ShapedRewardNet,
    load_reward_net,
    save_reward_net,
)

CARTPOLE = gym.make("CartPole-v1")
OBS_SPACE, ACT_SPACE = CARTPOLE.observation_space, CARTPOLE.action_space


def _batch(n: int = 5, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, 4)).astype(np.float32)
    next_obs = rng.normal(size=(n, 4)).astype(np.float32)
    acts = rng.integers(2, size=n)
    return obs, acts, next_obs, np.zeros(n, dtype=bool)


def test_discrete_actions_are_one_hot_encoded() -> None:
    net = BasicRewardNet(observation_space=OBS_SPACE, action_space=ACT_SPACE)
    obs, acts, next_obs, _ = _batch()
    features = net.features(obs, acts, next_obs)
    assert features.shape == (5, 4 + 2 + 4)
    np.testing.assert_array_equal(features[:, 4:6].numpy(), np.eye(2)[acts])


def test_shaped_reward_is_base_plus_discounted_potential_difference() -> None:
    torch.manual_seed(0)
    net = ShapedRewardNet(observation_space=OBS_SPACE, action_space=ACT_SPACE, gamma=0.9)
    obs, acts, next_obs, _ = _batch()
    terminal = np.array([False, True, False, True, False])
    with torch.no_grad():
        f = net(obs, acts, next_obs, terminal)
        g = net.base(obs, acts, next_obs, terminal)
        h_now = net.potential(obs, acts, next_obs, terminal)
        h_next = net.potential(next_obs, acts, next_obs, terminal)
    expected = g + 0.9 * torch.as_tensor(~terminal, dtype=torch.float32) * h_next - h_now
    torch.testing.assert_close(f, expected)


def test_state_only_base_ignores_the_action() -> None:
    net = ShapedRewardNet(observation_space=OBS_SPACE, action_space=ACT_SPACE, state_only=True)
    obs, acts, next_obs, terminal = _batch()
    np.testing.assert_allclose(
        net.base.predict(obs, acts, next_obs, terminal),
        net.base.predict(obs, 1 - acts, next_obs, terminal),
    )


@pytest.mark.parametrize("cls", [BasicRewardNet, ShapedRewardNet])
def test_reward_net_file_round_trip(cls: type, tmp_path) -> None:
    net = cls(observation_space=OBS_SPACE, action_space=ACT_SPACE, spectral_norm=True)
    path = save_reward_net(tmp_path / "reward.pt", net)
    loaded = load_reward_net(path)
    assert type(loaded) is cls
    np.testing.assert_allclose(loaded.predict(*_batch()), net.predict(*_batch()), rtol=1e-6)


def test_a_trainers_spectral_norm_survives_the_file(tmp_path) -> None:
    """The remedy ``spectral_norm`` is applied by the trainer after construction."""
    net = apply_spectral_norm(BasicRewardNet(observation_space=OBS_SPACE, action_space=ACT_SPACE))
    net.eval()
    path = save_reward_net(tmp_path / "reward.pt", net)
    loaded = load_reward_net(path).eval()
    np.testing.assert_allclose(loaded.predict(*_batch()), net.predict(*_batch()), rtol=1e-6)


def test_loading_a_file_that_is_not_a_reward_net_fails_clearly(tmp_path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable reward network file"):
        load_reward_net(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a reward network file"):
        load_reward_net(tmp_path / "other.pt")


def test_nan_weights_give_a_clear_error() -> None:
    net = BasicRewardNet(observation_space=OBS_SPACE, action_space=ACT_SPACE)
    with torch.no_grad():
        net.mlp.net[0].weight[0, 0] = float("nan")
    with pytest.raises(RewardNetError, match="NaN or infinite rewards for 5 of 5"):
        net.predict(*_batch())


def test_wrapper_replaces_the_reward_and_keeps_the_true_one() -> None:
    net = BasicRewardNet(observation_space=OBS_SPACE, action_space=ACT_SPACE)
    env = LearnedRewardWrapper(gym.make("CartPole-v1"), net)
    obs, _ = env.reset(seed=0)
    next_obs, reward, _, _, info = env.step(1)
    expected = net.predict(obs[None], np.array([1]), next_obs[None], np.array([False]))[0]
    assert reward == pytest.approx(float(expected))
    assert info["true_reward"] == 1.0


def test_wrapper_refuses_a_reward_net_of_other_spaces() -> None:
    pendulum = gym.make("Pendulum-v1")
    net = BasicRewardNet(observation_space=OBS_SPACE, action_space=ACT_SPACE)
    with pytest.raises(ValueError, match="the env has"):
        LearnedRewardWrapper(pendulum, net)


def test_vec_wrapper_records_terminal_transitions() -> None:
    recorded: list[tuple[np.ndarray, ...]] = []
    venv = RewardVecEnvWrapper(
        make_vec_env("CartPole-v1", n_envs=2, seed=0),
        lambda o, a, n, t: np.full(len(o), 0.5),
        on_transitions=lambda *columns: recorded.append(columns),
    )
    venv.reset()
    saw_terminal = False
    for _ in range(60):
        _, rewards, dones, infos = venv.step(np.array([0, 0]))  # always push left: falls fast
        assert np.all(rewards == 0.5)
        assert all(info["true_reward"] == 1.0 for info in infos)
        _, _, next_obs, terminal = recorded[-1]
        for i, done in enumerate(dones):
            if done:
                saw_terminal = True
                assert terminal[i]
                np.testing.assert_array_equal(next_obs[i], infos[i]["terminal_observation"])
    assert saw_terminal
