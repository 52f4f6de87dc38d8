"""Wrappers for imitation benchmarks.

Learned rewards carry a bias on tasks whose episodes end early: a reward that is positive
everywhere (GAIL's ``-log(1 - D)``) pays for surviving, one that is negative everywhere (AIRL's
``f`` near its optimum) pays for dying. :class:`AbsorbAfterTermination` removes the bias the way
the ``seals`` benchmark suite does: every episode lasts a fixed number of steps, and after a
terminal state the env stays in it (same observation, zero reward) until the time is up, so a
discriminator can learn that the absorbing state is not what the expert does.
:class:`ContinueAfterTermination` is the other way ``seals`` fixes an episode's length (its
MuJoCo envs never terminate early): the env's dynamics run on after termination, so the
states after a failure (a pendulum lying down) are real states that a discriminator sees.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np


class _FixedHorizon(gym.Wrapper[Any, Any, Any, Any]):
    """Counts an episode's steps up to ``horizon`` and remembers whether it has terminated."""

    def __init__(self, env: gym.Env[Any, Any], horizon: int) -> None:
        super().__init__(env)
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1; got {horizon}")
        self.horizon = int(horizon)
        self._t = 0
        self._ended = False  # the env has terminated in this episode
        self._last_obs: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the env and the step counter."""
        obs, info = self.env.reset(**kwargs)
        self._t, self._ended, self._last_obs = 0, False, obs
        return obs, info


class AbsorbAfterTermination(_FixedHorizon):
    """Fixed-horizon episodes: after termination, repeat the terminal observation with reward 0.

    Args:
        env: The env to wrap.
        horizon: Steps per episode; the episode is truncated after exactly this many.

    ``info["absorbed"]`` is true on the steps taken in the absorbing state; the true
    ``terminated`` flag of the step that entered it is in ``info["inner_terminated"]``.
    """

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env, or stay in the absorbing state once it has terminated."""
        self._t += 1
        truncated = self._t >= self.horizon
        if self._ended:
            return np.array(self._last_obs, copy=True), 0.0, False, truncated, {"absorbed": True}
        obs, reward, terminated, inner_truncated, info = self.env.step(action)
        self._last_obs = obs
        info = {**info, "absorbed": False, "inner_terminated": terminated}
        self._ended = bool(terminated)
        return obs, reward, False, truncated or (inner_truncated and not terminated), info


class ContinueAfterTermination(_FixedHorizon):
    """Fixed-horizon episodes: the env's termination is ignored and its dynamics run on.

    Every episode lasts ``horizon`` steps (or until the env truncates it first): a terminal
    step is passed on as an ordinary one, and the env keeps stepping from its state after
    it. Suited to envs whose physics is defined past their termination condition (MuJoCo's
    InvertedPendulum: the pole lies on its hinge limit), not to ones that cannot go on.

    Args:
        env: The env to wrap.
        horizon: Steps per episode; the episode is truncated after exactly this many.

    ``info["inner_terminated"]`` holds the env's own ``terminated`` flag of the step, and
    ``info["failed"]`` whether the episode has terminated at or before it.
    """

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env; never terminate, truncate at the horizon."""
        self._t += 1
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._ended = self._ended or bool(terminated)
        info = {**info, "inner_terminated": terminated, "failed": self._ended}
        return obs, reward, False, truncated or self._t >= self.horizon, info
