from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from agent_experts import cartpole_expert
from stable_baselines3.common.logger import configure

from lhyrl.agents import BC
from lhyrl.data import (
    DatasetMismatchError,
    Demonstrations,
    Transitions,
    collect_episodes,
    episode_returns,
    random_policy,
)


def _random_return(env_id: str) -> float:
    env = gym.make(env_id)
    policy = random_policy(env.action_space, seed=0)
    episodes = collect_episodes(env, policy, n_episodes=10, seed=100, progress=False)
    return float(episode_returns(episodes).mean())


def test_bc_beats_random_on_cartpole(cartpole_demos: Demonstrations) -> None:
    env = gym.make("CartPole-v1")
    bc = BC(
        observation_space=env.observation_space,
        action_space=env.action_space,
        demonstrations=cartpole_demos,
        batch_size=64,
        learning_rate=1e-3,
        seed=0,
    )
    bc.train(n_epochs=10)
    result = bc.evaluate(env, n_episodes=5, seed=100)
    random_return = _random_return("CartPole-v1")
    assert random_return < 40
    assert result.mean_return > 400


def test_bc_beats_random_on_pendulum(pendulum_demos: Demonstrations) -> None:
    env = gym.make("Pendulum-v1")
    bc = BC(
        observation_space=env.observation_space,
        action_space=env.action_space,
        demonstrations=pendulum_demos,
        batch_size=64,
        learning_rate=3e-3,
        seed=0,
    )
    bc.train(n_epochs=30)
    result = bc.evaluate(env, n_episodes=10, seed=100)
    random_return = _random_return("Pendulum-v1")  # about -1200
    assert result.mean_return > random_return + 500


def test_bc_loss_decreases(cartpole_demos: Demonstrations, tmp_path) -> None:
    env = gym.make("CartPole-v1")
    logger = configure(str(tmp_path), ["csv"])
    bc = BC(
        observation_space=env.observation_space,
        action_space=env.action_space,
        demonstrations=cartpole_demos,
        batch_size=64,
        learning_rate=1e-3,
        logger=logger,
    )
    bc.train(n_batches=300, log_every=50)
    logger.close()
    rows = np.genfromtxt(tmp_path / "progress.csv", delimiter=",", names=True)
    losses = rows["trainloss"]
    assert len(losses) == 6
    assert losses[-1] < 0.7 * losses[0]
    assert losses[1:].max() < losses[0]
    assert rows["trainprob_true_act"][-1] > rows["trainprob_true_act"][0]
    assert rows["trainepoch"][-1] == pytest.approx(300 / (cartpole_demos.n_steps // 64))


def test_bc_logs_the_train_keys(cartpole_demos: Demonstrations, tmp_path) -> None:
    env = gym.make("CartPole-v1")
    logger = configure(str(tmp_path), ["csv"])
    bc = BC(
        observation_space=env.observation_space,
        action_space=env.action_space,
        demonstrations=cartpole_demos,
        logger=logger,
    )
    bc.train(n_batches=3, log_every=1)
    logger.close()
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    expected = {"loss", "neglogp", "entropy", "l2_norm", "prob_true_act", "epoch"}
    assert {f"train/{k}" for k in expected} <= set(header)
    assert bc.num_updates == 3


def test_bc_logs_action_mse_for_box_actions(pendulum_demos: Demonstrations, tmp_path) -> None:
    env = gym.make("Pendulum-v1")
    logger = configure(str(tmp_path), ["csv"])
    bc = BC(
        observation_space=env.observation_space,
        action_space=env.action_space,
        demonstrations=pendulum_demos,
        logger=logger,
    )
    bc.train(n_batches=2, log_every=1)
    logger.close()
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    assert "train/action_mse" in header
    assert "train/prob_true_act" not in header


def test_bc_same_seed_gives_same_weights(cartpole_demos: Demonstrations) -> None:
    env = gym.make("CartPole-v1")

    def trained(seed: int) -> list[np.ndarray]:
        bc = BC(
            observation_space=env.observation_space,
            action_space=env.action_space,
            demonstrations=cartpole_demos,
            seed=seed,
        )
        bc.train(n_batches=5)
        return [p.detach().numpy().copy() for p in bc.policy.parameters()]

    a, b, c = trained(1), trained(1), trained(2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, z) for x, z in zip(a, c, strict=True))


def test_bc_rejects_demonstrations_for_other_spaces(pendulum_demos: Demonstrations) -> None:
    env = gym.make("CartPole-v1")
    with pytest.raises(DatasetMismatchError, match=r"spaces? differs? from the env"):
        BC(
            observation_space=env.observation_space,
            action_space=env.action_space,
            demonstrations=pendulum_demos,
        )


def test_bc_rejects_transitions_of_the_wrong_shape() -> None:
    env = gym.make("CartPole-v1")
    bc = BC(observation_space=env.observation_space, action_space=env.action_space)
    n = 8
    obs = np.zeros((n, 3), np.float32)
    good_obs = np.zeros((n, 4), np.float32)
    acts = np.zeros(n, np.int64)
    dones = np.zeros(n, bool)
    with pytest.raises(ValueError, match=r"observations of shape \(3,\)"):
        bc.set_demonstrations(Transitions(obs, acts, obs, dones))
    with pytest.raises(ValueError, match="outside"):
        bc.set_demonstrations(Transitions(good_obs, acts + 2, good_obs, dones))
    with pytest.raises(ValueError, match=r"actions of shape \(2,\)"):
        bc.set_demonstrations(Transitions(good_obs, np.zeros((n, 2)), good_obs, dones))
    bc.set_demonstrations(Transitions(good_obs, acts[:, None], good_obs, dones))  # (N, 1) is fine
    assert bc.n_samples == n


def test_bc_train_needs_exactly_one_budget_and_demonstrations(cartpole_demos) -> None:
    env = gym.make("CartPole-v1")
    bc = BC(observation_space=env.observation_space, action_space=env.action_space)
    with pytest.raises(RuntimeError, match="no demonstrations"):
        bc.train(n_epochs=1)
    bc.set_demonstrations(cartpole_demos)
    with pytest.raises(ValueError, match="exactly one"):
        bc.train(n_epochs=1, n_batches=1)
    with pytest.raises(ValueError, match="exactly one"):
        bc.train()


def test_bc_agent_is_a_policy_like_callable(cartpole_demos: Demonstrations) -> None:
    env = gym.make("CartPole-v1")
    bc = BC(
        observation_space=env.observation_space,
        action_space=env.action_space,
        demonstrations=cartpole_demos,
    )
    obs = cartpole_demos.transitions().obs[:7]
    assert bc(obs).shape == (7,)
    np.testing.assert_array_equal(bc(obs), bc.predict(obs, deterministic=True))
    episodes = collect_episodes(env, bc, n_episodes=1, seed=0, progress=False)
    assert len(episodes) == 1


def test_bc_trains_on_multidiscrete_actions() -> None:
    obs_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    act_space = gym.spaces.MultiDiscrete([3, 2])
    rng = np.random.default_rng(0)
    obs = rng.uniform(-1, 1, (256, 2)).astype(np.float32)
    acts = np.stack([(obs[:, 0] > 0).astype(int) * 2, (obs[:, 1] > 0).astype(int)], axis=1)
    data = Transitions(obs, acts, obs, np.zeros(256, bool))
    bc = BC(
        observation_space=obs_space,
        action_space=act_space,
        demonstrations=data,
        batch_size=64,
        learning_rate=3e-3,
    )
    bc.train(n_epochs=40)
    accuracy = (bc.predict(obs) == acts).all(axis=1).mean()
    assert accuracy > 0.9


def test_bc_handles_squashed_gaussian_policies(pendulum_demos: Demonstrations) -> None:
    env = gym.make("Pendulum-v1")
    bc = BC(
        observation_space=env.observation_space,
        action_space=env.action_space,
        demonstrations=pendulum_demos,
        policy_kwargs={"use_sde": True, "squash_output": True},
        learning_rate=3e-3,
        batch_size=256,
    )
    bc.train(n_batches=400)
    obs = pendulum_demos.transitions().obs
    acts = pendulum_demos.transitions().acts
    pred = bc.predict(obs)
    assert np.isfinite(pred).all() and np.abs(pred).max() <= 2.0
    # Far better than predicting zero torque.
    assert np.mean((pred - acts) ** 2) < 0.5 * np.mean(acts**2)


def test_cartpole_expert_balances_for_500_steps() -> None:
    env = gym.make("CartPole-v1")
    episodes = collect_episodes(env, cartpole_expert, n_episodes=3, seed=5, progress=False)
    assert all(ep.episode_return == 500 for ep in episodes)
