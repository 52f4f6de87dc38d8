"""AbsorbAfterTermination: fixed-horizon episodes for learned rewards."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from lhyrl.envs.wrappers import AbsorbAfterTermination


def test_episode_lasts_the_horizon_and_absorbs_after_termination() -> None:
    env = AbsorbAfterTermination(gym.make("CartPole-v1"), horizon=100)
    env.reset(seed=0)
    rewards, absorbed_obs = [], None
    for t in range(100):
        obs, reward, terminated, truncated, info = env.step(0)  # falls within ~10 steps
        rewards.append(reward)
        assert not terminated
        assert truncated == (t == 99)
        if info["absorbed"]:
            if absorbed_obs is None:
                absorbed_obs = obs
            np.testing.assert_array_equal(obs, absorbed_obs)
    assert absorbed_obs is not None
    assert sum(rewards) < 20 and rewards[-1] == 0.0


def test_horizon_must_be_positive() -> None:
    with pytest.raises(ValueError, match="horizon"):
        AbsorbAfterTermination(gym.make("CartPole-v1"), horizon=0)
