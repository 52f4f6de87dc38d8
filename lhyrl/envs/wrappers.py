"""Wrappers for imitation benchmarks.

Learned rewards carry a bias on tasks whose episodes end early: a reward that is positive
everywhere (GAIL's ``-log(1 - D)``) pays for surviving, one that is negative everywhere (AIRL's
``f`` near its optimum) pays for dying. :class:`AbsorbAfterTermination` removes the bias the way
the ``seals`` benchmark suite does: every episode lasts a fixed number of steps, and after a
terminal state the env stays in it (same observation, zero reward) until the time is up, so a
discriminator can learn that the absorbing state is not what the expert does.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np


class AbsorbAfterTermination(gym.Wrapper[Any, Any, Any, Any]):
    """Fixed-horizon episodes: after termination, repeat the terminal observation with reward 0.

    Args:
        env: The env to wrap.
        horizon: Steps per episode; the episode is truncated after exactly this many.

    ``info["absorbed"]`` is true on the steps taken in the absorbing state; the true
    ``terminated`` flag of the step that entered it is in ``info["inner_terminated"]``.
    """

    def __init__(self, env: gym.Env[Any, Any], horizon: int) -> None:
        super().__init__(env)
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1; got {horizon}")
        self.horizon = int(horizon)
        self._t = 0
        self._absorbed = False
        self._last_obs: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the env and the step counter."""
        obs, info = self.env.reset(**kwargs)
        self._t, self._absorbed, self._last_obs = 0, False, obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env, or stay in the absorbing state once it has terminated."""
        self._t += 1
        truncated = self._t >= self.horizon
        if self._absorbed:
            return np.array(self._last_obs, copy=True), 0.0, False, truncated, {"absorbed": True}
        obs, reward, terminated, inner_truncated, info = self.env.step(action)
        self._last_obs = obs
        info = {**info, "absorbed": False, "inner_terminated": terminated}
        if terminated:
            self._absorbed = True
        return obs, reward, False, truncated or (inner_truncated and not terminated), info
