"""Learned reward networks over transitions, and wrappers that put them in place of an env's reward.

A reward network maps a batch of transitions ``(obs, act, next_obs, terminal)`` to one reward
each. GAIL's discriminator is a :class:`BasicRewardNet` (or, with the energy-based objectives
EBGAN and MAGAN, an :class:`AutoEncoderRewardNet`); AIRL's is a :class:`ShapedRewardNet`,
``f(s, a, s') = g(s, a) + gamma * h(s') - h(s)``, whose ``base`` ``g`` is the reward AIRL
recovers. Every network computes its output from one flat feature vector per transition
(:meth:`RewardNet.features`), so that input noise and gradient penalties act on one tensor.

:class:`LearnedRewardWrapper` (a Gymnasium wrapper) and :class:`RewardVecEnvWrapper` (an SB3
``VecEnv`` wrapper) replace the env's reward by a learned one and keep the true reward in
``info["true_reward"]``, so a fresh SB3 agent can be trained on a recovered reward.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_flattened_obs_dim, preprocess_obs
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn
from torch import Tensor, nn

from lhyrl.data.spaces import space_from_description, space_to_description
from lhyrl.files import atomic_write
from lhyrl.nn.gan import (
    MLPAutoEncoderConfig,
    MLPAutoEncoderDiscriminator,
    MLPDiscriminator,
    MLPDiscriminatorConfig,
    apply_spectral_norm,
)

__all__ = [
    "AutoEncoderRewardNet",
    "BasicRewardNet",
    "LearnedRewardWrapper",
    "RewardNet",
    "RewardNetError",
    "RewardVecEnvWrapper",
    "ShapedRewardNet",
    "load_reward_net",
    "save_reward_net",
]


class RewardNetError(ValueError):
    """A reward network produced NaN or infinite rewards."""


def _flat_dim(space: gym.Space[Any]) -> int:
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.Box | spaces.MultiDiscrete | spaces.MultiBinary):
        return int(get_flattened_obs_dim(space))
    raise TypeError(
        f"reward networks read Box, Discrete, MultiDiscrete or MultiBinary spaces; got {space}"
    )


class RewardNet(nn.Module):
    """Base of the learned rewards: transitions → flat features → one reward per transition.

    Subclasses define :meth:`forward_features`. Discrete observations and actions are one-hot
    encoded and Box ones flattened (SB3's ``preprocess_obs``, without image scaling).

    With ``normalize_input``, :meth:`features` standardizes every feature by a running mean and
    variance (clipped to +-10), which :meth:`update_input_normalization` updates: the
    adversarial trainers update it on every discriminator batch, expert and generated alike,
    so that features of very different scales (positions, velocities) weigh alike. The
    statistics are buffers: they are saved and loaded with the weights.

    Args:
        observation_space: The (single-env) observation space.
        action_space: The (single-env) action space.
        normalize_input: Standardize the features by running statistics.
    """

    output_kind: ClassVar[str] = "logit"
    """What :meth:`discriminator_features` returns as a discriminator (see
    :data:`lhyrl.nn.gan.objectives.OUTPUT_KINDS`)."""

    input_mean: Tensor  # (D,)
    input_var: Tensor  # (D,)
    input_count: Tensor  # ()

    def __init__(
        self,
        *,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        normalize_input: bool = False,
    ) -> None:
        super().__init__()
        self.observation_space = observation_space
        self.action_space = action_space
        self.obs_dim = _flat_dim(observation_space)
        self.act_dim = _flat_dim(action_space)
        self.normalize_input = bool(normalize_input)
        self.register_buffer("input_mean", torch.zeros(self.feature_dim))
        self.register_buffer("input_var", torch.ones(self.feature_dim))
        self.register_buffer("input_count", torch.zeros((), dtype=torch.float64))

    @property
    def feature_dim(self) -> int:
        """Size of one transition's feature vector: ``obs, act, next_obs`` concatenated."""
        return 2 * self.obs_dim + self.act_dim

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def _flat(self, value: Any, space: gym.Space[Any]) -> Tensor:
        tensor = torch.as_tensor(np.asarray(value), device=self._device())
        processed = preprocess_obs(tensor, space, normalize_images=False)
        assert isinstance(processed, Tensor)
        return processed.float().reshape(len(tensor), -1)  # (B, D)

    def raw_features(self, obs: Any, acts: Any, next_obs: Any) -> Tensor:
        """One flat float vector per transition, unnormalized: ``(B, 2 * obs_dim + act_dim)``."""
        return torch.cat(
            [
                self._flat(obs, self.observation_space),  # (B, O)
                self._flat(acts, self.action_space),  # (B, A)
                self._flat(next_obs, self.observation_space),  # (B, O)
            ],
            dim=1,
        )

    def features(self, obs: Any, acts: Any, next_obs: Any) -> Tensor:
        """:meth:`raw_features`, standardized when ``normalize_input`` is on: ``(B, D)``."""
        return self.normalize_features(self.raw_features(obs, acts, next_obs))

    def normalize_features(self, raw: Tensor) -> Tensor:
        """Raw features ``(B, D)`` standardized by the running statistics (when they are on)."""
        if not self.normalize_input or float(self.input_count) == 0.0:
            return raw
        std = (self.input_var + 1e-8).sqrt().to(raw.dtype)  # (D,)
        return ((raw - self.input_mean.to(raw.dtype)) / std).clamp(-10.0, 10.0)

    def update_input_normalization(self, obs: Any, acts: Any, next_obs: Any) -> None:
        """Merge a batch of transitions into the running mean and variance of the features."""
        self.update_normalization_from_raw(self.raw_features(obs, acts, next_obs))

    @torch.no_grad()
    def update_normalization_from_raw(self, raw: Tensor) -> None:
        """Merge raw features ``(B, D)`` into the running mean and variance."""
        raw = raw.double()
        n = float(len(raw))
        if n == 0:
            return
        batch_mean, batch_var = raw.mean(0), raw.var(0, unbiased=False)  # (D,), (D,)
        count = float(self.input_count)
        total = count + n
        delta = batch_mean - self.input_mean.double()
        mean = self.input_mean.double() + delta * n / total
        m2 = self.input_var.double() * count + batch_var * n + delta**2 * count * n / total
        self.input_mean.copy_(mean)
        self.input_var.copy_(m2 / total)
        self.input_count.fill_(total)

    def split_features(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The ``obs``, ``act`` and ``next_obs`` parts of features ``x`` (B, D)."""
        o, a = self.obs_dim, self.act_dim
        return x[:, :o], x[:, o : o + a], x[:, o + a :]

    def forward_features(self, x: Tensor, terminal: Tensor) -> Tensor:
        """Rewards ``(B,)`` from features ``x`` ``(B, D)`` and terminal flags ``(B,)``."""
        raise NotImplementedError

    def discriminator_features(self, x: Tensor, terminal: Tensor) -> Tensor:
        """The network's output as a discriminator ``(B,)``.

        The logit (the reward itself), or an auto-encoder's energy
        (:class:`AutoEncoderRewardNet`).
        """
        return self.forward_features(x, terminal)

    def forward(self, obs: Any, acts: Any, next_obs: Any, terminal: Any) -> Tensor:
        """Rewards ``(B,)`` of a batch of transitions (arrays or tensors)."""
        terminal_t = torch.as_tensor(np.asarray(terminal), device=self._device()).float()
        return self.forward_features(self.features(obs, acts, next_obs), terminal_t)

    @torch.no_grad()
    def predict(self, obs: Any, acts: Any, next_obs: Any, terminal: Any) -> np.ndarray:
        """Rewards as a float32 array ``(B,)``, in eval mode and without gradients.

        Raises:
            RewardNetError: If any reward is NaN or infinite.
        """
        was_training = self.training
        self.eval()
        try:
            rewards = self(obs, acts, next_obs, terminal).cpu().numpy().astype(np.float32)
        finally:
            self.train(was_training)
        check_finite_rewards(rewards, what=type(self).__name__)
        return rewards

    def config(self) -> dict[str, Any]:
        """Constructor arguments as plain data (spaces described), for :func:`load_reward_net`."""
        raise NotImplementedError


def check_finite_rewards(rewards: np.ndarray, *, what: str) -> None:
    """Raise :class:`RewardNetError` naming how many rewards are NaN or infinite."""
    bad = ~np.isfinite(rewards)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise RewardNetError(
            f"the {what} returned NaN or infinite rewards for {int(bad.sum())} of "
            f"{rewards.size} transitions (first at index {first}: {rewards.flat[first]}); "
            "its weights have diverged: lower the discriminator's learning rate, or add a "
            "gradient penalty or spectral normalisation"
        )


class TransitionRewardNet(RewardNet):
    """The base of the MLP reward nets: which of ``(s, a, s')`` they read, and their sizes.

    Args:
        observation_space: The (single-env) observation space.
        action_space: The (single-env) action space.
        use_action: Read the action.
        use_next_obs: Read the next observation.
        hidden_sizes: Widths of the hidden layers.
        activation: ``"tanh"`` or ``"relu"``.
        spectral_norm: Spectral normalisation on every layer (a remedy for a discriminator
            that wins too fast).
        normalize_input: Standardize the features by running statistics (see
            :class:`RewardNet`).
    """

    def __init__(
        self,
        *,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        use_action: bool,
        use_next_obs: bool,
        hidden_sizes: tuple[int, ...],
        activation: str,
        spectral_norm: bool,
        normalize_input: bool,
    ) -> None:
        super().__init__(
            observation_space=observation_space,
            action_space=action_space,
            normalize_input=normalize_input,
        )
        self.use_action = use_action
        self.use_next_obs = use_next_obs
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.activation = activation
        self.spectral_norm = spectral_norm

    @property
    def input_dim(self) -> int:
        """Size of what the network reads: ``s``, then ``a`` and ``s'`` if it reads them."""
        return self.obs_dim * (2 if self.use_next_obs else 1) + (
            self.act_dim if self.use_action else 0
        )

    def selected_inputs(self, x: Tensor) -> Tensor:
        """The parts of features ``(B, D)`` the network reads, concatenated: ``(B, input_dim)``."""
        obs, act, next_obs = self.split_features(x)
        parts = (
            [obs] + ([act] if self.use_action else []) + ([next_obs] if self.use_next_obs else [])
        )
        return torch.cat(parts, dim=1)

    def config(self) -> dict[str, Any]:
        """Constructor arguments as plain data."""
        return {
            "observation_space": space_to_description(self.observation_space),
            "action_space": space_to_description(self.action_space),
            "use_action": self.use_action,
            "use_next_obs": self.use_next_obs,
            "hidden_sizes": list(self.hidden_sizes),
            "activation": self.activation,
            "spectral_norm": self.spectral_norm,
            "normalize_input": self.normalize_input,
        }


class BasicRewardNet(TransitionRewardNet):
    """An MLP reward over ``(s)``, ``(s, a)``, ``(s, s')`` or ``(s, a, s')`` (GAIL's discriminator).

    Args:
        observation_space: The (single-env) observation space.
        action_space: The (single-env) action space.
        use_action: Read the action.
        use_next_obs: Read the next observation.
        hidden_sizes: Widths of the hidden layers.
        activation: ``"tanh"`` or ``"relu"``.
        spectral_norm: Spectral normalisation on every layer (a remedy for a discriminator
            that wins too fast).
        normalize_input: Standardize the features by running statistics (see
            :class:`RewardNet`).
    """

    def __init__(
        self,
        *,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        use_action: bool = True,
        use_next_obs: bool = False,
        hidden_sizes: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        spectral_norm: bool = False,
        normalize_input: bool = False,
    ) -> None:
        super().__init__(
            observation_space=observation_space,
            action_space=action_space,
            use_action=use_action,
            use_next_obs=use_next_obs,
            hidden_sizes=hidden_sizes,
            activation=activation,
            spectral_norm=spectral_norm,
            normalize_input=normalize_input,
        )
        self.mlp = MLPDiscriminator(
            MLPDiscriminatorConfig(
                input_dim=self.input_dim,
                hidden_sizes=self.hidden_sizes,
                activation=activation,  # type: ignore[arg-type]
                spectral_norm=spectral_norm,
            )
        )

    def forward_features(self, x: Tensor, terminal: Tensor) -> Tensor:
        """Rewards ``(B,)`` from features ``(B, D)``; ``terminal`` is not used."""
        del terminal
        return self.mlp(self.selected_inputs(x))  # (B,)


class AutoEncoderRewardNet(TransitionRewardNet):
    """An auto-encoder over ``(s)``, ``(s, a)``, ... : GAIL's discriminator with EBGAN or MAGAN.

    As a discriminator (:meth:`discriminator_features`) it outputs an energy, the mean
    squared reconstruction error of the (normalized) features it reads, low for expert-like
    transitions; as a reward network (:meth:`forward_features`, :meth:`predict`) it returns
    the generator's reward of the energy-based objectives, ``-energy``.

    Args:
        observation_space: The (single-env) observation space.
        action_space: The (single-env) action space.
        use_action: Read the action.
        use_next_obs: Read the next observation.
        hidden_sizes: Widths of the encoder's hidden layers (the decoder mirrors them).
        code_dim: Size of the auto-encoder's code.
        activation: ``"tanh"`` or ``"relu"``.
        spectral_norm: Spectral normalisation on every layer.
        normalize_input: Standardize the features by running statistics (see
            :class:`RewardNet`).
    """

    output_kind: ClassVar[str] = "energy"

    def __init__(
        self,
        *,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        use_action: bool = True,
        use_next_obs: bool = False,
        hidden_sizes: tuple[int, ...] = (64,),
        code_dim: int = 8,
        activation: str = "relu",
        spectral_norm: bool = False,
        normalize_input: bool = False,
    ) -> None:
        super().__init__(
            observation_space=observation_space,
            action_space=action_space,
            use_action=use_action,
            use_next_obs=use_next_obs,
            hidden_sizes=hidden_sizes,
            activation=activation,
            spectral_norm=spectral_norm,
            normalize_input=normalize_input,
        )
        self.code_dim = int(code_dim)
        self.autoencoder = MLPAutoEncoderDiscriminator(
            MLPAutoEncoderConfig(
                input_dim=self.input_dim,
                hidden_sizes=self.hidden_sizes,
                code_dim=self.code_dim,
                activation=activation,  # type: ignore[arg-type]
                spectral_norm=spectral_norm,
            )
        )

    def discriminator_features(self, x: Tensor, terminal: Tensor) -> Tensor:
        """Energies ``(B,)`` from features ``(B, D)``; ``terminal`` is not used."""
        del terminal
        return self.autoencoder(self.selected_inputs(x))  # (B,)

    def forward_features(self, x: Tensor, terminal: Tensor) -> Tensor:
        """Rewards ``-energy`` ``(B,)`` from features ``(B, D)``."""
        return -self.discriminator_features(x, terminal)

    def config(self) -> dict[str, Any]:
        """Constructor arguments as plain data."""
        return {**super().config(), "code_dim": self.code_dim}


class ShapedRewardNet(RewardNet):
    """AIRL's reward ``f(s, a, s') = g(s, a) + gamma * (1 - terminal) * h(s') - h(s)``.

    ``base`` (``g``) is the reward AIRL recovers (state-only with ``state_only=True``, which
    the AIRL paper needs for a reward that transfers across dynamics); ``potential`` (``h``)
    is a shaping term.

    Args:
        observation_space: The (single-env) observation space.
        action_space: The (single-env) action space.
        gamma: Discount of the shaping term; use the generator's discount.
        state_only: ``g`` reads the state only.
        hidden_sizes: Widths of ``g``'s hidden layers.
        potential_hidden_sizes: Widths of ``h``'s hidden layers.
        activation: ``"tanh"`` or ``"relu"``.
        spectral_norm: Spectral normalisation on every layer of ``g`` and ``h``.
        normalize_input: Standardize the features ``g`` and ``h`` read by running statistics
            (see :class:`RewardNet`).
    """

    def __init__(
        self,
        *,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        gamma: float = 0.99,
        state_only: bool = False,
        hidden_sizes: tuple[int, ...] = (64, 64),
        potential_hidden_sizes: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        spectral_norm: bool = False,
        normalize_input: bool = False,
    ) -> None:
        super().__init__(
            observation_space=observation_space,
            action_space=action_space,
            normalize_input=normalize_input,
        )
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1]; got {gamma}")
        self.gamma = float(gamma)
        self.state_only = state_only
        self.potential_hidden_sizes = tuple(int(h) for h in potential_hidden_sizes)
        self.base = BasicRewardNet(
            observation_space=observation_space,
            action_space=action_space,
            use_action=not state_only,
            hidden_sizes=hidden_sizes,
            activation=activation,
            spectral_norm=spectral_norm,
        )
        self.potential = BasicRewardNet(
            observation_space=observation_space,
            action_space=action_space,
            use_action=False,
            hidden_sizes=potential_hidden_sizes,
            activation=activation,
            spectral_norm=spectral_norm,
        )

    def forward_features(self, x: Tensor, terminal: Tensor) -> Tensor:
        """Shaped rewards ``(B,)`` from features ``(B, D)`` and terminal flags ``(B,)``."""
        _, act, next_obs = self.split_features(x)
        swapped = torch.cat([next_obs, act, next_obs], dim=1)  # h reads the "obs" slot
        g = self.base.forward_features(x, terminal)  # (B,)
        h_now = self.potential.forward_features(x, terminal)  # (B,)
        h_next = self.potential.forward_features(swapped, terminal)  # (B,)
        return g + self.gamma * (1.0 - terminal) * h_next - h_now

    def config(self) -> dict[str, Any]:
        """Constructor arguments as plain data."""
        return {
            "observation_space": space_to_description(self.observation_space),
            "action_space": space_to_description(self.action_space),
            "gamma": self.gamma,
            "state_only": self.state_only,
            "hidden_sizes": list(self.base.hidden_sizes),
            "potential_hidden_sizes": list(self.potential_hidden_sizes),
            "activation": self.base.activation,
            "spectral_norm": self.base.spectral_norm,
            "normalize_input": self.normalize_input,
        }


_REWARD_NETS: dict[str, type[RewardNet]] = {
    "AutoEncoderRewardNet": AutoEncoderRewardNet,
    "BasicRewardNet": BasicRewardNet,
    "ShapedRewardNet": ShapedRewardNet,
}


def save_reward_net(path: str | os.PathLike[str], net: RewardNet) -> Path:
    """Write ``net``'s class, constructor arguments and weights to ``path`` atomically."""
    data = {
        "reward_net_class": type(net).__name__,
        "config": net.config(),
        "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
    }
    return atomic_write(path, lambda tmp: torch.save(data, tmp))


def load_reward_net(path: str | os.PathLike[str], *, device: str = "cpu") -> RewardNet:
    """Load a reward network written by :func:`save_reward_net` (``weights_only`` loading).

    Raises:
        ValueError: If the file is unreadable or not a reward network file.
    """
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:
        raise ValueError(f"{path} is not a readable reward network file: {err}") from err
    if not isinstance(data, dict) or data.get("reward_net_class") not in _REWARD_NETS:
        raise ValueError(
            f"{path} is not a reward network file (expected one of {sorted(_REWARD_NETS)})"
        )
    config = dict(data["config"])
    config["observation_space"] = space_from_description(config["observation_space"])
    config["action_space"] = space_from_description(config["action_space"])
    for key in ("hidden_sizes", "potential_hidden_sizes"):
        if key in config:
            config[key] = tuple(config[key])
    net = _REWARD_NETS[data["reward_net_class"]](**config)
    state = data["state_dict"]
    if any(".parametrizations.weight." in k for k in state):
        # a trainer's remedy, applied after construction, so not in the config
        apply_spectral_norm(net)
    net.load_state_dict(state)
    return net.to(device)


RewardFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``(obs, acts, next_obs, terminal) -> rewards``, all batched along the first axis."""


class LearnedRewardWrapper(gym.Wrapper[Any, Any, Any, Any]):
    """A Gymnasium wrapper whose reward is a learned one; the env's own is in ``info``.

    Args:
        env: The env to wrap; its spaces must be the reward network's.
        reward_net: A :class:`RewardNet` (or a batched reward function).

    Example:
        >>> env = LearnedRewardWrapper(gym.make("CartPole-v1"), airl.reward_net.base)
        >>> PPO("MlpPolicy", env).learn(50_000)
    """

    def __init__(self, env: gym.Env[Any, Any], reward_net: RewardNet | RewardFn) -> None:
        super().__init__(env)
        if isinstance(reward_net, RewardNet):
            _check_spaces(reward_net, env.observation_space, env.action_space)
            self.reward_fn: RewardFn = reward_net.predict  # checks for NaN itself
        else:
            self.reward_fn = _checked(reward_net)
        self._last_obs: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the env and remember the first observation."""
        obs, info = self.env.reset(**kwargs)
        self._last_obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step the env; the reward is the learned one, ``info["true_reward"]`` the env's."""
        obs, true_reward, terminated, truncated, info = self.env.step(action)
        reward = self.reward_fn(
            np.asarray(self._last_obs)[None],
            np.asarray(action)[None],
            np.asarray(obs)[None],
            np.array([terminated]),
        )
        self._last_obs = obs
        info = {**info, "true_reward": float(true_reward)}
        return obs, float(np.asarray(reward)[0]), terminated, truncated, info


def _checked(reward_fn: RewardFn) -> RewardFn:
    """``reward_fn``, raising :class:`RewardNetError` on NaN or infinite rewards."""

    def checked(
        obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, terminal: np.ndarray
    ) -> np.ndarray:
        rewards = np.asarray(reward_fn(obs, acts, next_obs, terminal))
        check_finite_rewards(rewards, what="learned reward")
        return rewards

    return checked


def _check_spaces(net: RewardNet, obs_space: gym.Space[Any], act_space: gym.Space[Any]) -> None:
    if net.observation_space != obs_space or net.action_space != act_space:
        raise ValueError(
            f"the reward network reads observations {net.observation_space} and actions "
            f"{net.action_space}; the env has {obs_space} and {act_space}"
        )


class RewardVecEnvWrapper(VecEnvWrapper):
    """An SB3 ``VecEnv`` wrapper that replaces rewards by ``reward_fn`` and records transitions.

    Each step's ``(obs, acts, next_obs, terminal)`` (with the true last observation of a
    finished episode, and ``terminal`` false on time-limit truncation) is handed to
    ``on_transitions`` when given, which is how the adversarial trainers collect generator
    samples while SB3 drives the rollout. ``infos[i]["true_reward"]`` holds the env's reward.

    Args:
        venv: The vector env.
        reward_fn: Batched learned reward.
        on_transitions: Called with the four arrays of each step.
    """

    def __init__(
        self,
        venv: VecEnv,
        reward_fn: RewardFn,
        on_transitions: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]
        | None = None,
    ) -> None:
        super().__init__(venv)
        self.reward_fn = reward_fn
        self.on_transitions = on_transitions
        self._last_obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None

    def reset(self) -> Any:
        """Reset every sub-env."""
        obs = self.venv.reset()
        self._last_obs = np.asarray(obs)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Remember the actions and pass them on."""
        self._actions = np.asarray(actions)
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """Step, compute the learned rewards, record the transitions."""
        obs, true_rewards, dones, infos = self.venv.step_wait()
        if self._last_obs is None or self._actions is None:
            raise RuntimeError("reset the RewardVecEnvWrapper before stepping it")
        next_obs = np.array(obs, copy=True)
        terminal = np.zeros(len(dones), dtype=bool)
        for i, done in enumerate(dones):
            if done:
                next_obs[i] = infos[i]["terminal_observation"]
                terminal[i] = not infos[i].get("TimeLimit.truncated", False)
        rewards = np.asarray(self.reward_fn(self._last_obs, self._actions, next_obs, terminal))
        check_finite_rewards(rewards, what="learned reward")
        if self.on_transitions is not None:
            self.on_transitions(self._last_obs, self._actions, next_obs, terminal)
        for info, true_reward in zip(infos, true_rewards, strict=True):
            info["true_reward"] = float(true_reward)
        self._last_obs = np.asarray(obs)
        return obs, rewards.astype(np.float32), dones, infos
