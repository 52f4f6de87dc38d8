"""Gymnasium environments of lhyrl; importing this module registers every ``lhyrl/`` id."""

import os
import sys

from gymnasium.envs.registration import register, registry

if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
    # MuJoCo picks its OpenGL backend when first imported; EGL renders off-screen headless.
    os.environ.setdefault("MUJOCO_GL", "egl")

DRIVING_STEPS = 300  # 30 s at 10 steps per second
DRIVING_DISCRETE_STEPS = 60  # 30 s at 2 decisions per second
MUJOCO_CAR_STEPS = 500  # 25 s at 20 steps per second


def register_envs() -> None:
    """Register every lhyrl environment id (once; importing :mod:`lhyrl` calls this)."""
    specs: list[dict[str, object]] = [
        dict(
            id="lhyrl/Driving-v0",
            entry_point="lhyrl.envs.driving:DrivingEnv",
            vector_entry_point="lhyrl.envs.driving:DrivingVectorEnv",
            max_episode_steps=DRIVING_STEPS,
        ),
        dict(
            id="lhyrl/DrivingDiscrete-v0",
            entry_point="lhyrl.envs.driving:DrivingDiscreteEnv",
            vector_entry_point="lhyrl.envs.driving:DrivingDiscreteVectorEnv",
            max_episode_steps=DRIVING_DISCRETE_STEPS,
        ),
        dict(
            id="lhyrl/MujocoCar-v0",
            entry_point="lhyrl.envs.mujoco_car:MujocoCarEnv",
            max_episode_steps=MUJOCO_CAR_STEPS,
        ),
        dict(
            id="lhyrl/GridWorld-v0",
            entry_point="lhyrl.envs.gridworld:GridWorldEnv",
            max_episode_steps=50,  # lhyrl.envs.gridworld.DEFAULT_HORIZON
        ),
        dict(
            id="lhyrl/SeqGen-v0",
            entry_point="lhyrl.envs.seqgen:SeqGenEnv",
            vector_entry_point="lhyrl.envs.seqgen:SeqGenVectorEnv",
        ),
        dict(
            id="lhyrl/TextGen-v0",
            entry_point="lhyrl.envs.textgen:TextGenEnv",
            vector_entry_point="lhyrl.envs.textgen:TextGenVectorEnv",
        ),
        dict(
            id="lhyrl/Dialogue-v0",
            entry_point="lhyrl.envs.dialogue:DialogueEnv",
        ),
    ]
    for spec in specs:
        if spec["id"] not in registry:
            register(**spec)  # type: ignore[arg-type]


register_envs()

ENV_IDS = tuple(env_id for env_id in registry if env_id.startswith("lhyrl/"))
"""Every registered lhyrl id (tests run the env checks over all of them)."""
DRIVING_IDS = ("lhyrl/Driving-v0", "lhyrl/DrivingDiscrete-v0")
