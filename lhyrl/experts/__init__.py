"""Scripted and trained experts, one per environment family, for demonstrations and labels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

from lhyrl.data import PolicyLike
from lhyrl.experts.driving import DrivingExpert
from lhyrl.experts.gridworld import GridWorldExpert
from lhyrl.experts.mujoco import MUJOCO_EXPERT_IDS, ExpertInfo, MujocoExpert, expert_info
from lhyrl.experts.mujoco_car import MujocoCarExpert

EXPERTS: dict[str, Callable[[Any], PolicyLike]] = {
    "lhyrl/Driving-v0": DrivingExpert,
    "lhyrl/DrivingDiscrete-v0": DrivingExpert,
    "lhyrl/GridWorld-v0": GridWorldExpert,
    "lhyrl/MujocoCar-v0": MujocoCarExpert,
    **{env_id: MujocoExpert for env_id in MUJOCO_EXPERT_IDS},
}
"""Env id -> expert class; each class is built from the env (single or vector) it acts in."""


def make_expert(env: gym.Env[Any, Any] | gym.vector.VectorEnv[Any, Any, Any]) -> PolicyLike:
    """The expert of the env's id, bound to ``env`` (so it can label any state ``env`` is in).

    Raises:
        ValueError: If no expert is known for the env's id.
    """
    spec = env.unwrapped.spec if env.unwrapped.spec is not None else env.spec
    env_id = spec.id if spec is not None else None
    if env_id not in EXPERTS:
        raise ValueError(
            f"no expert is known for env {env_id!r}; experts exist for {sorted(EXPERTS)}"
        )
    return EXPERTS[env_id](env)


__all__ = [
    "EXPERTS",
    "MUJOCO_EXPERT_IDS",
    "DrivingExpert",
    "ExpertInfo",
    "GridWorldExpert",
    "MujocoCarExpert",
    "MujocoExpert",
    "expert_info",
    "make_expert",
]
