"""Batched driving simulator: an ego car with kinematic bicycle dynamics among IDM traffic.

Everything here works on ``B`` environments at once with numpy arrays, so the single-car env
(``B = 1``) and the native vector env share one implementation. Positions are Frenet coordinates
on a :class:`~lhyrl.envs.driving.road.Roads` batch. Randomness is drawn only in
:meth:`DrivingSim.reset_one`, from the generator it is given; stepping is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from lhyrl.envs.driving.road import Roads, draw_segments

VEHICLE_LENGTH = 4.5  # m
VEHICLE_WIDTH = 1.8  # m
REAR_AXLE = 1.25  # m, centre of mass to rear axle
WHEELBASE = 2.5  # m
EGO_START_S = 60.0  # m along the road
SLOT_SPACING = 25.0  # m between initial traffic slots in a lane
SLOTS_SPAN = (-40.0, 340.0)  # traffic starts this far behind / ahead of the ego car (m)
FINISH_MARGIN = 60.0  # the course ends this far before the road does (m)

# Intelligent Driver Model for traffic (Treiber et al. 2000)
IDM_ACCEL = 1.5  # m/s^2
IDM_COMFORT_BRAKE = 3.0  # m/s^2
IDM_MIN_GAP = 3.0  # m, bumper to bumper
IDM_TIME_HEADWAY = 1.2  # s
IDM_MAX_BRAKE = 8.0  # m/s^2
# Lane changes of the lane-changing part of traffic
LANE_CHANGE_BLOCKED_GAP = 40.0  # m: a leader closer than this makes a car look for a lane
LANE_CHANGE_GAIN = 15.0  # m: the other lane's gap must be this much longer
LANE_CHANGE_SAFE_AHEAD = 15.0  # m
LANE_CHANGE_SAFE_BEHIND = 10.0  # m, plus 2 s times the closing speed of the new follower
LANE_CHANGE_COOLDOWN = 6.0  # s
TRAFFIC_DECISION_STEPS = 5  # traffic considers lane changes every this many steps
LATERAL_GAIN = 1.0  # 1/s
LATERAL_SPEED_MAX = 1.5  # m/s
SAME_LANE = 0.8  # lateral distances below this many lane widths share a lane


@dataclass(frozen=True)
class DrivingConfig:
    """Parameters of the driving task (all lengths in metres, speeds in m/s, times in s).

    Attributes:
        lanes: Number of lanes (at least 2).
        lane_width: Width of one lane.
        vehicles: Number of other vehicles.
        road_length: Length of the generated road.
        dt: Simulation step.
        max_speed: Top speed of the ego car; also the progress reward's scale.
        steer_max: Steering angle (rad) at action +-1.
        accel_max: Acceleration at throttle action +1.
        brake_max: Deceleration at throttle action -1.
        traffic_speed: Range of the other vehicles' desired speeds.
        lane_changing_fraction: Share of other vehicles that change lanes.
        sensor_range: Vehicles farther than this along the road are not observed.
        collision_reward: Reward on a collision (which ends the episode).
        offroad_reward: Reward for leaving the road (which ends the episode).
        control_cost: Weight of the harsh-control penalty ``steer^2 + throttle^2`` (actions).
    """

    lanes: int = 3
    lane_width: float = 4.0
    vehicles: int = 20
    road_length: float = 1500.0
    dt: float = 0.1
    max_speed: float = 30.0
    steer_max: float = 0.1
    accel_max: float = 3.0
    brake_max: float = 6.0
    traffic_speed: tuple[float, float] = (18.0, 24.0)
    lane_changing_fraction: float = 0.3
    sensor_range: float = 100.0
    collision_reward: float = -10.0
    offroad_reward: float = -10.0
    control_cost: float = 0.05

    def __post_init__(self) -> None:
        slots = self.lanes * (int((SLOTS_SPAN[1] - SLOTS_SPAN[0]) // SLOT_SPACING) + 1) - 2
        checks = [
            (self.lanes >= 2, f"lanes must be at least 2, got {self.lanes}"),
            (self.lane_width > VEHICLE_WIDTH, f"lane_width must exceed {VEHICLE_WIDTH} m"),
            (
                0 <= self.vehicles <= slots,
                f"vehicles must be in [0, {slots}] for {self.lanes} lanes, got {self.vehicles}",
            ),
            (
                self.road_length >= 500,
                f"road_length must be at least 500 m, got {self.road_length}",
            ),
            (self.dt > 0, f"dt must be positive, got {self.dt}"),
            (
                0 < self.traffic_speed[0] <= self.traffic_speed[1],
                f"traffic_speed must be (low, high) with 0 < low <= high, got {self.traffic_speed}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"invalid driving config: {message}")

    @classmethod
    def from_kwargs(cls, **kwargs: object) -> DrivingConfig:
        """Build a config from keyword arguments, naming any unknown key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(
                f"unknown driving option(s) {unknown}; valid options are {sorted(known)}"
            )
        return cls(**kwargs)  # type: ignore[arg-type]

    @property
    def half_width(self) -> float:
        """Distance from the centre line to either road edge."""
        return self.lanes * self.lane_width / 2.0

    def lane_center(self, lane: np.ndarray | int) -> np.ndarray:
        """Lateral offset ``d`` of the centre of ``lane`` (0 is the rightmost)."""
        return (np.asarray(lane) - (self.lanes - 1) / 2.0) * self.lane_width

    def lane_of(self, d: np.ndarray) -> np.ndarray:
        """Index of the lane whose centre is nearest to lateral offset ``d``."""
        lane = np.rint(d / self.lane_width + (self.lanes - 1) / 2.0)
        return np.minimum(np.maximum(lane, 0), self.lanes - 1).astype(np.int64)

    @property
    def obs_size(self) -> int:
        """Length of the observation vector."""
        return EGO_FEATURES + VEHICLE_FEATURES * VEHICLE_SLOTS


EGO_FEATURES = 9
HEADING_SCALE = 10.0  # the observation gives the heading in units of 0.1 rad
VEHICLE_FEATURES = 5
# The observation lists the nearest vehicle ahead and behind in the car's lane and the lanes to
# its left and right: slot 2 * (lane + 1) + behind, lane in (-1: right, 0: own, 1: left).
VEHICLE_SLOTS = 6
LOOKAHEAD = np.array([0.0, 20.0, 40.0, 60.0])  # m, where the observation samples curvature


@dataclass
class StepOutcome:
    """What one step did, per environment (arrays of shape ``(B,)``)."""

    reward: np.ndarray
    progress: np.ndarray
    control: np.ndarray
    collision: np.ndarray
    offroad: np.ndarray
    crashed: np.ndarray
    left_road: np.ndarray
    finished: np.ndarray

    @property
    def terminated(self) -> np.ndarray:
        """Collision, leaving the road, or reaching the end of the course."""
        return self.crashed | self.left_road | self.finished

    def merge(self, later: StepOutcome, active: np.ndarray) -> StepOutcome:
        """Combine with the outcome of a later step, taken only where ``active``."""
        return StepOutcome(
            reward=self.reward + np.where(active, later.reward, 0.0),
            progress=self.progress + np.where(active, later.progress, 0.0),
            control=self.control + np.where(active, later.control, 0.0),
            collision=self.collision + np.where(active, later.collision, 0.0),
            offroad=self.offroad + np.where(active, later.offroad, 0.0),
            crashed=self.crashed | (active & later.crashed),
            left_road=self.left_road | (active & later.left_road),
            finished=self.finished | (active & later.finished),
        )


def clip(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """``np.clip`` for scalar bounds, without its per-call overhead on small arrays."""
    return np.minimum(np.maximum(x, low), high)


def _footprint(psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half extents along ``s`` and ``d`` of a car at heading ``psi`` relative to the road."""
    c, s = np.abs(np.cos(psi)), np.abs(np.sin(psi))
    half_l, half_w = VEHICLE_LENGTH / 2, VEHICLE_WIDTH / 2
    return half_l * c + half_w * s, half_l * s + half_w * c


class DrivingSim:
    """State and dynamics of ``batch`` independent driving tasks.

    Ego arrays have shape ``(B,)``; traffic arrays ``(B, N)``.
    """

    def __init__(self, config: DrivingConfig, batch: int) -> None:
        self.config = config
        self.batch = batch
        n = config.vehicles
        self.rows = np.arange(batch)
        self._row_col = self.rows[:, None]  # (B, 1), to gather one entry per row
        self.roads = Roads(batch, int(config.road_length) + 1)
        self.ego_s, self.ego_d, self.ego_psi, self.ego_v = (np.zeros(batch) for _ in range(4))
        self.car_s, self.car_d, self.car_v = (np.zeros((batch, n)) for _ in range(3))
        self.car_desired_v, self.car_target_d, self.car_cooldown = (
            np.zeros((batch, n)) for _ in range(3)
        )
        self.car_changes_lanes = np.zeros((batch, n), dtype=bool)
        self.elapsed = np.zeros(batch, dtype=np.int64)  # steps since reset
        self._car_col = np.arange(n)[None, :]  # (1, N), with _row_col gathers one per car
        self._slot_ids = np.arange(VEHICLE_SLOTS)[None, :, None]  # (1, 6, 1)
        self._slot_col = np.arange(VEHICLE_SLOTS)[None, :]  # (1, 6)
        # observation scales of a vehicle's relative s, d, along-road and lateral speed
        self._vehicle_scale = 1.0 / np.array([config.sensor_range, config.lane_width, 10.0, 5.0])
        self._car_d_dot = np.zeros((batch, n))  # lateral speed of traffic in the last step
        self._all_s, self._all_d, self._all_v = (np.zeros((batch, n + 2)) for _ in range(3))
        self._all_s[:, -1] = self._all_d[:, -1] = np.inf  # the "no vehicle" sentinel
        self._leader = np.full((batch, n), n + 1)  # each car's leader (column of _all_*)
        self._pairwise: tuple[np.ndarray, np.ndarray] | None = None
        self._car_leader_gap = np.full((batch, n), np.inf)
        self._half_width = config.half_width
        # Traffic starts in slots SLOT_SPACING apart; slot id = lane * n_offsets + offset index.
        # _free_slots[l] lists the slots open when the ego car starts in lane l.
        self._slot_offsets = np.arange(SLOTS_SPAN[0], SLOTS_SPAN[1] + 1e-9, SLOT_SPACING)
        lanes, offsets = np.meshgrid(np.arange(config.lanes), self._slot_offsets, indexing="ij")
        slot_ids = np.arange(lanes.size).reshape(lanes.shape)
        self._free_slots = np.stack(
            [slot_ids[~((lanes == ego) & (np.abs(offsets) < 20.0))] for ego in range(config.lanes)]
        )  # (lanes, n_free)

    # ----------------------------------------------------------------------------- reset
    def reset_one(self, index: int, rng: np.random.Generator) -> None:
        """Draw a new road, ego state and traffic for environment ``index``."""
        self.reset(np.array([index]), [rng])

    def reset(self, indices: np.ndarray, rngs: list[np.random.Generator]) -> None:
        """Draw new episodes for environments ``indices``, each from its own generator.

        Each environment draws its random numbers from its generator in a fixed order, so an
        environment's episode depends on its generator only, not on which others reset with it;
        the arithmetic then runs on all of them at once.
        """
        cfg, n = self.config, self.config.vehicles
        draws = [
            (
                draw_segments(rng, self.roads.n_points),  # (4, K) road
                rng.random(2),  # ego lane and speed
                rng.permutation(self._free_slots.shape[1])[:n],  # traffic slots
                rng.random((6, n)),  # traffic jitter, speeds, lane changing, cooldown
            )
            for rng in rngs
        ]
        self.roads.build(indices, np.stack([d[0] for d in draws]))
        ego = np.stack([d[1] for d in draws])  # (R, 2)
        picks = np.stack([d[2] for d in draws])  # (R, N)
        u = np.stack([d[3] for d in draws])  # (R, 6, N)
        ego_lane = np.minimum((ego[:, 0] * cfg.lanes).astype(np.int64), cfg.lanes - 1)
        self.ego_s[indices] = EGO_START_S
        self.ego_d[indices] = cfg.lane_center(ego_lane)
        self.ego_psi[indices] = 0.0
        self.ego_v[indices] = 20.0 + 5.0 * ego[:, 1]
        slots = self._free_slots[ego_lane[:, None], picks]  # (R, N) flat slot ids
        lanes, offsets = np.divmod(slots, self._slot_offsets.size)
        low, high = cfg.traffic_speed
        desired = low + (high - low) * u[:, 1]
        self.car_s[indices] = EGO_START_S + self._slot_offsets[offsets] + (8.0 * u[:, 0] - 4.0)
        self.car_d[indices] = cfg.lane_center(lanes)
        self.car_target_d[indices] = self.car_d[indices]
        self.car_desired_v[indices] = desired
        self.car_v[indices] = desired - 2.0 * u[:, 2]
        self.car_changes_lanes[indices] = u[:, 3] < cfg.lane_changing_fraction
        self.car_cooldown[indices] = LANE_CHANGE_COOLDOWN * u[:, 4]
        self._car_d_dot[indices] = 0.0
        self.elapsed[indices] = 0

    # ------------------------------------------------------------------------------ step
    def step(
        self, steer: np.ndarray, throttle: np.ndarray, active: np.ndarray | None = None
    ) -> StepOutcome:
        """Advance every environment by ``dt``.

        Args:
            steer: ``(B,)`` steering actions in [-1, 1].
            throttle: ``(B,)`` throttle actions in [-1, 1] (negative brakes).
            active: ``(B,)`` bool; environments where it is False keep their state.

        Returns:
            The step's reward terms and end conditions.
        """
        cfg, dt = self.config, self.config.dt
        steer = clip(steer, -1.0, 1.0)
        throttle = clip(throttle, -1.0, 1.0)
        accel = throttle * np.where(throttle >= 0, cfg.accel_max, cfg.brake_max)

        # Ego: kinematic bicycle model in Frenet coordinates.  # (B,)
        beta = np.arctan(REAR_AXLE / WHEELBASE * np.tan(steer * cfg.steer_max))
        kappa = self.roads.curvature_at(self.rows, self.ego_s)
        v, psi = self.ego_v, self.ego_psi
        s_dot = v * np.cos(psi + beta) / (1.0 - kappa * self.ego_d)
        d_dot = v * np.sin(psi + beta)
        psi_dot = v / REAR_AXLE * np.sin(beta) - kappa * s_dot

        car_accel = self._traffic_accel(s_dot)  # (B, N)
        car_target_d, car_cooldown = self._traffic_lane_changes()
        car_d_dot = clip(
            LATERAL_GAIN * (car_target_d - self.car_d), -LATERAL_SPEED_MAX, LATERAL_SPEED_MAX
        )

        new = {
            "ego_s": self.ego_s + s_dot * dt,
            "ego_d": self.ego_d + d_dot * dt,
            # no wrapping needed: with steer_max small the car leaves the road long before it
            # could turn around, so the relative heading stays well inside (-pi/2, pi/2)
            "ego_psi": psi + psi_dot * dt,
            "ego_v": clip(v + accel * dt, 0.0, cfg.max_speed),
            "car_s": self.car_s + self.car_v * dt,
            "car_d": self.car_d + car_d_dot * dt,
            "car_v": np.maximum(self.car_v + car_accel * dt, 0.0),
            "car_target_d": car_target_d,
            "_car_d_dot": car_d_dot,
            "car_cooldown": car_cooldown - dt,
        }
        new["elapsed"] = self.elapsed + 1
        if active is None:
            progress = s_dot * dt
            for name, value in new.items():
                setattr(self, name, value)
        else:
            progress = np.where(active, s_dot * dt, 0.0)
            for name, value in new.items():
                current = getattr(self, name)
                mask = active if current.ndim == 1 else active[:, None]
                setattr(self, name, np.where(mask, value, current))

        crashed = self._collided()
        left_road = np.abs(self.ego_d) > self._half_width
        finished = self.ego_s >= cfg.road_length - FINISH_MARGIN
        control = -cfg.control_cost * (steer**2 + throttle**2)
        if active is not None:  # a paused environment neither ends nor earns anything
            crashed, left_road, finished = crashed & active, left_road & active, finished & active
            control = np.where(active, control, 0.0)
        progress_reward = progress / (cfg.max_speed * dt)
        collision = np.where(crashed, cfg.collision_reward, 0.0)
        offroad = np.where(left_road, cfg.offroad_reward, 0.0)
        return StepOutcome(
            reward=progress_reward + control + collision + offroad,
            progress=progress_reward,
            control=control,
            collision=collision,
            offroad=offroad,
            crashed=crashed,
            left_road=left_road,
            finished=finished,
        )

    def _all_vehicles(self, ego_s_dot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions and along-road speeds of all vehicles, ``(B, N+2)``.

        Column 0 is the ego car, 1..N the traffic, and N+1 a sentinel "no vehicle" infinitely
        far ahead (and beside), the leader of a car with nobody in front.
        """
        s, d, v = self._all_s, self._all_d, self._all_v  # reused buffers
        s[:, 0], s[:, 1:-1] = self.ego_s, self.car_s
        d[:, 0], d[:, 1:-1] = self.ego_d, self.car_d
        v[:, 0], v[:, 1:-1] = ego_s_dot, self.car_v
        return s, d, v

    def _find_leaders(self, rows: np.ndarray, all_s: np.ndarray, all_d: np.ndarray) -> None:
        """Each car's leader: the nearest vehicle ahead that overlaps its lane (rows ``rows``)."""
        gap_s = all_s[rows, None, :] - self.car_s[rows, :, None]  # (R, N, N+2)
        lateral = np.abs(all_d[rows, None, :] - self.car_d[rows, :, None])
        # a car is never its own leader: its gap to itself is 0, not > 0
        ahead = (lateral < SAME_LANE * self.config.lane_width) & (gap_s > 0)
        gaps = np.where(ahead, gap_s, np.inf)
        gaps[:, :, -1] = np.finfo(np.float64).max  # the sentinel: chosen when nobody is ahead
        self._leader[rows] = np.argmin(gaps, axis=2)
        self._pairwise = (rows, gap_s)  # reused by the lane-change decisions

    def _traffic_accel(self, ego_s_dot: np.ndarray) -> np.ndarray:
        """IDM acceleration of every other vehicle towards its leader (ego included).

        Drivers look for their leader every :data:`TRAFFIC_DECISION_STEPS` steps (a reaction
        time) and follow the same vehicle in between; the gap to it is updated every step.
        """
        all_s, all_d, all_v = self._all_vehicles(ego_s_dot)  # (B, N+2)
        deciding = self.elapsed % TRAFFIC_DECISION_STEPS == 0  # (B,)
        self._pairwise = None
        if deciding.any():
            self._find_leaders(deciding.nonzero()[0], all_s, all_d)
        leader = self._leader  # (B, N)
        gap = all_s[self._row_col, leader] - self.car_s - VEHICLE_LENGTH  # inf: nobody ahead
        leader_v = all_v[self._row_col, leader]
        v = self.car_v
        desired_gap = (
            IDM_MIN_GAP
            + v * IDM_TIME_HEADWAY
            + v * (v - leader_v) / (2.0 * np.sqrt(IDM_ACCEL * IDM_COMFORT_BRAKE))
        )
        interaction = (np.maximum(desired_gap, 0.0) / np.maximum(gap, 0.1)) ** 2  # 0 if gap inf
        accel = IDM_ACCEL * (1.0 - (v / self.car_desired_v) ** 4 - interaction)
        self._car_leader_gap = gap
        return clip(accel, -IDM_MAX_BRAKE, IDM_ACCEL)

    def _traffic_lane_changes(self) -> tuple[np.ndarray, np.ndarray]:
        """Pick lane changes: lane-changing vehicles move to an adjacent lane with a longer gap.

        Vehicles decide every :data:`TRAFFIC_DECISION_STEPS` steps of their environment, so only
        the environments deciding this step, with a vehicle ready to change, are computed.

        Returns:
            The vehicles' new target lateral offsets and lane-change cooldowns, ``(B, N)`` each.
        """
        cfg = self.config
        target_d, cooldown = self.car_target_d, self.car_cooldown
        if self._pairwise is None:  # nobody decides this step
            return target_d, cooldown
        rows, gap_s = self._pairwise  # (R,), (R, N, N+2)
        all_d, all_v, leader_gap = self._all_d, self._all_v, self._car_leader_gap
        ready = (
            self.car_changes_lanes[rows]
            & (cooldown[rows] <= 0)
            & (np.abs(target_d[rows] - self.car_d[rows]) < 0.1)
            & (leader_gap[rows] < LANE_CHANGE_BLOCKED_GAP)
        )  # (R, N)
        keep = ready.any(axis=1)
        if not keep.any():
            return target_d, cooldown
        rows, ready, gap_s = rows[keep], ready[keep], gap_s[keep]
        all_d, all_v, leader_gap = all_d[rows], all_v[rows], leader_gap[rows]
        car_v, current_target = self.car_v[rows], target_d[rows]  # (R, N)
        new_target, new_cooldown = current_target.copy(), cooldown[rows]
        row_col, car_col = np.arange(len(rows))[:, None], self._car_col
        for side in (1.0, -1.0):  # left first, then right
            target = current_target + side * cfg.lane_width
            valid = ready & (np.abs(target) < cfg.half_width)
            # the car itself sits a lane away from its target lane, so it is never in it
            in_lane = np.abs(all_d[:, None, :] - target[:, :, None]) < SAME_LANE * cfg.lane_width
            ahead_all = np.where(in_lane & (gap_s > 0), gap_s, np.inf)  # (R, N, N+1)
            behind_all = np.where(in_lane & (gap_s <= 0), -gap_s, np.inf)
            ahead = ahead_all[row_col, car_col, np.argmin(ahead_all, axis=2)] - VEHICLE_LENGTH
            follower = np.argmin(behind_all, axis=2)
            behind = behind_all[row_col, car_col, follower] - VEHICLE_LENGTH
            closing = np.maximum(all_v[row_col, follower] - car_v, 0.0)
            go = (
                valid
                & (ahead > leader_gap + LANE_CHANGE_GAIN)
                & (ahead > LANE_CHANGE_SAFE_AHEAD)
                & (behind > LANE_CHANGE_SAFE_BEHIND + 2.0 * closing)
            )
            new_target = np.where(go, target, new_target)
            new_cooldown = np.where(go, LANE_CHANGE_COOLDOWN, new_cooldown)
            ready = ready & ~go
        target_d, cooldown = target_d.copy(), cooldown.copy()
        target_d[rows], cooldown[rows] = new_target, new_cooldown
        return target_d, cooldown

    def _collided(self) -> np.ndarray:
        """Whether the ego car's footprint overlaps another vehicle's, per environment.

        Footprints are the ranges a car covers along and across the road (exact for the ego
        car's rectangle at its heading; other cars are nearly aligned with the road).
        """
        rel_s = np.abs(self.car_s - self.ego_s[:, None])  # (B, N)
        if self.config.vehicles == 0 or not (rel_s < VEHICLE_LENGTH + VEHICLE_WIDTH).any():
            return np.zeros(self.batch, dtype=bool)  # nobody close enough to touch
        ego_ext_s, ego_ext_d = _footprint(self.ego_psi)
        # a lane-changing car's heading is its lateral speed over its speed (at most ~0.3 rad)
        car_psi = np.minimum(np.abs(self._car_d_dot) / np.maximum(self.car_v, 1.0), 0.3)
        car_ext_s = VEHICLE_LENGTH / 2 + VEHICLE_WIDTH / 2 * car_psi  # (B, N)
        car_ext_d = VEHICLE_WIDTH / 2 + VEHICLE_LENGTH / 2 * car_psi
        hit = (rel_s < ego_ext_s[:, None] + car_ext_s) & (
            np.abs(self.car_d - self.ego_d[:, None]) < ego_ext_d[:, None] + car_ext_d
        )
        return np.asarray(hit.any(axis=1))

    # ----------------------------------------------------------------------- observation
    def observe(self) -> np.ndarray:
        """The observation of every environment, ``(B, obs_size)`` float32."""
        cfg = self.config
        w = cfg.lane_width
        v, psi, d = self.ego_v, self.ego_psi, self.ego_d
        ego_lane = cfg.lane_of(d)  # (B,)
        lane_offset = d - cfg.lane_center(ego_lane)
        kappa_ahead = self.roads.curvature_at(
            self.rows[:, None], self.ego_s[:, None] + LOOKAHEAD[None, :]
        )  # (B, 4)
        obs = np.zeros((self.batch, cfg.obs_size))
        obs[:, 0] = v / cfg.max_speed
        obs[:, 1] = psi * HEADING_SCALE
        obs[:, 2] = lane_offset / w
        obs[:, 3] = (cfg.half_width - d) / w
        obs[:, 4] = (cfg.half_width + d) / w
        obs[:, 5:EGO_FEATURES] = kappa_ahead * 100.0
        if cfg.vehicles:
            others = obs[:, EGO_FEATURES:].reshape(self.batch, VEHICLE_SLOTS, VEHICLE_FEATURES)
            rel_s = self.car_s - self.ego_s[:, None]  # (B, N)
            # relative lane of each vehicle; traffic stays between the outer lane centres
            lane = np.rint(self.car_d / w + (cfg.lanes - 1) / 2.0) - ego_lane[:, None]  # (B, N)
            slot = 2 * (lane + 1) + (rel_s <= 0)
            seen = (np.abs(lane) <= 1) & (np.abs(rel_s) < cfg.sensor_range)
            dist = np.where(
                seen[:, None, :] & (slot[:, None, :] == self._slot_ids),
                np.abs(rel_s)[:, None, :],
                np.inf,
            )  # (B, 6, N)
            nearest = np.argmin(dist, axis=2)  # (B, 6): the nearest vehicle of each slot
            present = np.isfinite(dist[self._row_col, self._slot_col, nearest])
            relative = np.stack(
                [
                    rel_s,
                    self.car_d - d[:, None],
                    self.car_v - (v * np.cos(psi))[:, None],
                    self._car_d_dot - (v * np.sin(psi))[:, None],
                ],
                axis=2,
            )  # (B, N, 4)
            others[:, :, 0] = present
            others[:, :, 1:] = relative[self._row_col, nearest] * self._vehicle_scale
            others[:, :, 1:] *= present[..., None]
        return clip(obs, -OBS_BOUND, OBS_BOUND).astype(np.float32)


OBS_BOUND = 10.0
