"""Trained experts for Gymnasium's MuJoCo tasks, shipped as small weight files in the package.

Each expert is the deterministic actor of a Soft Actor-Critic agent trained by
``benchmarks/train_mujoco_experts.py``: an MLP ``obs -> ReLU(256) -> ReLU(256) -> mean`` whose
``tanh`` is rescaled to the action bounds. The weights and the expert's measured return live in
``lhyrl/experts/weights/<env id>.npz`` (plain arrays and a JSON string; nothing is unpickled and
nothing is downloaded).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from lhyrl.files import atomic_write

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MUJOCO_EXPERT_IDS = ("InvertedPendulum-v5", "Hopper-v5", "HalfCheetah-v5")
"""Gymnasium MuJoCo tasks that have a shipped expert."""


@dataclass(frozen=True)
class ExpertInfo:
    """What was measured of a shipped expert when it was trained.

    Attributes:
        env_id: The Gymnasium id the expert acts in.
        mean_return: Mean undiscounted return of the deterministic expert.
        std_return: Standard deviation of that return over ``episodes`` episodes.
        episodes: How many evaluation episodes (seeds ``10_000 + i``) were measured.
        random_return: Mean return of uniformly random actions over the same seeds.
        train_steps: Environment steps the expert was trained for.
        algorithm: The training algorithm (``"SAC"``).
    """

    env_id: str
    mean_return: float
    std_return: float
    episodes: int
    random_return: float
    train_steps: int
    algorithm: str


def weights_path(env_id: str) -> Path:
    """The file that holds the shipped expert of ``env_id``."""
    return WEIGHTS_DIR / f"{env_id}.npz"


def save_mlp_expert(
    path: str | os.PathLike[str],
    layers: list[tuple[np.ndarray, np.ndarray]],
    *,
    action_low: np.ndarray,
    action_high: np.ndarray,
    info: ExpertInfo,
) -> Path:
    """Write an MLP expert (``(weight, bias)`` per layer, last one the mean head) atomically."""
    arrays: dict[str, np.ndarray] = {}
    for i, (weight, bias) in enumerate(layers):
        arrays[f"w{i}"] = np.asarray(weight, dtype=np.float32)  # (out, in)
        arrays[f"b{i}"] = np.asarray(bias, dtype=np.float32)  # (out,)
    arrays["action_low"] = np.asarray(action_low, dtype=np.float32)
    arrays["action_high"] = np.asarray(action_high, dtype=np.float32)
    arrays["info"] = np.array(json.dumps(info.__dict__))

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]

    return atomic_write(path, write)


class MujocoExpert:
    """The shipped expert of a Gymnasium MuJoCo task (``Hopper-v5``, ...).

    Args:
        env: An env (single or vector) whose spec id has a shipped expert, or ``None`` with
            ``env_id`` given.
        env_id: Overrides the id read from ``env``.
        path: A weight file to load instead of the shipped one.

    Raises:
        ValueError: If no weight file exists for the id, or the file does not fit the env.

    Example:
        >>> env = gym.make("Hopper-v5")
        >>> expert = MujocoExpert(env)
        >>> obs, _ = env.reset(seed=0)
        >>> action = expert(obs[None])[0]
    """

    def __init__(
        self,
        env: gym.Env[Any, Any] | gym.vector.VectorEnv[Any, Any, Any] | None = None,
        *,
        env_id: str | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        if env_id is None:
            spec = None if env is None else (env.unwrapped.spec or env.spec)
            env_id = spec.id if spec is not None else None
        if env_id is None:
            raise ValueError("MujocoExpert needs an env made with gym.make or an env_id")
        file = Path(path) if path is not None else weights_path(env_id)
        if not file.is_file():
            raise ValueError(
                f"no expert weights for {env_id!r} at {file}; shipped experts: "
                f"{list(MUJOCO_EXPERT_IDS)} (train one with benchmarks/train_mujoco_experts.py)"
            )
        with np.load(file, allow_pickle=False) as data:
            n_layers = sum(1 for key in data.files if key.startswith("w"))
            self.layers = [(data[f"w{i}"], data[f"b{i}"]) for i in range(n_layers)]
            self.action_low = data["action_low"]
            self.action_high = data["action_high"]
            self.info = ExpertInfo(**json.loads(str(data["info"])))
        if self.info.env_id != env_id:
            raise ValueError(f"{file} holds the expert of {self.info.env_id!r}, not {env_id!r}")
        if env is not None:
            self._check_spaces(env)

    def _check_spaces(self, env: Any) -> None:
        obs_space = getattr(env, "single_observation_space", env.observation_space)
        act_space = getattr(env, "single_action_space", env.action_space)
        obs_dim = self.layers[0][0].shape[1]
        act_dim = self.layers[-1][0].shape[0]
        if obs_space.shape != (obs_dim,) or act_space.shape != (act_dim,):
            raise ValueError(
                f"the {self.info.env_id} expert maps observations of shape ({obs_dim},) to "
                f"actions of shape ({act_dim},); the env has {obs_space.shape} -> "
                f"{act_space.shape}"
            )

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic expert actions for a batch of observations ``(B, obs_dim)``."""
        hidden = np.asarray(obs, dtype=np.float32)  # (B, obs_dim)
        for weight, bias in self.layers[:-1]:
            hidden = np.maximum(hidden @ weight.T + bias, 0.0)  # (B, 256)
        weight, bias = self.layers[-1]
        squashed = np.tanh(hidden @ weight.T + bias)  # (B, act_dim) in [-1, 1]
        return self.action_low + 0.5 * (squashed + 1.0) * (self.action_high - self.action_low)


def expert_info(env_id: str) -> ExpertInfo:
    """The measured returns of the shipped expert of ``env_id`` (see :class:`ExpertInfo`)."""
    return MujocoExpert(env_id=env_id).info
