"""The evaluation both sides of ``benchmarks/imitation_speed.py`` share (plain Gymnasium, no lhyrl).

It runs under gymnasium 1.x (lhyrl) and 0.29 (imitation 1.0.1) alike, so the two libraries'
learners are scored by the same code on the same episodes.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def evaluate(policy: Any, env_id: str, episodes: int, seed: int) -> float:
    """Mean return of an SB3 policy, deterministic, over ``episodes`` episodes (seeds seed+i)."""
    env = gym.make(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        total, done = 0.0, False
        while not done:
            action, _ = policy.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = bool(terminated or truncated)
        returns.append(total)
    env.close()
    return float(np.mean(returns))
