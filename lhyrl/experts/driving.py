"""Scripted expert for the driving task: pure-pursuit lane keeping, IDM gap control, overtaking.

The expert reads the simulator's state, not the observation, so it can label any state a
learner reaches (what DAgger needs). It is memoryless: its action is a function of the current
state only. Bind it to a single env or a native vector env; calling it with the batch of current
observations returns the batch of expert actions for the env's current state.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from lhyrl.envs.driving.actions import (
    FASTER,
    KEEP_LANE,
    LANE_LEFT,
    LANE_RIGHT,
    SLOWER,
    SPEED_STEP,
    MetaActions,
)
from lhyrl.envs.driving.control import lane_gaps, pure_pursuit_steer, throttle_for
from lhyrl.envs.driving.sim import DrivingSim

CRUISE_SPEED = 27.0  # m/s
IDM_ACCEL = 3.0  # m/s^2
IDM_COMFORT_BRAKE = 4.0  # m/s^2
IDM_MIN_GAP = 6.0  # m
IDM_TIME_HEADWAY = 1.2  # s
GAP_HORIZON = 150.0  # m: free space beyond this counts the same
OVERTAKE_GAIN = 25.0  # m: change lanes only for this much more free space ahead
SAFE_AHEAD = 20.0  # m, plus 1.5 s times the closing speed on the new leader
SAFE_BEHIND = 10.0  # m, plus 2 s times the closing speed of the new follower


def idm_accel(
    speed: np.ndarray, gap: np.ndarray, leader_speed: np.ndarray, desired: float = CRUISE_SPEED
) -> np.ndarray:
    """Intelligent Driver Model acceleration (m/s^2) behind a leader ``gap`` metres ahead."""
    desired_gap = (
        IDM_MIN_GAP
        + speed * IDM_TIME_HEADWAY
        + speed * (speed - leader_speed) / (2.0 * np.sqrt(IDM_ACCEL * IDM_COMFORT_BRAKE))
    )
    interaction = np.where(
        np.isfinite(gap), (np.maximum(desired_gap, 0.0) / np.maximum(gap, 0.1)) ** 2, 0.0
    )
    return IDM_ACCEL * (1.0 - (speed / desired) ** 4 - interaction)


def _unwrap_sim(env: Any) -> tuple[DrivingSim, Any]:
    base = env.unwrapped if hasattr(env, "unwrapped") else env
    sim = getattr(base, "sim", None)
    if not isinstance(sim, DrivingSim):
        raise TypeError(
            f"DrivingExpert needs a lhyrl driving env (single or native vector), got {env!r}"
        )
    return sim, base.actions


class DrivingExpert:
    """The scripted expert for ``lhyrl/Driving-v0`` and ``lhyrl/DrivingDiscrete-v0``.

    Args:
        env: A driving env made with ``gym.make`` or ``gym.make_vec(...,
            vectorization_mode="vector_entry_point")``; wrappers are looked through.

    Example:
        >>> env = gym.make("lhyrl/Driving-v0")
        >>> expert = DrivingExpert(env)
        >>> obs, _ = env.reset(seed=0)
        >>> action = expert(obs[None])[0]
    """

    def __init__(self, env: gym.Env | gym.vector.VectorEnv) -> None:
        self.sim, self.action_interface = _unwrap_sim(env)
        self.discrete = isinstance(self.action_interface, MetaActions)

    def target_lane(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The lane to drive in: stay unless a neighbour offers much more room and is safe.

        Returns:
            ``(lane, gap_ahead, leader_speed)``, each ``(B,)``: the chosen lane and the free
            space and leader speed in front of the car, over its current and chosen lanes.
        """
        sim, cfg = self.sim, self.sim.config
        v = sim.ego_v
        current = cfg.lane_of(sim.ego_d)
        own_gap, own_speed, _, _ = lane_gaps(sim, sim.ego_d)
        best, best_score = current, np.minimum(own_gap, GAP_HORIZON)
        for side in (1, -1):  # left first: overtake on the left when both are as good
            lane = current + side
            valid = (lane >= 0) & (lane < cfg.lanes)
            ahead, ahead_speed, behind, behind_speed = lane_gaps(sim, cfg.lane_center(lane))
            score = np.minimum(ahead, GAP_HORIZON)
            safe = (ahead > SAFE_AHEAD + 1.5 * np.maximum(v - ahead_speed, 0.0)) & (
                behind > SAFE_BEHIND + 2.0 * np.maximum(behind_speed - v, 0.0)
            )
            better = valid & safe & (score > best_score + OVERTAKE_GAIN)
            best = np.where(better, lane, best)
            best_score = np.where(better, score, best_score)
        target_gap, target_speed, _, _ = lane_gaps(sim, cfg.lane_center(best))
        changing = best != current
        gap = np.where(changing, np.minimum(own_gap, target_gap), own_gap)
        leader_speed = np.where(changing & (target_gap < own_gap), target_speed, own_speed)
        return best, gap, leader_speed

    def continuous_actions(self) -> np.ndarray:
        """``(B, 2)`` steering and throttle for the current state."""
        sim = self.sim
        lane, gap, leader_speed = self.target_lane()
        steer = pure_pursuit_steer(sim, sim.config.lane_center(lane))
        throttle = throttle_for(sim, idm_accel(sim.ego_v, gap, leader_speed))
        return np.column_stack([steer, throttle]).astype(np.float32)

    def meta_actions(self) -> np.ndarray:
        """``(B,)`` meta-actions for the current state of the discrete variant."""
        sim, control = self.sim, self.action_interface
        lane, gap, leader_speed = self.target_lane()
        # the speed the IDM would reach within one decision period (0.5 s)
        accel = idm_accel(sim.ego_v, gap, leader_speed)
        wanted = sim.ego_v + accel * sim.config.dt * control.substeps * 2.0
        action = np.full(sim.batch, KEEP_LANE)
        action = np.where(control.target_speed > wanted + SPEED_STEP / 2, SLOWER, action)
        action = np.where(control.target_speed < wanted - SPEED_STEP / 2, FASTER, action)
        action = np.where(lane > control.target_lane, LANE_LEFT, action)
        action = np.where(lane < control.target_lane, LANE_RIGHT, action)
        return action.astype(np.int64)

    def __call__(self, obs: np.ndarray | None = None) -> np.ndarray:
        """Expert actions for the env's current state, batched ``(B, ...)``.

        ``obs`` is accepted so the expert is a policy callable; the state is read from the env.
        """
        return self.meta_actions() if self.discrete else self.continuous_actions()
