"""The single-car driving environments ``lhyrl/Driving-v0`` and ``lhyrl/DrivingDiscrete-v0``."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lhyrl.envs.driving.actions import ContinuousControl, MetaActions
from lhyrl.envs.driving.dynamics import OBS_BOUND
from lhyrl.envs.driving.render import HumanWindow, draw_frame
from lhyrl.envs.driving.sim import DrivingConfig, DrivingSim, StepOutcome


def step_info(outcome: StepOutcome, sim: DrivingSim, index: int) -> dict[str, Any]:
    """The ``info`` dict of one environment after a step: reward terms and end conditions."""
    return {
        "reward_progress": float(outcome.progress[index]),
        "reward_control": float(outcome.control[index]),
        "reward_collision": float(outcome.collision[index]),
        "reward_offroad": float(outcome.offroad[index]),
        "crashed": bool(outcome.crashed[index]),
        "left_road": bool(outcome.left_road[index]),
        "finished": bool(outcome.finished[index]),
        "speed": float(sim.ego_v[index]),
    }


def check_decision_every(decision_every: object) -> int:
    """Validate the ``decision_every`` option: a positive int.

    Raises:
        ValueError: If it is not an integer of at least 1.
    """
    if isinstance(decision_every, bool) or not isinstance(decision_every, (int, np.integer)):
        raise ValueError(f"decision_every must be an int >= 1, got {decision_every!r}")
    if decision_every < 1:
        raise ValueError(f"decision_every must be an int >= 1, got {decision_every}")
    return int(decision_every)


class DrivingEnv(gym.Env[np.ndarray, np.ndarray]):
    """A car on a curved multi-lane road among slower traffic (``lhyrl/Driving-v0``).

    ## Description

    Drive a car along a procedurally generated curved road with several lanes and slower
    traffic, some of which changes lanes. The car follows a kinematic bicycle model; the other
    vehicles follow the Intelligent Driver Model, looking for their leader every 0.5 s. The
    seed passed to `reset` fixes the road and the traffic. A scripted expert,
    `lhyrl.experts.DrivingExpert`, drives it well.

    ## Action Space

    `Box(-1, 1, (2,), float32)`; values outside [-1, 1] are clipped.

    | Num | Action   | Meaning at +1 / -1                                              |
    |-----|----------|-----------------------------------------------------------------|
    | 0   | steering | front wheels 0.1 rad left / right (`steer_max`)                 |
    | 1   | throttle | accelerate 3 m/s^2 (`accel_max`) / brake 6 m/s^2 (`brake_max`)  |

    ## Observation Space

    `Box(-10, 10, (39,), float32)`. Lateral offsets
    `d` are positive to the left; lanes are `lane_width` metres wide.

    | Num     | Observation                                              | Unit / scale     |
    |---------|----------------------------------------------------------|------------------|
    | 0       | speed                                                    | / `max_speed`    |
    | 1       | heading relative to the road                             | 0.1 rad          |
    | 2       | lateral offset from the centre of the nearest lane       | lane widths      |
    | 3       | distance to the left road edge                           | lane widths      |
    | 4       | distance to the right road edge                          | lane widths      |
    | 5-8     | road curvature 0, 20, 40 and 60 m ahead                  | 1 / (100 m)      |
    | 9 + 5k  | vehicle in slot k present (1) or not (0), k = 0 .. 5     | -                |
    | 10 + 5k | its distance ahead along the road (negative: behind)     | / `sensor_range` |
    | 11 + 5k | its lateral offset relative to the car                   | lane widths      |
    | 12 + 5k | its along-road speed relative to the car                 | / 10 m/s         |
    | 13 + 5k | its lateral speed relative to the car                    | / 5 m/s          |

    The six slots hold the nearest vehicle ahead and the nearest behind in the lane to the
    car's right (slots 0, 1), in its own lane (2, 3) and in the lane to its left (4, 5), where
    a vehicle's lane is the one nearest its centre. Only vehicles within `sensor_range` along
    the road are seen; an empty slot (no such lane, or no vehicle) is all zeros.

    ## Rewards

    Each simulator step (0.1 s): `progress + control + collision + offroad`, each term also in
    `info` as `reward_<term>`; with `decision_every=k` the reward and its terms are summed over
    the `k` steps an action lasts (the steps actually taken, if the episode ends sooner):
    - `progress`: distance gained along the road divided by `max_speed * dt` (1 at top speed);
    - `control`: `-control_cost * (steering^2 + throttle^2)`, a penalty on harsh control;
    - `collision`: `collision_reward` (-10) on the step the car hits another vehicle;
    - `offroad`: `offroad_reward` (-10) on the step the car's centre leaves the road.

    ## Starting State

    At 60 m along a new road, centred in a random lane, heading along it, at 20-25 m/s. Traffic
    fills slots 25 m apart from 40 m behind to 340 m ahead (none within 20 m in the car's lane),
    with desired speeds drawn from `traffic_speed` (18-24 m/s). Stepping before the first
    `reset` raises `RuntimeError`.

    ## Episode End

    Terminated on a collision, on leaving the road, or on reaching the end of the course
    (`road_length - 60` m), checked after every simulator step: with `decision_every=k` the
    episode ends at the simulator step the crash happens, the rest of the `k` steps are not
    simulated, and the observation is the state at that step. Truncated after
    `max_episode_steps` env steps (300, set at registration: 30 s at the default
    `decision_every=1`; it counts decisions, so with `decision_every=10` pass
    `max_episode_steps=30` to `gym.make` for the same 30 s). `info` holds `crashed`,
    `left_road`, `finished` and `speed`.

    ## Arguments

    `gym.make("lhyrl/Driving-v0", render_mode=None, decision_every=1, **options)`.

    `decision_every` (int >= 1): simulator steps of 0.1 s per env step; the action is held for
    all of them. `decision_every=10` decides once per simulated second, as highway-env's
    `highway-fast-v0` does, and costs much less than 10 steps, because the observation and
    `info` are built once per decision and the 10 steps run in one compiled call.

    The other options are the fields of `lhyrl.envs.driving.DrivingConfig`: `lanes=3`,
    `lane_width=4.0`, `vehicles=20`, `road_length=1500.0`, `dt=0.1`, `max_speed=30.0`,
    `steer_max=0.1`, `accel_max=3.0`, `brake_max=6.0`, `traffic_speed=(18.0, 24.0)`,
    `lane_changing_fraction=0.3`, `sensor_range=100.0`, `collision_reward=-10.0`,
    `offroad_reward=-10.0`, `control_cost=0.05`. An unknown option raises `TypeError` naming
    the valid ones. The native vector env is
    `gym.make_vec("lhyrl/Driving-v0", num_envs=N, vectorization_mode="vector_entry_point")`,
    which takes the same options, `decision_every` included.

    ## Version History

    - v0: initial version; `decision_every` added later (its default, 1, is the original env).
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 10}  # noqa: RUF012
    action_interface: ClassVar[type[ContinuousControl] | type[MetaActions]] = ContinuousControl

    def __init__(
        self, render_mode: str | None = None, decision_every: int = 1, **options: Any
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        self.decision_every = check_decision_every(decision_every)
        self.config = DrivingConfig.from_kwargs(**options)
        self.render_mode = render_mode
        self.sim = DrivingSim(self.config, batch=1)
        self.actions = self.action_interface(self.config, batch=1)
        obs_size = self.config.obs_size + self.actions.extra_obs_size
        self.observation_space = spaces.Box(-OBS_BOUND, OBS_BOUND, (obs_size,), np.float32)
        self.action_space: spaces.Space[Any] = self.actions.space
        self.metadata = {
            **self.metadata,
            "render_fps": max(
                1, round(1 / (self.config.dt * self.actions.substeps * self.decision_every))
            ),
        }
        self._crashed = False
        self._started = False
        self._window: HumanWindow | None = None

    def _observe(self) -> np.ndarray:
        obs = self.sim.observe()
        if self.actions.extra_obs_size:
            obs = np.concatenate([obs, self.actions.extra_obs(self.sim)], axis=1)
        return obs[0]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode on a new road with new traffic (fixed by ``seed``)."""
        super().reset(seed=seed)
        self.sim.reset_one(0, self.np_random)
        self.actions.reset_one(0, self.sim)
        self._crashed = False
        self._started = True
        if self.render_mode == "human":
            self.render()
        return self._observe(), {"speed": float(self.sim.ego_v[0])}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply one action; see the class docstring for rewards and episode end.

        Raises:
            RuntimeError: Before the first ``reset`` (there is no road or traffic yet).
            ValueError: If the action is malformed: a wrong shape or dtype, NaN, or a
                meta-action out of range.
        """
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = self.actions.check(np.asarray(action)[None], batch=1)
        outcome = self.actions.apply(self.sim, actions, None, self.decision_every)
        self._crashed = bool(outcome.crashed[0])
        if self.render_mode == "human":
            self.render()
        return (
            self._observe(),
            float(outcome.reward[0]),
            bool(outcome.terminated[0]),
            False,
            step_info(outcome, self.sim, 0),
        )

    def render(self) -> np.ndarray | None:
        """A top-down picture (``rgb_array``), or show it in a window (``human``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode to make().")
            return None
        frame = draw_frame(self.sim, 0, crashed=self._crashed)
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = HumanWindow("lhyrl driving", self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close(self) -> None:
        """Close the window, if any."""
        if self._window is not None:
            self._window.close()
            self._window = None


class DrivingDiscreteEnv(DrivingEnv):
    """The driving task with highway-env-style meta-actions (``lhyrl/DrivingDiscrete-v0``).

    ## Description

    `lhyrl/Driving-v0` driven through highway-env-style meta-actions: a pure-pursuit lane
    keeper and a speed controller turn each meta-action into 5 simulator steps (0.5 s).

    ## Action Space

    `Discrete(5)`: `0` keep lane, `1` change one lane left, `2` change one lane right, `3` raise
    the target speed by 5 m/s, `4` lower it by 5 m/s (target speeds stay within 10-30 m/s).

    ## Observation Space

    The 39 entries of `lhyrl/Driving-v0`, then two more: `39` the target lane's centre relative
    to the car (lane widths) and `40` the target speed (/ `max_speed`).

    ## Rewards

    The sum of `lhyrl/Driving-v0`'s rewards over the 5 simulator steps (`5 * decision_every`
    with that option); terms in `info`.

    ## Starting State

    As `lhyrl/Driving-v0`; the target lane is the car's lane and the target speed its speed
    rounded to 5 m/s.

    ## Episode End

    As `lhyrl/Driving-v0`; truncated after 60 decisions (30 s).

    ## Arguments

    The same options as `lhyrl/Driving-v0`. Here `decision_every=k` holds a meta-action for
    `k` periods of 0.5 s (the controllers still act every 0.1 s): `decision_every=2` decides
    once per second, as `highway-fast-v0` does.

    ## Version History

    - v0: initial version.
    """

    action_interface = MetaActions
