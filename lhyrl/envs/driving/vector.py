"""Native vector versions of the driving environments: N cars stepped in one compiled call."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from lhyrl.envs.driving.actions import ContinuousControl, MetaActions
from lhyrl.envs.driving.dynamics import OBS_BOUND
from lhyrl.envs.driving.env import check_decision_every
from lhyrl.envs.driving.render import draw_frame
from lhyrl.envs.driving.sim import DrivingConfig, DrivingSim


class DrivingVectorEnv(VectorEnv):
    """``num_envs`` independent copies of ``lhyrl/Driving-v0`` in one batched simulator.

    Sub-environment ``i`` reset with seed ``s + i`` follows exactly the trajectory of
    ``gym.make("lhyrl/Driving-v0")`` reset with seed ``s + i`` under the same actions. Episodes
    reset automatically in Gymnasium's default ``NEXT_STEP`` mode: the step after an episode
    ends returns the new episode's first observation with reward 0, and ignores its action.
    ``info`` holds the per-step terms of the single env as arrays (with ``_<key>`` masks).
    With ``decision_every=k`` every car holds its action for ``k`` simulator steps, all cars
    in one compiled call, and a car whose episode ends stops at the step it ends, as in the
    single env.

    Args:
        num_envs: Number of cars.
        max_episode_steps: Env steps (decisions) after which an episode is truncated.
        decision_every: Simulator steps of 0.1 s per env step (see the single env).
        render_mode: ``"rgb_array"`` (``render`` returns one picture per car) or ``None``.
        **options: Fields of :class:`~lhyrl.envs.driving.DrivingConfig`.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012  (Gymnasium's attribute)
        "render_modes": ["rgb_array"],
        "render_fps": 10,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }
    action_interface: ClassVar[type[ContinuousControl] | type[MetaActions]] = ContinuousControl

    def __init__(
        self,
        num_envs: int = 1,
        *,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        decision_every: int = 1,
        **options: Any,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        self.num_envs = num_envs
        self.decision_every = check_decision_every(decision_every)
        self.config = DrivingConfig.from_kwargs(**options)
        self.render_mode = render_mode
        self.max_episode_steps = max_episode_steps
        self.sim = DrivingSim(self.config, batch=num_envs)
        self.actions = self.action_interface(self.config, batch=num_envs)
        obs_size = self.config.obs_size + self.actions.extra_obs_size
        self.single_observation_space = spaces.Box(-OBS_BOUND, OBS_BOUND, (obs_size,), np.float32)
        self.single_action_space = self.actions.space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.metadata = {
            **self.metadata,
            "render_fps": max(
                1, round(1 / (self.config.dt * self.actions.substeps * self.decision_every))
            ),
        }
        self._rngs: list[np.random.Generator] = []
        self._elapsed = np.zeros(num_envs, dtype=np.int64)
        self._needs_reset = np.zeros(num_envs, dtype=bool)

    def _observe(self) -> np.ndarray:
        obs = self.sim.observe()
        if self.actions.extra_obs_size:
            obs = np.concatenate([obs, self.actions.extra_obs(self.sim)], axis=1)
        return obs

    def _reset_envs(self, indices: np.ndarray) -> None:
        self.sim.reset(indices, [self._rngs[i] for i in indices])
        self.actions.reset(indices, self.sim)
        self._elapsed[indices] = 0
        self._needs_reset[indices] = False

    def reset(
        self,
        *,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every car; an int ``seed`` seeds car ``i`` with ``seed + i``."""
        super().reset(seed=seed if isinstance(seed, int) else None)
        if seed is None:
            seeds: list[int | None] = [None] * self.num_envs
        elif isinstance(seed, int):
            seeds = [seed + i for i in range(self.num_envs)]
        else:
            if len(seed) != self.num_envs:
                raise ValueError(
                    f"reset(seed=list) needs one seed per env ({self.num_envs}), got {len(seed)}"
                )
            seeds = list(seed)
        self._rngs = [seeding.np_random(s)[0] for s in seeds]
        self._reset_envs(np.arange(self.num_envs))
        return self._observe(), {"speed": self.sim.ego_v.copy()}

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every car; cars whose episode ended last step are reset instead.

        Raises:
            RuntimeError: Before the first ``reset`` (there are no roads or traffic yet).
            ValueError: If ``actions`` are malformed (see the single env's).
        """
        if not self._rngs:
            raise RuntimeError("call reset() before step()")
        actions = self.actions.check(actions, batch=self.num_envs)
        resetting = np.flatnonzero(self._needs_reset)
        if len(resetting):
            self._reset_envs(resetting)
        active = np.ones(self.num_envs, dtype=bool)
        active[resetting] = False
        outcome = self.actions.apply(self.sim, actions, active, self.decision_every)
        self._elapsed += active
        terminated = outcome.terminated
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.max_episode_steps is not None:
            truncated = active & (self._elapsed >= self.max_episode_steps)
        self._needs_reset = terminated | truncated
        info: dict[str, Any] = {
            "reward_progress": outcome.progress,
            "reward_control": outcome.control,
            "reward_collision": outcome.collision,
            "reward_offroad": outcome.offroad,
            "crashed": outcome.crashed,
            "left_road": outcome.left_road,
            "finished": outcome.finished,
            "speed": self.sim.ego_v.copy(),
        }
        info.update({f"_{key}": active for key in list(info)})
        return self._observe(), outcome.reward, terminated, truncated, info

    def render(self) -> tuple[np.ndarray, ...] | None:
        """Top-down pictures of every sub-environment (``rgb_array``), as Gymnasium's do."""
        if self.render_mode != "rgb_array" or not self._rngs:
            return None
        return tuple(draw_frame(self.sim, i) for i in range(self.num_envs))


class DrivingDiscreteVectorEnv(DrivingVectorEnv):
    """``num_envs`` copies of ``lhyrl/DrivingDiscrete-v0``; see :class:`DrivingVectorEnv`."""

    action_interface = MetaActions
