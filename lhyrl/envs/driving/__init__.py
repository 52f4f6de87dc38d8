"""The 2D driving task: ``lhyrl/Driving-v0`` (continuous) and ``lhyrl/DrivingDiscrete-v0``."""

from lhyrl.envs.driving.actions import META_ACTIONS, ContinuousControl, MetaActions
from lhyrl.envs.driving.env import DrivingDiscreteEnv, DrivingEnv
from lhyrl.envs.driving.sim import DrivingConfig, DrivingSim
from lhyrl.envs.driving.vector import DrivingDiscreteVectorEnv, DrivingVectorEnv

__all__ = [
    "META_ACTIONS",
    "ContinuousControl",
    "DrivingConfig",
    "DrivingDiscreteEnv",
    "DrivingDiscreteVectorEnv",
    "DrivingEnv",
    "DrivingSim",
    "DrivingVectorEnv",
    "MetaActions",
]
