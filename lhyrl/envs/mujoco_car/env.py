"""``lhyrl/MujocoCar-v0``: a MuJoCo car that drives laps of a random closed course."""

from __future__ import annotations

import os
import sys
from importlib import resources
from typing import Any

if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
    # MuJoCo picks its OpenGL backend when first imported; EGL renders off-screen headless.
    os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from lhyrl.envs.mujoco_car.course import Course

WHEELBASE = 0.6  # m, rear to front axle
TRACK = 0.54  # m, between the left and right wheels
STEER_MAX = 0.5  # rad: the bicycle-model steering angle at action +1 (left)
LOOKAHEAD = (1.0, 2.0, 4.0)  # m along the centreline: points observed in the car's frame
CURVATURE_AHEAD = (0.0, 2.0, 4.0, 8.0)  # m along the centreline: curvatures observed
OBS_SIZE = 6 + 2 * len(LOOKAHEAD) + len(CURVATURE_AHEAD)
OBS_BOUND = 100.0
FLIP_UPRIGHT = 0.5  # terminated when the chassis' up axis has a vertical component below this
CAMERAS = ("chase", "overview")


def ackermann(steer: float) -> tuple[float, float]:
    """Left and right front-wheel angles (rad) for a bicycle-model steering angle ``steer``."""
    t = np.tan(steer)
    left = np.arctan(WHEELBASE * t / (WHEELBASE - 0.5 * TRACK * t))
    right = np.arctan(WHEELBASE * t / (WHEELBASE + 0.5 * TRACK * t))
    return float(left), float(right)


class MujocoCarEnv(gym.Env[np.ndarray, np.ndarray]):
    """A MuJoCo car driving laps of a random closed course (``lhyrl/MujocoCar-v0``).

    ## Description

    A go-kart-sized car (0.9 m long, 12.4 kg) simulated by MuJoCo drives counter-clockwise
    around a closed course: a smooth random loop, `track_width` metres wide, around the
    origin. The car has a chassis on a free joint, two front wheels steered by position servos
    at Ackermann angles and two rear wheels driven by one motor through an open differential;
    tyres roll on the ground with friction 1, so it understeers and slides if driven too fast
    into a bend. The MJCF model ships in the package (`lhyrl/envs/mujoco_car/car.xml`). The
    seed passed to `reset` fixes the course and the starting state. A scripted expert,
    `lhyrl.experts.MujocoCarExpert` (pure pursuit and speed control), drives it well.

    ## Action Space

    `Box(-1, 1, (2,), float32)`. Values outside [-1, 1] are clipped (as in `lhyrl/Driving-v0`);
    NaN or a wrong shape raise `ValueError`.

    | Num | Action   | Meaning at +1 / -1                                                    |
    |-----|----------|-----------------------------------------------------------------------|
    | 0   | steering | steer left / right, 0.5 rad bicycle-model angle (`STEER_MAX`)         |
    | 1   | throttle | rear-axle torque 8 N m forwards / backwards (brakes, then reverses)   |

    Each step holds the action for `frame_skip` (5) MuJoCo steps of 10 ms: 0.05 s. At full
    throttle the car reaches about 6 m/s.

    ## Observation Space

    `Box(-100, 100, (16,), float32)`. The car frame has `x` forwards and `y` to the left;
    offsets and curvatures are positive to the left.

    | Num   | Observation                                                   | Unit       |
    |-------|---------------------------------------------------------------|------------|
    | 0     | lateral offset from the centreline / half the track width     | -          |
    | 1     | heading relative to the centreline                            | rad        |
    | 2     | forward speed (car frame)                                     | m/s        |
    | 3     | sideways speed (car frame)                                    | m/s        |
    | 4     | yaw rate                                                      | rad/s      |
    | 5     | steering angle (mean of the front wheels)                     | rad        |
    | 6-7   | centreline point 1 m ahead, `(x, y)` in the car frame         | m          |
    | 8-9   | centreline point 2 m ahead, `(x, y)` in the car frame         | m          |
    | 10-11 | centreline point 4 m ahead, `(x, y)` in the car frame         | m          |
    | 12-15 | centreline curvature 0, 2, 4 and 8 m ahead                    | 1/m        |

    "Ahead" is along the centreline from the point nearest the car.

    ## Rewards

    Each step: `progress + lateral + off_track`, each term also in `info` as `reward_<term>`:
    - `progress`: metres gained along the centreline (negative when going backwards);
    - `lateral`: `-lateral_cost * (offset / half width)^2`, a nudge to stay central;
    - `off_track`: `off_track_reward` (-10) on the step the car leaves the track or flips.

    ## Starting State

    A new course (mean radius `course_radius`, harmonics up to `course_wobble`; no bend tighter
    than 3.3 m radius). The car starts at a uniformly random point of it, up to 0.25 m off the
    centreline, within 0.15 rad of its direction, rolling forwards at 0.5-2 m/s. Stepping
    before the first `reset` raises `RuntimeError`.

    ## Episode End

    Terminated when the car's centre is more than half the track width off the centreline
    (`info["off_track"]`) or the chassis tips over (`info["flipped"]`). Truncated after
    `max_episode_steps` steps (500 = 25 s, set at registration). `info` also holds `speed`
    (m/s), `offset` (m) and `distance` (metres driven along the course this episode).

    ## Arguments

    `gym.make("lhyrl/MujocoCar-v0", render_mode=None, **options)` with the keyword options
    `course_radius=8.0`, `course_wobble=0.3`, `track_width=2.0`, `frame_skip=5`,
    `lateral_cost=0.02`, `off_track_reward=-10.0`, `camera="chase"` (or `"overview"`, a
    top-down view of the whole course), `width=320` and `height=240` (the `rgb_array` size).
    Rendering is off-screen (`MUJOCO_GL=egl` is set on headless Linux unless already set).

    ## Version History

    - v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 20}  # noqa: RUF012

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        course_radius: float = 8.0,
        course_wobble: float = 0.3,
        track_width: float = 2.0,
        frame_skip: int = 5,
        lateral_cost: float = 0.02,
        off_track_reward: float = -10.0,
        camera: str = "chase",
        width: int = 320,
        height: int = 240,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        if camera not in CAMERAS:
            raise ValueError(f"camera must be one of {CAMERAS}, got {camera!r}")
        if not (course_radius > 2 * track_width > 0 and 0 <= course_wobble < 1):
            raise ValueError(
                "need course_radius > 2 * track_width > 0 and 0 <= course_wobble < 1; got "
                f"course_radius={course_radius}, track_width={track_width}, "
                f"course_wobble={course_wobble}"
            )
        if frame_skip < 1:
            raise ValueError(f"frame_skip must be at least 1, got {frame_skip}")
        self.render_mode = render_mode
        self.course_radius = float(course_radius)
        self.course_wobble = float(course_wobble)
        self.half_width = 0.5 * float(track_width)
        self.frame_skip = int(frame_skip)
        self.lateral_cost = float(lateral_cost)
        self.off_track_reward = float(off_track_reward)
        self.camera = camera
        self.width, self.height = int(width), int(height)

        xml = resources.files("lhyrl.envs.mujoco_car").joinpath("car.xml").read_text()
        self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        self.dt = float(self.model.opt.timestep) * self.frame_skip
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.dt)}
        self._chassis = self.model.body("chassis").id
        self._steer_qpos = [self.model.joint(f"steer_f{side}").qposadr[0] for side in "lr"]
        self._spin_dof = [self.model.joint(f"spin_{w}").dofadr[0] for w in ("fl", "fr", "rl", "rr")]
        self._wheel_radius = float(self.model.geom("tyre_fl").size[0])

        self.observation_space = spaces.Box(-OBS_BOUND, OBS_BOUND, (OBS_SIZE,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.course = Course.random(
            np.random.default_rng(0),
            radius=self.course_radius,
            wobble=self.course_wobble,
            half_width=self.half_width,
        )
        self._s = 0.0  # arc length of the car's nearest centreline point
        self._proj_s = 0.0  # the same, as of the latest observation
        self._obs_buffer = np.zeros(OBS_SIZE)
        self._lookahead = np.array(LOOKAHEAD)  # (P,)
        self._curvature_ahead = np.array(CURVATURE_AHEAD)  # (C,)
        self._distance = 0.0
        self._started = False
        self._renderer: mujoco.Renderer | None = None
        self._course_geoms: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    # ----------------------------------------------------------------------------------------
    # state
    def _planar_pose(self) -> tuple[np.ndarray, float]:
        """The chassis' ground position ``(2,)`` and yaw (rad)."""
        xmat = self.data.xmat[self._chassis]  # (9,) row-major rotation, body to world
        return self.data.xpos[self._chassis, :2].copy(), float(np.arctan2(xmat[3], xmat[0]))

    def _observe(self) -> tuple[np.ndarray, float]:
        """The observation ``(OBS_SIZE,)`` and the car's lateral offset in metres."""
        xy, yaw = self._planar_pose()
        proj = self.course.project(xy)
        c, s = np.cos(yaw), np.sin(yaw)
        vx, vy = self.data.qvel[0], self.data.qvel[1]  # world-frame planar chassis velocity
        obs = self._obs_buffer  # (OBS_SIZE,) float64
        obs[0] = proj.offset / self.half_width
        obs[1] = (yaw - proj.heading + np.pi) % (2 * np.pi) - np.pi
        obs[2] = c * vx + s * vy
        obs[3] = c * vy - s * vx
        obs[4] = self.data.qvel[5]  # angular velocity about the chassis' z axis
        obs[5] = 0.5 * (self.data.qpos[self._steer_qpos[0]] + self.data.qpos[self._steer_qpos[1]])
        ahead = self.course.point_at(proj.s + self._lookahead) - xy  # (P, 2) world frame
        n = 6 + 2 * len(LOOKAHEAD)
        obs[6:n:2] = c * ahead[:, 0] + s * ahead[:, 1]  # (P,) forwards
        obs[7:n:2] = c * ahead[:, 1] - s * ahead[:, 0]  # (P,) to the left
        obs[n:] = self.course.curvature_at(proj.s + self._curvature_ahead)  # (C,)
        self._proj_s = proj.s
        return np.clip(obs, -OBS_BOUND, OBS_BOUND).astype(np.float32), proj.offset

    def _check_action(self, action: Any) -> np.ndarray:
        """Validate one action, returning it ``(2,)`` float64, clipped to [-1, 1]."""
        arr = np.asarray(action)
        if arr.shape != (2,) or arr.dtype.kind not in "fiu":
            raise ValueError(
                "MujocoCar expects an action of shape (2,) (steering, throttle) as floats in "
                f"[-1, 1]; got shape {arr.shape} and dtype {arr.dtype}"
            )
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"MujocoCar actions must be finite numbers, got {arr.tolist()}")
        return np.clip(arr, -1.0, 1.0)

    # ----------------------------------------------------------------------------------------
    # gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode on a new course at a random point of it (fixed by ``seed``)."""
        super().reset(seed=seed)
        rng = self.np_random
        self.course = Course.random(
            rng, radius=self.course_radius, wobble=self.course_wobble, half_width=self.half_width
        )
        self._course_geoms = []
        s0 = float(rng.uniform(0.0, self.course.length))
        offset = float(rng.uniform(-0.25, 0.25))  # m, positive to the left
        heading = float(self.course.heading_at(s0))
        yaw = heading + float(rng.uniform(-0.15, 0.15))
        speed = float(rng.uniform(0.5, 2.0))  # m/s
        left = np.array([-np.sin(heading), np.cos(heading)])  # (2,) unit normal

        mujoco.mj_resetData(self.model, self.data)
        xy = self.course.point_at(s0) + offset * left  # (2,)
        qpos = self.data.qpos
        qpos[:2] = xy
        qpos[2] = self._wheel_radius
        qpos[3:7] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]  # (w, x, y, z) about z
        self.data.qvel[:2] = speed * np.array([np.cos(yaw), np.sin(yaw)])
        self.data.qvel[self._spin_dof] = speed / self._wheel_radius
        mujoco.mj_forward(self.model, self.data)

        obs, offset_m = self._observe()
        self._s = self._proj_s
        self._distance = 0.0
        self._started = True
        return obs, {"speed": float(obs[2]), "offset": offset_m, "distance": 0.0}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Hold one action for ``frame_skip`` MuJoCo steps; see the class docstring.

        Raises:
            RuntimeError: Before the first ``reset`` (the car is not on a course yet).
            ValueError: If the action has the wrong shape or dtype, or is not finite.
        """
        if not self._started:
            raise RuntimeError("call reset() before step()")
        steer, throttle = self._check_action(action)
        left, right = ackermann(steer * STEER_MAX)
        self.data.ctrl[:] = (left, right, throttle)
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)

        obs, offset_m = self._observe()
        progress = self.course.wrap_delta(self._proj_s - self._s)
        self._s = self._proj_s
        self._distance += progress
        off_track = abs(offset_m) > self.half_width
        flipped = bool(self.data.xmat[self._chassis, 8] < FLIP_UPRIGHT)
        terminated = off_track or flipped
        lateral = -self.lateral_cost * min(abs(offset_m) / self.half_width, 2.0) ** 2
        off = self.off_track_reward if terminated else 0.0
        info = {
            "reward_progress": progress,
            "reward_lateral": lateral,
            "reward_off_track": off,
            "off_track": off_track,
            "flipped": flipped,
            "speed": float(obs[2]),
            "offset": offset_m,
            "distance": self._distance,
        }
        return obs, progress + lateral + off, terminated, False, info

    # ----------------------------------------------------------------------------------------
    # rendering
    def _build_course_geoms(self) -> None:
        """Precompute the decoration geoms (tarmac, edges, start line) of the current course."""
        course, hw = self.course, self.half_width
        eye = np.eye(3).ravel()
        geoms: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        n_seg = 128
        s = np.linspace(0.0, course.length, n_seg + 1)  # (n_seg + 1,)
        centre = course.point_at(s)  # (n_seg + 1, 2)
        heading = course.heading_at(s)  # (n_seg + 1,)
        normal = np.column_stack([-np.sin(heading), np.cos(heading)])  # (n_seg + 1, 2) left
        box, capsule = int(mujoco.mjtGeom.mjGEOM_BOX), int(mujoco.mjtGeom.mjGEOM_CAPSULE)
        tarmac = np.array([0.33, 0.33, 0.35, 1.0], dtype=np.float32)
        for i in range(n_seg):
            a, b = centre[i], centre[i + 1]
            d = b - a
            yaw = np.arctan2(d[1], d[0])
            c, sn = np.cos(yaw), np.sin(yaw)
            mat = np.array([c, -sn, 0.0, sn, c, 0.0, 0.0, 0.0, 1.0])
            half_len = 0.5 * np.linalg.norm(d) + 0.03
            pos = np.array([*(0.5 * (a + b)), 0.001 + 0.0005 * (i % 2)])  # no z-fighting
            geoms.append((box, np.array([half_len, hw, 0.001]), pos, mat, tarmac))
        for side, rgba in ((1.0, (0.95, 0.95, 0.95, 1.0)), (-1.0, (0.9, 0.2, 0.2, 1.0))):
            edge = centre + side * hw * normal  # (n_seg + 1, 2)
            for i in range(n_seg):
                ends = np.array([[*edge[i], 0.004], [*edge[i + 1], 0.004]])
                geoms.append((capsule, ends[0], ends[1], eye, np.array(rgba, np.float32)))
        # a yellow start / finish line across the track at s = 0
        start = np.array(
            [[*(centre[0] + hw * normal[0]), 0.005], [*(centre[0] - hw * normal[0]), 0.005]]
        )
        geoms.append((capsule, start[0], start[1], eye, np.array([1, 0.85, 0.1, 1], np.float32)))
        self._course_geoms = geoms

    def decorate_scene(self, scene: mujoco.MjvScene) -> None:
        """Draw the course (tarmac, edges, start line) into a scene updated from the model.

        ``render`` calls it; so does any other renderer of this env's model and data, such as
        :class:`lhyrl.envs.third_person.DomainFrames`.
        """
        if not self._course_geoms:
            self._build_course_geoms()
        capsule = int(mujoco.mjtGeom.mjGEOM_CAPSULE)
        for kind, a, b, mat, rgba in self._course_geoms:
            if scene.ngeom >= scene.maxgeom:
                break
            geom = scene.geoms[scene.ngeom]
            if kind == capsule:
                mujoco.mjv_initGeom(geom, kind, np.zeros(3), np.zeros(3), mat, rgba)
                mujoco.mjv_connector(geom, kind, 0.04, a, b)
            else:
                mujoco.mjv_initGeom(geom, kind, a, b, mat, rgba)
            scene.ngeom += 1

    def render(self) -> np.ndarray | None:
        """An ``(height, width, 3)`` uint8 picture from the ``camera`` (``rgb_array``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode to make().")
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, height=self.height, width=self.width)
        self._renderer.update_scene(self.data, camera=self.camera)
        self.decorate_scene(self._renderer.scene)
        return self._renderer.render()

    def close(self) -> None:
        """Free the off-screen renderer, if any."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
