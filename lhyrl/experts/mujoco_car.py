"""Scripted expert for ``lhyrl/MujocoCar-v0``: pure-pursuit steering and speed control.

The expert is a function of the observation alone (memoryless), so it can label any state a
learner reaches, in a single env or a vector env. It steers towards a centreline point a
speed-dependent distance ahead (pure pursuit on the kinematic bicycle model) and drives at the
speed the sharpest bend within 8 m allows at a comfortable lateral acceleration.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from lhyrl.envs.mujoco_car import CURVATURE_AHEAD, LOOKAHEAD, OBS_SIZE, STEER_MAX, WHEELBASE

CRUISE_SPEED = 4.0  # m/s on the straights
LATERAL_ACCEL = 2.5  # m/s^2: bends are taken at sqrt(LATERAL_ACCEL / curvature)
TOP_SPEED = 6.0  # m/s the car reaches at full throttle (the throttle to hold v is v / TOP_SPEED)
SPEED_GAIN = 0.5  # throttle per m/s of speed error
LOOKAHEAD_TIME = 0.5  # s: the pursuit point is 1 m + 0.5 s of travel ahead, within 1-4 m


class MujocoCarExpert:
    """The scripted expert for ``lhyrl/MujocoCar-v0``.

    Args:
        env: The env (single or vector, wrappers allowed) it will act in, used only to check
            its spaces; ``None`` skips the check.

    Raises:
        ValueError: If the env's observation or action shape is not the car's.

    Example:
        >>> env = gym.make("lhyrl/MujocoCar-v0")
        >>> expert = MujocoCarExpert(env)
        >>> obs, _ = env.reset(seed=0)
        >>> action = expert(obs[None])[0]
    """

    def __init__(
        self, env: gym.Env[Any, Any] | gym.vector.VectorEnv[Any, Any, Any] | None = None
    ) -> None:
        if env is not None:
            obs_space = getattr(env, "single_observation_space", env.observation_space)
            act_space = getattr(env, "single_action_space", env.action_space)
            if obs_space.shape != (OBS_SIZE,) or act_space.shape != (2,):
                raise ValueError(
                    f"MujocoCarExpert acts in lhyrl/MujocoCar-v0 (observations ({OBS_SIZE},), "
                    f"actions (2,)); the env has {obs_space.shape} -> {act_space.shape}"
                )

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Expert actions ``(B, 2)`` (steering, throttle) for observations ``(B, 16)``."""
        obs = np.asarray(obs, dtype=np.float64)
        if obs.ndim != 2 or obs.shape[1] != OBS_SIZE:
            raise ValueError(
                f"MujocoCarExpert expects a batch of observations (B, {OBS_SIZE}), "
                f"got shape {obs.shape}"
            )
        speed = obs[:, 2]  # (B,) forward speed, m/s
        n = 6 + 2 * len(LOOKAHEAD)
        ahead_x, ahead_y = obs[:, 6:n:2], obs[:, 7:n:2]  # (B, P) pursuit candidates, car frame
        curvature = obs[:, n:]  # (B, C)

        # pure pursuit towards the centreline point `distance` ahead (interpolated)
        distance = np.clip(1.0 + LOOKAHEAD_TIME * np.abs(speed), LOOKAHEAD[0], LOOKAHEAD[-1])
        marks = np.asarray(LOOKAHEAD)  # (P,)
        hi = np.clip(np.searchsorted(marks, distance), 1, len(marks) - 1)  # (B,)
        weight = (distance - marks[hi - 1]) / (marks[hi] - marks[hi - 1])  # (B,) in [0, 1]
        rows = np.arange(len(obs))
        px = (1 - weight) * ahead_x[rows, hi - 1] + weight * ahead_x[rows, hi]  # (B,)
        py = (1 - weight) * ahead_y[rows, hi - 1] + weight * ahead_y[rows, hi]  # (B,)
        path_curvature = 2.0 * py / np.maximum(px**2 + py**2, 1e-6)  # (B,)
        steer = np.arctan(WHEELBASE * path_curvature) / STEER_MAX  # (B,)

        # speed: as fast as the sharpest bend ahead allows
        sharpest = np.abs(curvature[:, : len(CURVATURE_AHEAD)]).max(axis=1)  # (B,)
        target = np.minimum(CRUISE_SPEED, np.sqrt(LATERAL_ACCEL / np.maximum(sharpest, 1e-6)))
        throttle = target / TOP_SPEED + SPEED_GAIN * (target - speed)  # (B,)
        return np.clip(np.column_stack([steer, throttle]), -1.0, 1.0).astype(np.float32)
