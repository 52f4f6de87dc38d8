"""Action interfaces of the driving task: continuous controls, or highway-env-style meta-actions.

Each interface turns a batch of actions into simulator steps, so the single and the vector
environments share them.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from lhyrl.envs.driving.control import pure_pursuit_steer, track_speed
from lhyrl.envs.driving.sim import DrivingConfig, DrivingSim, StepOutcome

META_ACTIONS = ("KEEP_LANE", "LANE_LEFT", "LANE_RIGHT", "FASTER", "SLOWER")
KEEP_LANE, LANE_LEFT, LANE_RIGHT, FASTER, SLOWER = range(len(META_ACTIONS))
TARGET_SPEEDS = (10.0, 30.0)  # m/s, range of the meta-action speed target
SPEED_STEP = 5.0  # m/s per FASTER / SLOWER
DECISION_SUBSTEPS = 5  # simulator steps per meta-action


class ContinuousControl:
    """Actions ``[steering, throttle]`` in ``Box(-1, 1, (2,))``, applied for one step."""

    extra_obs_size = 0
    substeps = 1

    def __init__(self, config: DrivingConfig, batch: int) -> None:
        self.config = config
        self.space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def reset_one(self, index: int, sim: DrivingSim) -> None:
        """Nothing to reset: continuous control has no state."""

    def reset(self, indices: np.ndarray, sim: DrivingSim) -> None:
        """Nothing to reset: continuous control has no state."""

    def check(self, actions: np.ndarray, batch: int) -> np.ndarray:
        """Validate a batch of actions, ``(B, 2)``, returning it as float64."""
        actions = np.asarray(actions)
        if actions.shape != (batch, 2) or actions.dtype.kind not in "fiu":
            raise ValueError(
                f"driving expects actions of shape {(batch, 2) if batch > 1 else (2,)} "
                "(steering, throttle) as floats in [-1, 1]; got "
                f"shape {actions.shape[1:] if batch == 1 and actions.ndim else actions.shape} "
                f"and dtype {actions.dtype}"
            )
        if not np.all(np.isfinite(actions)):
            raise ValueError(f"driving actions must be finite numbers, got {actions.tolist()}")
        return actions.astype(np.float64)

    def apply(
        self, sim: DrivingSim, actions: np.ndarray, active: np.ndarray | None, repeat: int = 1
    ) -> StepOutcome:
        """Step the simulator ``repeat`` times with the given controls (clipped to [-1, 1]).

        An environment stops at the step its episode ends; rewards are summed over the steps.
        """
        return sim.step(actions[:, 0], actions[:, 1], active, repeat)

    def extra_obs(self, sim: DrivingSim) -> np.ndarray:
        """No extra observation entries."""
        return np.zeros((sim.batch, 0), dtype=np.float32)


class MetaActions:
    """Discrete meta-actions driven by pure pursuit and speed tracking for 5 simulator steps.

    ``0`` keep lane, ``1`` change one lane left, ``2`` change one lane right, ``3`` raise the
    target speed by 5 m/s, ``4`` lower it by 5 m/s. The target lane and speed are state of this
    interface and appear at the end of the observation.
    """

    extra_obs_size = 2
    substeps = DECISION_SUBSTEPS

    def __init__(self, config: DrivingConfig, batch: int) -> None:
        self.config = config
        self.space = spaces.Discrete(len(META_ACTIONS))
        self.target_lane = np.zeros(batch, dtype=np.int64)
        self.target_speed = np.zeros(batch)

    def reset_one(self, index: int, sim: DrivingSim) -> None:
        """Target the current lane and the current speed rounded to a 5 m/s step."""
        self.reset(np.array([index]), sim)

    def reset(self, indices: np.ndarray, sim: DrivingSim) -> None:
        """:meth:`reset_one` for environments ``indices`` at once."""
        self.target_lane[indices] = self.config.lane_of(sim.ego_d[indices])
        speed = SPEED_STEP * np.round(sim.ego_v[indices] / SPEED_STEP)
        self.target_speed[indices] = np.clip(speed, *TARGET_SPEEDS)

    def check(self, actions: np.ndarray, batch: int) -> np.ndarray:
        """Validate a batch of meta-actions, ``(B,)`` integers in ``[0, 5)``."""
        actions = np.asarray(actions)
        if actions.shape != (batch,) or actions.dtype.kind not in "iu":
            shown = actions.shape[1:] if batch == 1 and actions.ndim else actions.shape
            raise ValueError(
                f"discrete driving expects integer meta-actions of shape "
                f"{(batch,) if batch > 1 else ()} in [0, {len(META_ACTIONS)}) "
                f"{META_ACTIONS}; got shape {shown} and dtype {actions.dtype}"
            )
        if np.any((actions < 0) | (actions >= len(META_ACTIONS))):
            raise ValueError(
                f"meta-actions must be in [0, {len(META_ACTIONS)}) {META_ACTIONS}, "
                f"got {actions.tolist()}"
            )
        return actions.astype(np.int64)

    def apply(
        self, sim: DrivingSim, actions: np.ndarray, active: np.ndarray | None, repeat: int = 1
    ) -> StepOutcome:
        """Update the targets, then drive towards them for ``repeat`` meta-action periods.

        That is ``repeat`` times :data:`DECISION_SUBSTEPS` simulator steps, the controllers
        acting at every one; an environment stops at the step its episode ends, and rewards are
        summed over the steps it took.
        """
        cfg = self.config
        on = np.ones(sim.batch, dtype=bool) if active is None else active
        lane = self.target_lane + (actions == LANE_LEFT) - (actions == LANE_RIGHT)
        speed = self.target_speed + SPEED_STEP * ((actions == FASTER) * 1.0 - (actions == SLOWER))
        self.target_lane = np.where(on, np.clip(lane, 0, cfg.lanes - 1), self.target_lane)
        self.target_speed = np.where(on, np.clip(speed, *TARGET_SPEEDS), self.target_speed)
        target_d = cfg.lane_center(self.target_lane)
        total: StepOutcome | None = None
        running = on.copy()
        for _ in range(self.substeps * repeat):
            steer = pure_pursuit_steer(sim, target_d)
            throttle = track_speed(sim, self.target_speed)
            outcome = sim.step(steer, throttle, running)
            total = outcome if total is None else total.merge(outcome, running)
            running = running & ~outcome.terminated
        assert total is not None
        return total

    def extra_obs(self, sim: DrivingSim) -> np.ndarray:
        """Target lane offset from the car (in lane widths) and target speed (over max speed)."""
        cfg = self.config
        offset = (cfg.lane_center(self.target_lane) - sim.ego_d) / cfg.lane_width
        return np.column_stack([offset, self.target_speed / cfg.max_speed]).astype(np.float32)
