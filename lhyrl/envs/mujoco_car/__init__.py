"""``lhyrl/MujocoCar-v0``: a MuJoCo car driving laps of a random closed course."""

from lhyrl.envs.mujoco_car.course import Course, Projection
from lhyrl.envs.mujoco_car.env import (
    CURVATURE_AHEAD,
    LOOKAHEAD,
    OBS_SIZE,
    STEER_MAX,
    WHEELBASE,
    MujocoCarEnv,
)

__all__ = [
    "CURVATURE_AHEAD",
    "LOOKAHEAD",
    "OBS_SIZE",
    "STEER_MAX",
    "WHEELBASE",
    "Course",
    "MujocoCarEnv",
    "Projection",
]
