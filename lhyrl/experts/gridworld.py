"""The optimal expert of a tabular env that exposes its MDP (``lhyrl/GridWorld-v0``).

The expert plans once, by value iteration on the env's ``transition_matrix`` and
``true_reward`` with its ``gamma``, and then acts by table lookup: its action is a function of
the observation (the state index) only, so it labels any state and works alike for a single
env and for a vector env of copies of one MDP.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from lhyrl.rewards.tabular import optimal_policy

MDP_ATTRIBUTES = ("transition_matrix", "true_reward", "gamma")
"""The attributes the expert reads from the env."""


def _read_mdp(env: gym.Env[Any, Any] | gym.vector.VectorEnv[Any, Any, Any]) -> dict[str, Any]:
    """The MDP attributes of a single env, or of a vector env's sub-envs (which must agree)."""
    if isinstance(env, gym.vector.VectorEnv):
        get_attr = getattr(env, "get_attr", None)
        if get_attr is None:
            raise TypeError(
                f"GridWorldExpert needs a vector env with get_attr (SyncVectorEnv or "
                f"AsyncVectorEnv), got {type(env).__name__}"
            )
        mdp: dict[str, Any] = {}
        for name in MDP_ATTRIBUTES:
            try:
                values = get_attr(name)
            except AttributeError as err:
                raise TypeError(f"GridWorldExpert needs sub-envs with `{name}`: {err}") from err
            if any(not np.array_equal(values[0], v) for v in values[1:]):
                raise ValueError(f"the sub-envs' `{name}` differ; the expert needs one MDP")
            mdp[name] = values[0]
        return mdp
    base = env.unwrapped
    missing = [name for name in MDP_ATTRIBUTES if not hasattr(base, name)]
    if missing:
        raise TypeError(
            f"GridWorldExpert needs an env exposing {MDP_ATTRIBUTES}; {type(base).__name__} "
            f"lacks {missing}"
        )
    return {name: getattr(base, name) for name in MDP_ATTRIBUTES}


class GridWorldExpert:
    """The optimal deterministic policy of ``lhyrl/GridWorld-v0`` (or any env exposing its MDP).

    It maximizes the expected discounted return (discount ``env.gamma``) under the env's true
    reward; among equally good actions it takes the lowest index.

    Args:
        env: An env made with ``gym.make`` or ``gym.make_vec``; wrappers are looked through.

    Raises:
        TypeError: If the env does not expose ``transition_matrix``, ``true_reward`` and
            ``gamma``.

    Example:
        >>> env = gym.make("lhyrl/GridWorld-v0")
        >>> expert = GridWorldExpert(env)
        >>> obs, _ = env.reset(seed=0)
        >>> action = expert(np.array([obs]))[0]
    """

    def __init__(self, env: gym.Env[Any, Any] | gym.vector.VectorEnv[Any, Any, Any]) -> None:
        mdp = _read_mdp(env)
        self.policy = optimal_policy(
            mdp["transition_matrix"], mdp["true_reward"], gamma=float(mdp["gamma"])
        )
        """``(S,)`` the action taken in each state."""

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Actions ``(B,)`` for a batch of state indices ``(B,)``.

        Raises:
            ValueError: If an observation is not a state index of the MDP.
        """
        states = np.asarray(obs)
        if states.dtype.kind not in "iu" or np.any((states < 0) | (states >= len(self.policy))):
            raise ValueError(
                f"GridWorldExpert expects integer state indices in [0, {len(self.policy)}), "
                f"got {obs!r}"
            )
        return self.policy[states]
