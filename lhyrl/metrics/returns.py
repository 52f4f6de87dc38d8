"""Episode returns of a policy, and returns normalized between a random and an expert policy."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from lhyrl.data.rollout import PolicyLike, collect_episodes, episode_returns


def normalized_return(mean_return: float, *, random_return: float, expert_return: float) -> float:
    """Scale a return so that a random policy scores 0 and the expert scores 1.

    Computes ``(mean_return - random_return) / (expert_return - random_return)``.

    Args:
        mean_return: The return to normalize.
        random_return: The mean return of a random policy.
        expert_return: The mean return of the expert.

    Returns:
        The normalized return; below 0 is worse than random, above 1 better than the expert.

    Raises:
        ValueError: If ``expert_return == random_return``.
    """
    if expert_return == random_return:
        raise ValueError(
            f"cannot normalize: expert_return and random_return are both {expert_return}"
        )
    return float((mean_return - random_return) / (expert_return - random_return))


@dataclass(frozen=True)
class EvalResult:
    """The outcome of evaluating a policy over several episodes.

    Attributes:
        mean_return: Mean undiscounted episode return.
        std_return: Standard deviation of the episode returns (population, ``ddof=0``).
        n_episodes: Number of episodes evaluated.
        mean_length: Mean episode length in steps.
        normalized_return: ``mean_return`` normalized by :func:`normalized_return`, when the
            random and expert returns were given.
    """

    mean_return: float
    std_return: float
    n_episodes: int
    mean_length: float
    normalized_return: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return dataclasses.asdict(self)


def evaluate_policy(
    env: gym.Env | gym.vector.VectorEnv,
    policy: PolicyLike,
    *,
    n_episodes: int,
    seed: int,
    deterministic: bool = True,
    random_return: float | None = None,
    expert_return: float | None = None,
) -> EvalResult:
    """Run ``policy`` for ``n_episodes`` episodes and summarize their returns.

    Args:
        env: A Gymnasium env or vector env (see :func:`lhyrl.data.collect_episodes`).
        policy: An SB3 model or policy, or a batched callable.
        n_episodes: How many episodes to evaluate.
        seed: Seed of the env's first reset.
        deterministic: Passed on to SB3's ``predict``.
        random_return: Mean return of a random policy, for the normalized return.
        expert_return: Mean return of the expert, for the normalized return.

    Returns:
        The summary; ``normalized_return`` is set when both reference returns are given.

    Raises:
        ValueError: If only one of ``random_return`` and ``expert_return`` is given.
    """
    if (random_return is None) != (expert_return is None):
        raise ValueError("give both random_return and expert_return, or neither")
    episodes = collect_episodes(
        env, policy, n_episodes=n_episodes, seed=seed, deterministic=deterministic, progress=False
    )
    returns = episode_returns(episodes)
    mean_return = float(np.mean(returns))
    normalized = None
    if random_return is not None and expert_return is not None:
        normalized = normalized_return(
            mean_return, random_return=random_return, expert_return=expert_return
        )
    return EvalResult(
        mean_return=mean_return,
        std_return=float(np.std(returns)),
        n_episodes=len(episodes),
        mean_length=float(np.mean([len(ep) for ep in episodes])),
        normalized_return=normalized,
    )
