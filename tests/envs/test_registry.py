"""Checks every registered ``lhyrl/`` id passes, single and vector."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from lhyrl.envs import ENV_IDS


def test_every_env_module_registers_its_ids():
    assert {"lhyrl/Driving-v0", "lhyrl/DrivingDiscrete-v0", "lhyrl/GridWorld-v0"} <= set(ENV_IDS)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_passes_gymnasium_and_sb3_check_env(env_id):
    check_env(gym.make(env_id).unwrapped, skip_render_check=False)
    sb3_check_env(gym.make(env_id), warn=True)


def rollout(env: gym.Env, seed: int, steps: int = 60) -> list[np.ndarray]:
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    space = env.observation_space
    trace = [gym.spaces.flatten(space, obs).astype(np.float64)]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        trace.append(np.append(gym.spaces.flatten(space, obs).astype(np.float64), reward))
        if terminated or truncated:
            trace.append(gym.spaces.flatten(space, env.reset()[0]).astype(np.float64))
    return trace


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_gives_the_same_trajectory(env_id):
    first, second = rollout(gym.make(env_id), 5), rollout(gym.make(env_id), 5)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_equal(a, b)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_is_deterministic_and_matches_its_spaces(env_id):
    def run() -> list[np.ndarray]:
        venv = gym.make_vec(env_id, num_envs=3)
        venv.action_space.seed(1)
        obs, _ = venv.reset(seed=1)
        trace = [obs]
        for _ in range(30):
            obs, rewards, terminated, truncated, _ = venv.step(venv.action_space.sample())
            assert venv.observation_space.contains(obs)
            assert rewards.shape == terminated.shape == truncated.shape == (3,)
            trace += [obs, rewards]
        return trace

    for a, b in zip(run(), run(), strict=True):
        np.testing.assert_equal(a, b)
