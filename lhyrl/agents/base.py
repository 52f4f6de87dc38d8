"""The base every imitation agent shares: policy, seeding, logging, evaluation, save/load, resume.

An agent is a thin class over :class:`ImitationAgent`, in the manner of Stable-Baselines3's
algorithms: the base owns an SB3 :class:`~stable_baselines3.common.policies.ActorCriticPolicy`
(so PPO can fine-tune it later), the agent's random generators, the SB3 logger, evaluation,
saving the trained policy, and checkpoints for resuming an interrupted ``train``. Subclasses
write ``train`` and fill in a few hooks.

Files hold only tensors and Python primitives, are written atomically and are read with
``torch.load(weights_only=True)``. Two kinds exist:

* the *agent file* from :meth:`ImitationAgent.save`: the policy's weights, how to rebuild it
  and the agent's hyperparameters; :meth:`ImitationAgent.load` turns it back into an agent;
* the *checkpoint* from :meth:`ImitationAgent.save_checkpoint`: additionally the optimizer
  state, the random generators and the progress counters, so that :meth:`ImitationAgent.resume`
  followed by the same ``train(...)`` call finishes the run as if it had never stopped.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.utils import set_random_seed

from lhyrl.agents.checkpoint import (
    atomic_write,
    decode_classes,
    encode_classes,
    numpy_rng_from_tensor,
    numpy_rng_to_tensor,
    space_from_description,
    space_to_description,
)
from lhyrl.agents.trainer import (
    CHECKPOINT_FILE,
    Trainer,
    check_format_version,
    null_logger,
    read_trainer_file,
)
from lhyrl.metrics import EvalResult, evaluate_policy

__all__ = ["CHECKPOINT_FILE", "FORMAT_VERSION", "ImitationAgent", "null_logger", "record_eval"]

FORMAT_VERSION = 1
"""Version of the agent-file layout; bumped whenever the layout changes."""

_AGENT_FILE_KEYS = (
    "format_version",
    "agent_class",
    "policy_class",
    "policy_kwargs",
    "policy_state_dict",
    "observation_space",
    "action_space",
    "agent_kwargs",
)

AgentT = TypeVar("AgentT", bound="ImitationAgent")


def record_eval(logger: Logger, result: EvalResult) -> None:
    """Record an evaluation's ``eval/*`` keys (normalized return only when known)."""
    logger.record("eval/return", result.mean_return)
    logger.record("eval/return_std", result.std_return)
    logger.record("eval/length", result.mean_length)
    if result.normalized_return is not None:
        logger.record("eval/normalized_return", result.normalized_return)


DEFAULT_NET_ARCH = (256, 256)
"""Hidden layers of a new policy (and value) network when ``policy_kwargs`` names none: the
default of ``lhyrl train`` too (the ``net_arch`` key), so Python and the CLI build one network."""


class ImitationAgent(Trainer):
    """Base class of the imitation agents: owns the policy, RNGs, logger, save/load and resume.

    Args:
        observation_space: The (single-env) observation space.
        action_space: The (single-env) action space.
        policy: An existing SB3 ``ActorCriticPolicy`` to train; its optimizer is used, with its
            learning rate set to ``learning_rate``. ``None`` builds a new one.
        policy_kwargs: Keyword arguments for the new ``ActorCriticPolicy`` (``net_arch``,
            ``activation_fn``, ...); only when ``policy`` is ``None``.
        learning_rate: Constant learning rate of the policy's optimizer.
        seed: Seeds the agent's numpy and torch generators, and (via SB3's
            ``set_random_seed``) the global generators that initialize the policy's weights.
        device: ``auto|cpu|cuda|cuda:N|mps`` or a ``torch.device``.
        logger: An SB3 logger, e.g. ``configure(folder, ["tensorboard", "csv"])``; ``None``
            records nothing. Keys are ``train/...``, ``eval/...`` and ``rollout/...``.

    Raises:
        ValueError: If both ``policy`` and ``policy_kwargs`` are given, or the given policy's
            spaces differ from the agent's.
    """

    def __init__(
        self,
        *,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        policy: ActorCriticPolicy | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        learning_rate: float = 3e-4,
        seed: int = 0,
        device: str | torch.device = "auto",
        logger: Logger | None = None,
    ) -> None:
        super().__init__(seed=seed, device=device, logger=logger)
        self.observation_space = observation_space
        self.action_space = action_space
        self.learning_rate = float(learning_rate)

        set_random_seed(self.seed)
        self.np_rng = np.random.default_rng(self.seed)
        self.torch_rng = torch.Generator(device="cpu")
        self.torch_rng.manual_seed(self.seed)

        if policy is None:
            policy = ActorCriticPolicy(
                observation_space,
                action_space,
                lr_schedule=_ConstantSchedule(self.learning_rate),
                **{"net_arch": list(DEFAULT_NET_ARCH), **(policy_kwargs or {})},
            )
        else:
            if policy_kwargs is not None:
                raise ValueError("pass either a policy or policy_kwargs, not both")
            if policy.observation_space != observation_space:
                raise ValueError(
                    f"the policy's observation space {policy.observation_space} differs from "
                    f"the agent's {observation_space}"
                )
            if policy.action_space != action_space:
                raise ValueError(
                    f"the policy's action space {policy.action_space} differs from the "
                    f"agent's {action_space}"
                )
            for group in policy.optimizer.param_groups:
                group["lr"] = self.learning_rate
        self.policy: ActorCriticPolicy = policy.to(self.device)

    # --- acting -------------------------------------------------------------------------

    def predict(self, obs: np.ndarray, *, deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of observations.

        Args:
            obs: ``(B, *obs_shape)`` (a single unbatched observation also works, as in SB3).
            deterministic: Take the mode of the action distribution instead of sampling.

        Returns:
            ``(B, *act_shape)`` actions; Box actions are clipped to the space's bounds.
        """
        self.policy.set_training_mode(False)
        actions, _ = self.policy.predict(obs, deterministic=deterministic)
        return np.asarray(actions)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic actions for a batch of observations: the agent is a ``PolicyLike``."""
        return self.predict(obs, deterministic=True)

    def evaluate(
        self,
        env: gym.Env[Any, Any] | gym.vector.VectorEnv[Any, Any, Any],
        *,
        n_episodes: int = 10,
        seed: int = 0,
        deterministic: bool = True,
        random_return: float | None = None,
        expert_return: float | None = None,
        step: int | None = None,
    ) -> EvalResult:
        """Run the policy for ``n_episodes`` episodes and log ``eval/*``.

        Args:
            env: A Gymnasium env or vector env with the agent's spaces.
            n_episodes: Episodes to run.
            seed: Seed of the env's first reset.
            deterministic: Act with the mode of the action distribution.
            random_return: A random policy's mean return, for the normalized return.
            expert_return: The expert's mean return, for the normalized return.
            step: The logger's x-axis value; defaults to :attr:`num_updates`.

        Returns:
            Mean/std return, mean length and (when both references are given) the
            expert-normalized return.
        """
        result = evaluate_policy(
            env,
            self.policy,
            n_episodes=n_episodes,
            seed=seed,
            deterministic=deterministic,
            random_return=random_return,
            expert_return=expert_return,
        )
        record_eval(self.logger, result)
        self.logger.dump(step=self.num_updates if step is None else step)
        return result

    @abc.abstractmethod
    def train(self, *args: Any, **kwargs: Any) -> None:
        """Train the policy; see the subclass for its arguments (:meth:`learn` is the contract)."""

    # --- hooks --------------------------------------------------------------------------

    def _agent_kwargs(self) -> dict[str, Any]:
        """Constructor kwargs (plain data) that :meth:`load` passes back to the class."""
        return {"learning_rate": self.learning_rate, "seed": self.seed}

    def _checkpoint_extra(self, directory: Path) -> dict[str, Any]:
        """Subclass state for a checkpoint (tensors, primitives); may write into ``directory``."""
        return {}

    def _restore_checkpoint_extra(self, extra: Mapping[str, Any], directory: Path) -> None:
        """Restore what :meth:`_checkpoint_extra` returned."""
        del extra, directory

    # --- agent files --------------------------------------------------------------------

    def _policy_file_data(self) -> dict[str, Any]:
        kwargs = self.policy._get_constructor_parameters()
        for key in ("observation_space", "action_space", "lr_schedule"):
            kwargs.pop(key, None)
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return {
            "policy_class": encode_classes(type(self.policy)),
            "policy_kwargs": encode_classes(kwargs),
            "policy_state_dict": _cpu_state_dict(self.policy),
            "observation_space": space_to_description(self.observation_space),
            "action_space": space_to_description(self.action_space),
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the trained policy and the agent's hyperparameters to one file, atomically.

        Args:
            path: The file to write (conventionally ``*.pt``).

        Returns:
            The path written.
        """
        data = {
            "format_version": FORMAT_VERSION,
            "agent_class": type(self).__name__,
            **self._policy_file_data(),
            "agent_kwargs": self._agent_kwargs(),
        }
        return atomic_write(path, lambda tmp: torch.save(data, tmp))

    @classmethod
    def load(
        cls: type[AgentT], path: str | os.PathLike[str], *, device: str | torch.device = "auto"
    ) -> AgentT:
        """Rebuild an agent from a file written by :meth:`save`.

        Args:
            path: The agent file.
            device: Where to put the policy.

        Returns:
            An agent of this class with the saved weights (no demonstrations, no optimizer state).

        Raises:
            ValueError: If the file is not a readable agent file, is of another format version,
                or holds another class of agent.
        """
        data = _read_file(path, _AGENT_FILE_KEYS, what="agent file")
        _check_header(data, cls.__name__, path)
        observation_space = space_from_description(data["observation_space"])
        action_space = space_from_description(data["action_space"])
        agent_kwargs = dict(data["agent_kwargs"])
        policy_class = decode_classes(data["policy_class"])
        if not issubclass(policy_class, ActorCriticPolicy):
            raise ValueError(f"{path}: {policy_class} is not an SB3 ActorCriticPolicy")
        policy = policy_class(
            observation_space,
            action_space,
            lr_schedule=_ConstantSchedule(float(agent_kwargs.get("learning_rate", 3e-4))),
            **decode_classes(data["policy_kwargs"]),
        )
        _load_state_dict(policy, data["policy_state_dict"], path)
        return cls(
            observation_space=observation_space,
            action_space=action_space,
            policy=policy,
            device=device,
            **agent_kwargs,
        )

    # --- checkpoints --------------------------------------------------------------------

    def _rng_state(self) -> dict[str, torch.Tensor]:
        return {
            "numpy": numpy_rng_to_tensor(self.np_rng),
            "torch": self.torch_rng.get_state(),
            "num_updates": torch.tensor(self.num_updates),
        }

    def _restore_rng_state(self, state: Mapping[str, torch.Tensor]) -> None:
        numpy_rng_from_tensor(self.np_rng, state["numpy"])
        self.torch_rng.set_state(state["torch"])
        self.num_updates = int(state["num_updates"])

    def _checkpoint_state(self, directory: Path) -> dict[str, Any]:
        """The policy and optimizer states, the RNGs and the subclass's extra state."""
        return {
            "policy_state_dict": _cpu_state_dict(self.policy),
            "optimizer_state_dict": self.policy.optimizer.state_dict(),
            "rng": self._rng_state(),
            "extra": self._checkpoint_extra(directory),
        }

    def _restore_checkpoint_state(
        self, state: Mapping[str, Any], directory: Path, path: Path
    ) -> None:
        _load_state_dict(self.policy, state["policy_state_dict"], path)
        try:
            self.policy.optimizer.load_state_dict(state["optimizer_state_dict"])
        except (ValueError, KeyError) as err:
            raise ValueError(f"{path}: the optimizer state does not fit this agent: {err}") from err
        self._restore_rng_state(state["rng"])
        self._restore_checkpoint_extra(state["extra"], directory)


class _ConstantSchedule:
    """A constant learning-rate schedule (SB3 calls it with the remaining progress)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self, progress_remaining: float) -> float:
        return self.value


def _cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def _read_file(path: str | os.PathLike[str], keys: tuple[str, ...], *, what: str) -> dict[str, Any]:
    """``torch.load(weights_only=True)`` with every failure turned into a clear ValueError."""
    return read_trainer_file(path, keys, what=what)


def _check_header(
    data: Mapping[str, Any], expected_class: str, path: str | os.PathLike[str]
) -> None:
    check_format_version(data, FORMAT_VERSION, path)
    if data["agent_class"] != expected_class:
        raise ValueError(
            f"{path} holds a {data['agent_class']} agent, not a {expected_class}; load it with "
            f"{data['agent_class']}.load"
        )


def _load_state_dict(
    module: torch.nn.Module, state_dict: Mapping[str, Any], path: str | os.PathLike[str]
) -> None:
    try:
        module.load_state_dict(state_dict)
    except RuntimeError as err:
        raise ValueError(f"{path}: the saved weights do not fit the policy: {err}") from err
