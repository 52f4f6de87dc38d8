"""Batched driving simulator: an ego car with kinematic bicycle dynamics among IDM traffic.

Everything here works on ``B`` environments at once, so the single-car env (``B = 1``) and the
native vector env share one implementation. Positions are Frenet coordinates on a
:class:`~lhyrl.envs.driving.road.Roads` batch. The state lives in numpy arrays; stepping and
observing run in the compiled kernels of :mod:`lhyrl.envs.driving.dynamics`. Randomness is drawn
only in :meth:`DrivingSim.reset`, from the generators it is given; stepping is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from lhyrl.envs.driving import dynamics
from lhyrl.envs.driving.dynamics import (
    EGO_FEATURES,
    LANE_CHANGE_COOLDOWN,
    OBS_BOUND,
    SAME_LANE,
    VEHICLE_FEATURES,
    VEHICLE_LENGTH,
    VEHICLE_SLOTS,
    VEHICLE_WIDTH,
    WHEELBASE,
)
from lhyrl.envs.driving.road import Roads, draw_segments, segment_count

__all__ = [
    "OBS_BOUND",
    "SAME_LANE",
    "VEHICLE_LENGTH",
    "VEHICLE_WIDTH",
    "WHEELBASE",
    "DrivingConfig",
    "DrivingSim",
    "StepOutcome",
]

EGO_START_S = 60.0  # m along the road
SLOT_SPACING = 25.0  # m between initial traffic slots in a lane
SLOTS_SPAN = (-40.0, 340.0)  # traffic starts this far behind / ahead of the ego car (m)
FINISH_MARGIN = 60.0  # the course ends this far before the road does (m)


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


class DrivingSim:
    """State and dynamics of ``batch`` independent driving tasks.

    Ego arrays have shape ``(B,)``; traffic arrays ``(B, N)``. They are rows of two packed
    arrays that the compiled kernels update in place, so they keep their identity across steps.
    """

    def __init__(self, config: DrivingConfig, batch: int) -> None:
        self.config = config
        self.batch = batch
        n = config.vehicles
        self.rows = np.arange(batch)
        self.roads = Roads(batch, int(config.road_length) + 1)
        self._ego = np.zeros((4, batch))  # rows dynamics.EGO_*
        self.ego_s, self.ego_d, self.ego_psi, self.ego_v = self._ego
        self._cars = np.zeros((7, batch, n))  # rows dynamics.CAR_*
        (
            self.car_s,
            self.car_d,
            self.car_v,
            self.car_desired_v,
            self.car_target_d,
            self.car_cooldown,
            self.car_d_dot,  # lateral speed of traffic in the last step
        ) = self._cars
        self.car_changes_lanes = np.zeros((batch, n), dtype=bool)
        self.elapsed = np.zeros(batch, dtype=np.int64)  # steps since reset
        self._leader = np.full((batch, n), n + 1)  # each car's leader: 0 ego, 1..N, N+1 nobody
        self._all_active = np.ones(batch, dtype=bool)
        self._params = dynamics.step_params(
            dt=config.dt,
            lane_width=config.lane_width,
            half_width=config.half_width,
            max_speed=config.max_speed,
            steer_max=config.steer_max,
            accel_max=config.accel_max,
            brake_max=config.brake_max,
            control_cost=config.control_cost,
            collision_reward=config.collision_reward,
            offroad_reward=config.offroad_reward,
            finish_s=config.road_length - FINISH_MARGIN,
            sensor_range=config.sensor_range,
            lanes=config.lanes,
        )
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
        count = len(rngs)
        segments = np.empty((count, 4, segment_count(self.roads.n_points)))  # (R, 4, K) road
        ego = np.empty((count, 2))  # ego lane and speed
        picks = np.empty((count, n), dtype=np.int64)  # traffic slots
        u = np.empty((count, 6, n))  # traffic jitter, speeds, lane changing, cooldown
        n_free, n_points = self._free_slots.shape[1], self.roads.n_points
        for r, rng in enumerate(rngs):  # written in place: no per-draw arrays to stack
            draw_segments(rng, n_points, out=segments[r])
            rng.random(out=ego[r])
            picks[r] = rng.permutation(n_free)[:n]
            rng.random(out=u[r])
        self.roads.build(indices, segments)
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
        self.car_d_dot[indices] = 0.0
        self.elapsed[indices] = 0

    # ------------------------------------------------------------------------------ step
    def step(
        self,
        steer: np.ndarray,
        throttle: np.ndarray,
        active: np.ndarray | None = None,
        repeat: int = 1,
    ) -> StepOutcome:
        """Advance every environment by ``repeat`` steps of ``dt`` with the same controls.

        An environment whose episode ends (a crash, leaving the road, the finish) stops at that
        step; its outcome sums the reward terms over the steps it took and tells how it ended.

        Args:
            steer: ``(B,)`` steering actions in [-1, 1].
            throttle: ``(B,)`` throttle actions in [-1, 1] (negative brakes).
            active: ``(B,)`` bool; environments where it is False keep their state.
            repeat: Steps to take (at least 1).

        Returns:
            The reward terms and end conditions of the steps taken.
        """
        terms = np.zeros((5, self.batch))  # rows dynamics.REWARD ..
        ends = np.zeros((3, self.batch), dtype=bool)  # rows dynamics.CRASHED ..
        dynamics.step_batch(
            np.ascontiguousarray(steer, dtype=np.float64),
            np.ascontiguousarray(throttle, dtype=np.float64),
            self._all_active if active is None else np.ascontiguousarray(active, dtype=bool),
            repeat,
            self.roads.kappa,
            self._ego,
            self._cars,
            self.car_changes_lanes,
            self._leader,
            self.elapsed,
            self._params,
            terms,
            ends,
        )
        reward, progress, control, collision, offroad = terms
        crashed, left_road, finished = ends
        return StepOutcome(
            reward=reward,
            progress=progress,
            control=control,
            collision=collision,
            offroad=offroad,
            crashed=crashed,
            left_road=left_road,
            finished=finished,
        )

    # ----------------------------------------------------------------------- observation
    def observe(self) -> np.ndarray:
        """The observation of every environment, ``(B, obs_size)`` float32."""
        obs = np.empty((self.batch, self.config.obs_size), dtype=np.float32)
        dynamics.observe_batch(self.roads.kappa, self._ego, self._cars, self._params, obs)
        return obs
