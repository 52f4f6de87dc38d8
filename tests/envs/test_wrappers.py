"""Fixed-horizon episodes for learned rewards: absorbing, or running on after termination."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from lhyrl.envs.wrappers import AbsorbAfterTermination, ContinueAfterTermination


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
    with pytest.raises(ValueError, match="horizon"):
        ContinueAfterTermination(gym.make("InvertedPendulum-v5"), horizon=0)


def test_the_dynamics_run_on_after_termination_until_the_horizon() -> None:
    env = ContinueAfterTermination(gym.make("InvertedPendulum-v5"), horizon=60)
    env.reset(seed=0)
    angles, failed_at = [], None
    for t in range(60):
        obs, reward, terminated, truncated, info = env.step(np.array([3.0], dtype=np.float32))
        assert not terminated and truncated == (t == 59)
        angles.append(abs(float(obs[1])))
        if info["inner_terminated"] and failed_at is None:
            failed_at = t
        assert info["failed"] == (failed_at is not None)
        if failed_at is not None and t > failed_at:
            assert reward == 0.0  # the env's own reward of a fallen pole
    assert failed_at is not None and failed_at < 30  # pushed one way, the pole falls ...
    assert max(angles[failed_at + 1 :]) > angles[failed_at] + 0.3  # ... and keeps falling
