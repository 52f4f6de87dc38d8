"""Low-level controllers for the driving task: pure-pursuit steering and speed tracking.

The discrete (meta-action) variant drives with these, and the scripted expert builds on them.
All functions are batched over the simulator's environments.
"""

from __future__ import annotations

import numpy as np

from lhyrl.envs.driving.dynamics import SAME_LANE, VEHICLE_LENGTH, WHEELBASE
from lhyrl.envs.driving.sim import DrivingSim

LOOKAHEAD_TIME = 1.0  # s: pure-pursuit look-ahead distance is speed times this ...
LOOKAHEAD_RANGE = (12.0, 40.0)  # ... clipped to this range (m)
SPEED_GAIN = 1.5  # 1/s: proportional speed tracking


def pure_pursuit_steer(sim: DrivingSim, target_d: np.ndarray) -> np.ndarray:
    """Steering actions in [-1, 1] that steer each ego car onto lateral offset ``target_d``.

    Pure pursuit: aim at the point on the target line one look-ahead distance further along the
    road and steer along the circular arc through it.
    """
    cfg = sim.config
    lookahead = np.clip(LOOKAHEAD_TIME * sim.ego_v, *LOOKAHEAD_RANGE)  # (B,)
    ex, ey, road_heading = sim.roads.to_world(sim.rows, sim.ego_s, sim.ego_d)
    tx, ty, _ = sim.roads.to_world(sim.rows, sim.ego_s + lookahead, target_d)
    alpha = np.arctan2(ty - ey, tx - ex) - (road_heading + sim.ego_psi)
    distance = np.maximum(np.hypot(tx - ex, ty - ey), 1.0)
    steer = np.arctan(2.0 * WHEELBASE * np.sin(alpha) / distance)
    return np.clip(steer / cfg.steer_max, -1.0, 1.0)


def throttle_for(sim: DrivingSim, accel: np.ndarray) -> np.ndarray:
    """Throttle actions in [-1, 1] that produce acceleration ``accel`` (m/s^2)."""
    cfg = sim.config
    throttle = np.where(accel >= 0, accel / cfg.accel_max, accel / cfg.brake_max)
    return np.clip(throttle, -1.0, 1.0)


def track_speed(sim: DrivingSim, target_speed: np.ndarray) -> np.ndarray:
    """Throttle actions that bring each ego car to ``target_speed`` (m/s)."""
    return throttle_for(sim, SPEED_GAIN * (target_speed - sim.ego_v))


def lane_gaps(
    sim: DrivingSim, lane_d: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Free space around the ego car in the lane centred at ``lane_d``, per environment.

    Args:
        sim: The simulator.
        lane_d: ``(B,)`` lateral offset of the lane (or corridor) to look at.

    Returns:
        ``(gap_ahead, speed_ahead, gap_behind, speed_behind)``, each ``(B,)``: bumper-to-bumper
        distances (``inf`` when the lane is empty that way) and the along-road speeds of the
        vehicles there (the ego car's own speed when there is none).
    """
    rel_s = sim.car_s - sim.ego_s[:, None]  # (B, N)
    in_lane = np.abs(sim.car_d - lane_d[:, None]) < SAME_LANE * sim.config.lane_width
    ahead = np.where(in_lane & (rel_s > 0), rel_s, np.inf)
    behind = np.where(in_lane & (rel_s <= 0), -rel_s, np.inf)
    i_ahead = np.argmin(ahead, axis=1)[:, None] if sim.config.vehicles else None
    i_behind = np.argmin(behind, axis=1)[:, None] if sim.config.vehicles else None
    if i_ahead is None or i_behind is None:
        inf = np.full(sim.batch, np.inf)
        return inf, sim.ego_v.copy(), inf.copy(), sim.ego_v.copy()
    gap_ahead = np.take_along_axis(ahead, i_ahead, axis=1)[:, 0] - VEHICLE_LENGTH
    gap_behind = np.take_along_axis(behind, i_behind, axis=1)[:, 0] - VEHICLE_LENGTH
    speed_ahead = np.where(
        np.isfinite(gap_ahead), np.take_along_axis(sim.car_v, i_ahead, axis=1)[:, 0], sim.ego_v
    )
    speed_behind = np.where(
        np.isfinite(gap_behind), np.take_along_axis(sim.car_v, i_behind, axis=1)[:, 0], sim.ego_v
    )
    return gap_ahead, speed_ahead, gap_behind, speed_behind
