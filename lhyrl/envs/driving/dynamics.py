"""The driving task's vehicle models and observation, compiled with numba.

:class:`~lhyrl.envs.driving.sim.DrivingSim` keeps the state of a batch of environments in numpy
arrays; the two kernels here advance it (:func:`step_batch`) and read the observation from it
(:func:`observe_batch`). Each loops over the environments and, inside one, over its vehicles:
per environment a step costs a few hundred floating-point operations, which numpy, one call per
operation on ``(B,)`` and ``(B, N)`` arrays, spent mostly on call overhead (a single env) or on
memory traffic of temporaries (thousands of envs). Compiled, one call can also run several
steps, as a repeated action needs, without returning to Python between them.

The arithmetic is the same, operation by operation, as the numpy formulation it replaced, except
that IDM's ``(v / v0) ** 4`` is squared twice instead of calling ``pow`` (half the kernel's
time); trajectories therefore agree with the numpy version up to round-off (that, and numpy's
vectorised ``sin``/``cos``/``tan``/``arctan`` against the C library's, may differ in the last
bit). Every environment is computed on its own, so a batch of ``B`` gives each environment
exactly what a batch of one would: the vector env and the single env stay bit-identical.

The kernels compile on first use and are cached next to this file (``__pycache__``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

VEHICLE_LENGTH = 4.5  # m
VEHICLE_WIDTH = 1.8  # m
REAR_AXLE = 1.25  # m, centre of mass to rear axle
WHEELBASE = 2.5  # m

# Intelligent Driver Model for traffic (Treiber et al. 2000)
IDM_ACCEL = 1.5  # m/s^2
IDM_COMFORT_BRAKE = 3.0  # m/s^2
IDM_MIN_GAP = 3.0  # m, bumper to bumper
IDM_TIME_HEADWAY = 1.2  # s
IDM_MAX_BRAKE = 8.0  # m/s^2
IDM_BRAKE_TERM = 2.0 * math.sqrt(IDM_ACCEL * IDM_COMFORT_BRAKE)  # the denominator of IDM's dv term
# Lane changes of the lane-changing part of traffic
LANE_CHANGE_BLOCKED_GAP = 40.0  # m: a leader closer than this makes a car look for a lane
LANE_CHANGE_GAIN = 15.0  # m: the other lane's gap must be this much longer
LANE_CHANGE_SAFE_AHEAD = 15.0  # m
LANE_CHANGE_SAFE_BEHIND = 10.0  # m, plus 2 s times the closing speed of the new follower
LANE_CHANGE_COOLDOWN = 6.0  # s
TRAFFIC_DECISION_STEPS = 5  # traffic looks for leaders and lane changes every this many steps
LATERAL_GAIN = 1.0  # 1/s
LATERAL_SPEED_MAX = 1.5  # m/s
SAME_LANE = 0.8  # lateral distances below this many lane widths share a lane

EGO_FEATURES = 9
HEADING_SCALE = 10.0  # the observation gives the heading in units of 0.1 rad
VEHICLE_FEATURES = 5
# The observation lists the nearest vehicle ahead and behind in the car's lane and the lanes to
# its left and right: slot 2 * (lane + 1) + behind, lane in (-1: right, 0: own, 1: left).
VEHICLE_SLOTS = 6
LOOKAHEAD = np.array([0.0, 20.0, 40.0, 60.0])  # m, where the observation samples curvature
OBS_BOUND = 10.0

# Rows of the packed state arrays (see DrivingSim): ego (4, B) and traffic (7, B, N).
EGO_S, EGO_D, EGO_PSI, EGO_V = range(4)
CAR_S, CAR_D, CAR_V, CAR_DESIRED_V, CAR_TARGET_D, CAR_COOLDOWN, CAR_D_DOT = range(7)
# Entries of the per-step outcome: terms (5, B) float, ends (3, B) bool.
REWARD, PROGRESS, CONTROL, COLLISION, OFFROAD = range(5)
CRASHED, LEFT_ROAD, FINISHED = range(3)
# Entries of the float parameter vector (see step_params).
(
    P_DT,
    P_LANE_WIDTH,
    P_HALF_WIDTH,
    P_MAX_SPEED,
    P_STEER_MAX,
    P_ACCEL_MAX,
    P_BRAKE_MAX,
    P_CONTROL_COST,
    P_COLLISION_REWARD,
    P_OFFROAD_REWARD,
    P_FINISH_S,
    P_SENSOR_RANGE,
    P_LANES,
) = range(13)


@njit(cache=True)
def _clip(x: float, low: float, high: float) -> float:
    return min(max(x, low), high)


@njit(cache=True)
def step_batch(
    steer: np.ndarray,
    throttle: np.ndarray,
    active: np.ndarray,
    repeat: int,
    kappa: np.ndarray,
    ego: np.ndarray,
    cars: np.ndarray,
    changes_lanes: np.ndarray,
    leader: np.ndarray,
    elapsed: np.ndarray,
    params: np.ndarray,
    terms: np.ndarray,
    ends: np.ndarray,
) -> None:
    """Advance every active environment by up to ``repeat`` steps of ``dt`` with one action.

    An environment stops at the step on which its episode ends (a crash, leaving the road or
    the finish); its rewards are summed over the steps it took.

    Args:
        steer: ``(B,)`` steering actions (clipped to [-1, 1]).
        throttle: ``(B,)`` throttle actions (clipped to [-1, 1]; negative brakes).
        active: ``(B,)`` bool; inactive environments keep their state and earn nothing.
        repeat: Steps to take with the same action.
        kappa: ``(B, M)`` road curvature every metre.
        ego: ``(4, B)`` ego ``s, d, psi, v``, updated in place.
        cars: ``(7, B, N)`` traffic state (rows ``CAR_*``), updated in place.
        changes_lanes: ``(B, N)`` bool, the vehicles that change lanes.
        leader: ``(B, N)`` each vehicle's leader (0 ego, 1..N traffic, N+1 nobody), in place.
        elapsed: ``(B,)`` steps since reset, in place.
        params: Float parameters, indexed by the ``P_*`` constants.
        terms: ``(5, B)`` zeros; receives the summed reward and its terms (rows ``REWARD`` ..).
        ends: ``(3, B)`` False; receives ``crashed``, ``left_road``, ``finished``.
    """
    batch, n = cars.shape[1], cars.shape[2]
    n_points = kappa.shape[1]
    dt = params[P_DT]
    lane_width, half_width = params[P_LANE_WIDTH], params[P_HALF_WIDTH]
    max_speed, steer_max = params[P_MAX_SPEED], params[P_STEER_MAX]
    accel_max, brake_max = params[P_ACCEL_MAX], params[P_BRAKE_MAX]
    control_cost = params[P_CONTROL_COST]
    collision_reward, offroad_reward = params[P_COLLISION_REWARD], params[P_OFFROAD_REWARD]
    finish_s = params[P_FINISH_S]
    progress_scale = max_speed * dt
    same_lane = SAME_LANE * lane_width
    fmax = np.finfo(np.float64).max
    # scratch, per environment: all vehicles (ego, traffic, sentinel) and traffic updates
    all_s, all_d, all_v = np.empty(n + 2), np.empty(n + 2), np.empty(n + 2)
    car_accel, leader_gap = np.empty(n), np.empty(n)
    new_target, new_cooldown = np.empty(n), np.empty(n)
    s_row, d_row, v_row = cars[CAR_S], cars[CAR_D], cars[CAR_V]
    desired_row, target_row = cars[CAR_DESIRED_V], cars[CAR_TARGET_D]
    cooldown_row, d_dot_row = cars[CAR_COOLDOWN], cars[CAR_D_DOT]
    for b in range(batch):
        if not active[b]:
            continue
        st = _clip(steer[b], -1.0, 1.0)
        th = _clip(throttle[b], -1.0, 1.0)
        accel = th * (accel_max if th >= 0 else brake_max)
        beta = math.atan(REAR_AXLE / WHEELBASE * math.tan(st * steer_max))
        control = -control_cost * (st * st + th * th)
        car_s, car_d, car_v = s_row[b], d_row[b], v_row[b]  # (N,) views
        car_target_d, car_cooldown, car_d_dot = target_row[b], cooldown_row[b], d_dot_row[b]
        for _ in range(repeat):
            # Ego: kinematic bicycle model in Frenet coordinates.
            s, d, psi, v = ego[EGO_S, b], ego[EGO_D, b], ego[EGO_PSI, b], ego[EGO_V, b]
            k = kappa[b, min(int(max(s, 0.0)), n_points - 1)]
            s_dot = v * math.cos(psi + beta) / (1.0 - k * d)
            d_dot = v * math.sin(psi + beta)
            psi_dot = v / REAR_AXLE * math.sin(beta) - k * s_dot

            # Traffic: IDM towards the leader, which drivers look for every few steps.
            all_s[0], all_d[0], all_v[0] = s, d, s_dot
            for i in range(n):
                all_s[i + 1], all_d[i + 1], all_v[i + 1] = car_s[i], car_d[i], car_v[i]
            all_s[n + 1], all_d[n + 1], all_v[n + 1] = np.inf, np.inf, 0.0
            deciding = elapsed[b] % TRAFFIC_DECISION_STEPS == 0
            if deciding:
                for i in range(n):
                    best, best_gap = n + 1, fmax  # the sentinel: nobody ahead
                    for j in range(n + 1):
                        gap_s = all_s[j] - car_s[i]  # a car's gap to itself is 0, not > 0
                        if gap_s > 0 and abs(all_d[j] - car_d[i]) < same_lane and gap_s < best_gap:
                            best, best_gap = j, gap_s
                    leader[b, i] = best
            for i in range(n):
                v_i = car_v[i]
                j = leader[b, i]
                gap = all_s[j] - car_s[i] - VEHICLE_LENGTH  # inf: nobody ahead
                desired_gap = (
                    IDM_MIN_GAP + v_i * IDM_TIME_HEADWAY + v_i * (v_i - all_v[j]) / IDM_BRAKE_TERM
                )
                ratio = max(desired_gap, 0.0) / max(gap, 0.1)  # 0 if gap inf
                speed_ratio = v_i / desired_row[b, i]
                speed_ratio *= speed_ratio  # squared twice: (v / v0) ** 4 without pow
                a = IDM_ACCEL * (1.0 - speed_ratio * speed_ratio - ratio * ratio)
                car_accel[i] = _clip(a, -IDM_MAX_BRAKE, IDM_ACCEL)
                leader_gap[i] = gap
                new_target[i], new_cooldown[i] = car_target_d[i], car_cooldown[i]

            # Lane changes: a blocked lane-changing vehicle moves to an adjacent lane (left
            # first) whose gap ahead is much longer, if it is safe; decided with the leaders.
            if deciding:
                for i in range(n):
                    if not (
                        changes_lanes[b, i]
                        and car_cooldown[i] <= 0
                        and abs(car_target_d[i] - car_d[i]) < 0.1
                        and leader_gap[i] < LANE_CHANGE_BLOCKED_GAP
                    ):
                        continue
                    for side in (1.0, -1.0):
                        target = car_target_d[i] + side * lane_width
                        if not abs(target) < half_width:
                            continue
                        # the car itself sits a lane away from its target lane: never in it
                        ahead, behind, follower = np.inf, np.inf, 0
                        for j in range(n + 2):
                            if abs(all_d[j] - target) < same_lane:
                                gap_s = all_s[j] - car_s[i]
                                if gap_s > 0:
                                    ahead = min(ahead, gap_s)
                                elif -gap_s < behind:
                                    behind, follower = -gap_s, j
                        ahead -= VEHICLE_LENGTH
                        behind -= VEHICLE_LENGTH
                        closing = max(all_v[follower] - car_v[i], 0.0)
                        if (
                            ahead > leader_gap[i] + LANE_CHANGE_GAIN
                            and ahead > LANE_CHANGE_SAFE_AHEAD
                            and behind > LANE_CHANGE_SAFE_BEHIND + 2.0 * closing
                        ):
                            new_target[i], new_cooldown[i] = target, LANE_CHANGE_COOLDOWN
                            break

            # Integrate.
            for i in range(n):
                lateral = _clip(
                    LATERAL_GAIN * (new_target[i] - car_d[i]), -LATERAL_SPEED_MAX, LATERAL_SPEED_MAX
                )
                car_s[i] = car_s[i] + car_v[i] * dt
                car_d[i] = car_d[i] + lateral * dt
                car_v[i] = max(car_v[i] + car_accel[i] * dt, 0.0)
                car_target_d[i] = new_target[i]
                car_d_dot[i] = lateral
                car_cooldown[i] = new_cooldown[i] - dt
            s = ego[EGO_S, b] = s + s_dot * dt
            d = ego[EGO_D, b] = d + d_dot * dt
            # no wrapping needed: with steer_max small the car leaves the road long before it
            # could turn around, so the relative heading stays well inside (-pi/2, pi/2)
            psi = ego[EGO_PSI, b] = psi + psi_dot * dt
            ego[EGO_V, b] = _clip(v + accel * dt, 0.0, max_speed)
            elapsed[b] += 1

            # Collision: the ranges the cars cover along and across the road overlap (exact for
            # the ego car's rectangle at its heading; other cars are nearly aligned with the
            # road, a lane-changing one's heading is its lateral over its forward speed).
            crashed = False
            c, sn = abs(math.cos(psi)), abs(math.sin(psi))
            ego_ext_s = VEHICLE_LENGTH / 2 * c + VEHICLE_WIDTH / 2 * sn
            ego_ext_d = VEHICLE_LENGTH / 2 * sn + VEHICLE_WIDTH / 2 * c
            for i in range(n):
                rel_s = abs(car_s[i] - s)
                if rel_s < VEHICLE_LENGTH + VEHICLE_WIDTH:  # farther, nothing can touch
                    car_psi = min(abs(car_d_dot[i]) / max(car_v[i], 1.0), 0.3)
                    car_ext_s = VEHICLE_LENGTH / 2 + VEHICLE_WIDTH / 2 * car_psi
                    car_ext_d = VEHICLE_WIDTH / 2 + VEHICLE_LENGTH / 2 * car_psi
                    if rel_s < ego_ext_s + car_ext_s and abs(car_d[i] - d) < ego_ext_d + car_ext_d:
                        crashed = True
            left_road = abs(d) > half_width
            finished = s >= finish_s

            progress = s_dot * dt / progress_scale
            collision = collision_reward if crashed else 0.0
            offroad = offroad_reward if left_road else 0.0
            terms[REWARD, b] += progress + control + collision + offroad
            terms[PROGRESS, b] += progress
            terms[CONTROL, b] += control
            terms[COLLISION, b] += collision
            terms[OFFROAD, b] += offroad
            if crashed or left_road or finished:
                ends[CRASHED, b], ends[LEFT_ROAD, b], ends[FINISHED, b] = (
                    crashed,
                    left_road,
                    finished,
                )
                break


@njit(cache=True)
def observe_batch(
    kappa: np.ndarray, ego: np.ndarray, cars: np.ndarray, params: np.ndarray, obs: np.ndarray
) -> None:
    """Write every environment's observation into ``obs``, ``(B, obs_size)`` float32.

    See :class:`~lhyrl.envs.driving.env.DrivingEnv` for its entries.
    """
    batch, n = cars.shape[1], cars.shape[2]
    n_points = kappa.shape[1]
    lane_width, half_width = params[P_LANE_WIDTH], params[P_HALF_WIDTH]
    max_speed, sensor_range = params[P_MAX_SPEED], params[P_SENSOR_RANGE]
    lanes = params[P_LANES]
    middle = (lanes - 1) / 2.0
    # observation scales of a vehicle's relative s, d, along-road and lateral speed
    scale = (1.0 / sensor_range, 1.0 / lane_width, 1.0 / 10.0, 1.0 / 5.0)
    row = np.empty(obs.shape[1])
    nearest, nearest_dist = np.empty(VEHICLE_SLOTS, np.int64), np.empty(VEHICLE_SLOTS)
    for b in range(batch):
        s, d, psi, v = ego[EGO_S, b], ego[EGO_D, b], ego[EGO_PSI, b], ego[EGO_V, b]
        ego_lane = min(max(np.rint(d / lane_width + middle), 0.0), lanes - 1)
        row[:] = 0.0
        row[0] = v / max_speed
        row[1] = psi * HEADING_SCALE
        row[2] = (d - (ego_lane - middle) * lane_width) / lane_width
        row[3] = (half_width - d) / lane_width
        row[4] = (half_width + d) / lane_width
        for k in range(LOOKAHEAD.size):
            row[5 + k] = kappa[b, min(int(max(s + LOOKAHEAD[k], 0.0)), n_points - 1)] * 100.0
        if n:
            # the nearest vehicle of each slot; traffic stays between the outer lane centres
            nearest[:], nearest_dist[:] = -1, np.inf
            for j in range(n):
                rel_s = cars[CAR_S, b, j] - s
                lane = np.rint(cars[CAR_D, b, j] / lane_width + middle) - ego_lane
                if abs(lane) <= 1 and abs(rel_s) < sensor_range:
                    slot = int(2 * (lane + 1)) + (1 if rel_s <= 0 else 0)
                    if abs(rel_s) < nearest_dist[slot]:
                        nearest[slot], nearest_dist[slot] = j, abs(rel_s)
            along, across = v * math.cos(psi), v * math.sin(psi)
            for slot in range(VEHICLE_SLOTS):
                j = nearest[slot]
                if j < 0:
                    continue  # an empty slot is all zeros
                at = EGO_FEATURES + VEHICLE_FEATURES * slot
                row[at] = 1.0
                row[at + 1] = (cars[CAR_S, b, j] - s) * scale[0]
                row[at + 2] = (cars[CAR_D, b, j] - d) * scale[1]
                row[at + 3] = (cars[CAR_V, b, j] - along) * scale[2]
                row[at + 4] = (cars[CAR_D_DOT, b, j] - across) * scale[3]
        for i in range(row.size):
            obs[b, i] = _clip(row[i], -OBS_BOUND, OBS_BOUND)


def step_params(
    *,
    dt: float,
    lane_width: float,
    half_width: float,
    max_speed: float,
    steer_max: float,
    accel_max: float,
    brake_max: float,
    control_cost: float,
    collision_reward: float,
    offroad_reward: float,
    finish_s: float,
    sensor_range: float,
    lanes: int,
) -> np.ndarray:
    """The float parameter vector the kernels read (indexed by the ``P_*`` constants)."""
    values = {
        P_DT: dt,
        P_LANE_WIDTH: lane_width,
        P_HALF_WIDTH: half_width,
        P_MAX_SPEED: max_speed,
        P_STEER_MAX: steer_max,
        P_ACCEL_MAX: accel_max,
        P_BRAKE_MAX: brake_max,
        P_CONTROL_COST: control_cost,
        P_COLLISION_REWARD: collision_reward,
        P_OFFROAD_REWARD: offroad_reward,
        P_FINISH_S: finish_s,
        P_SENSOR_RANGE: sensor_range,
        P_LANES: float(lanes),
    }
    params = np.empty(len(values))
    for index, value in values.items():
        params[index] = value
    return params
