"""Shared policies and helpers for the lhyrl.data tests, handed out as fixtures."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from lhyrl.data import Demonstrations, Episode, collect_episodes


def _lean_policy(obs: np.ndarray) -> np.ndarray:
    """CartPole: push towards the side the pole leans to; episodes of roughly 30-50 steps."""
    return (obs[:, 2] > 0).astype(np.int64)  # (B,)


def _damping_policy(obs: np.ndarray) -> np.ndarray:
    """Pendulum: a torque against the angular velocity, as float64 ``(B, 1)``."""
    return np.clip(-2.0 * obs[:, 2:3], -2.0, 2.0)


def _manual_rollout(
    env_id: str, policy, *, seed: int, n_episodes: int, **make_kwargs
) -> list[Episode]:
    """The reference loop collect_episodes must agree with: one env, seeded first reset."""
    env = gym.make(env_id, **make_kwargs)
    episodes = []
    obs, _ = env.reset(seed=seed)
    for _ in range(n_episodes):
        all_obs, acts, rewards = [obs], [], []
        while True:
            act = np.asarray(policy(obs[None])[0]).astype(env.action_space.dtype)
            obs, reward, terminated, truncated, _ = env.step(act)
            all_obs.append(obs)
            acts.append(act)
            rewards.append(reward)
            if terminated or truncated:
                break
        episodes.append(
            Episode(
                obs=np.stack(all_obs),
                acts=np.stack(acts),
                rewards=np.asarray(rewards, dtype=np.float32),
                terminated=bool(terminated),
                truncated=bool(truncated),
            )
        )
        obs, _ = env.reset()
    env.close()
    return episodes


def _episodes_equal(a: Episode, b: Episode) -> bool:
    """Exact equality of arrays (values and dtypes) and end flags."""
    arrays_equal = all(
        np.array_equal(getattr(a, key), getattr(b, key))
        and getattr(a, key).dtype == getattr(b, key).dtype
        for key in ("obs", "acts", "rewards")
    )
    return arrays_equal and (a.terminated, a.truncated) == (b.terminated, b.truncated)


@pytest.fixture(scope="session")
def cartpole_demos() -> Demonstrations:
    env = gym.make("CartPole-v1")
    episodes = collect_episodes(env, _lean_policy, n_episodes=3, seed=0, progress=False)
    return Demonstrations(episodes, env.observation_space, env.action_space, env_id="CartPole-v1")


@pytest.fixture(scope="session")
def pendulum_demos() -> Demonstrations:
    env = gym.make("Pendulum-v1", max_episode_steps=50)
    episodes = collect_episodes(env, _damping_policy, n_episodes=2, seed=0, progress=False)
    return Demonstrations(episodes, env.observation_space, env.action_space, env_id="Pendulum-v1")


@pytest.fixture
def lean_policy():
    return _lean_policy


@pytest.fixture
def damping_policy():
    return _damping_policy


@pytest.fixture
def manual_rollout():
    return _manual_rollout


@pytest.fixture
def episodes_equal():
    return _episodes_equal
