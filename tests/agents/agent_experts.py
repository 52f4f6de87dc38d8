"""Hand-written experts and demonstrations for the agent tests (imported by the test files).

The module has a unique name so that it cannot clash with another directory's conftest.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from lhyrl.data import Demonstrations, collect_episodes


def cartpole_expert(obs: np.ndarray) -> np.ndarray:
    """A linear controller that balances CartPole for all 500 steps: (B, 4) -> (B,)."""
    obs = np.asarray(obs)
    x, x_dot, theta, theta_dot = obs[:, 0], obs[:, 1], obs[:, 2], obs[:, 3]
    return (theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0).astype(np.int64)


def pendulum_expert(obs: np.ndarray) -> np.ndarray:
    """Energy pumping far from the top, PD control near it (mean return about -220).

    The two are blended smoothly, which a small MLP can imitate: (B, 3) -> (B, 1).
    """
    obs = np.asarray(obs)
    cos, sin, theta_dot = obs[:, 0], obs[:, 1], obs[:, 2]
    theta = np.arctan2(sin, cos)
    energy = theta_dot**2 / 6 + 5.0 * (cos - 1)  # 0 at rest upright (m = l = 1, g = 10)
    pump = np.clip(-0.2 * energy * theta_dot, -2, 2)
    hold = np.clip(-(10.0 * theta + 2.0 * theta_dot), -2, 2)
    near_top = np.clip((cos - 0.8) / 0.1, 0, 1)
    return (near_top * hold + (1 - near_top) * pump)[:, None].astype(np.float32)


def make_demonstrations(env_id: str, expert, n_episodes: int, seed: int) -> Demonstrations:
    env = gym.make(env_id)
    episodes = collect_episodes(env, expert, n_episodes=n_episodes, seed=seed, progress=False)
    return Demonstrations(episodes, env.observation_space, env.action_space, env_id=env_id)
