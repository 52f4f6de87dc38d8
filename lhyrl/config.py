"""The configuration of a training run: one dataclass, read from YAML and the command line.

A YAML file holds any subset of :class:`TrainConfig`'s fields; command-line flags
(``--learning-rate 3e-4``) override it. A key that is not a field is refused with the list of
valid keys, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lhyrl.files import atomic_write_text

ALGOS = ("bc", "dagger", "gail", "airl")
DISC_LOSSES = ("bce", "lsgan", "wgan")


class ConfigError(ValueError):
    """A configuration file or value is invalid."""


@dataclass
class TrainConfig:
    """Everything a training run needs. Each field is also a command-line flag."""

    algo: str = "bc"
    """Agent to train: ``bc``, ``dagger``, ``gail`` or ``airl``."""
    env: str = "lhyrl/Driving-v0"
    """Gymnasium id of the environment."""
    demos: str | None = None
    """Demonstrations: a Minari dataset directory or an ``.npz`` file (BC needs them)."""
    demo_episodes: int | None = None
    """Use only the first this many episodes of the demonstrations."""
    seed: int = 0
    """Seed of the agent and of the env resets it makes."""
    device: str = "auto"
    """Torch device: ``auto``, ``cpu`` or ``cuda``."""
    runs_dir: str = "runs"
    """Where run directories are created."""
    net_arch: list[int] = field(default_factory=lambda: [256, 256])
    """Hidden layer sizes of the policy (and value) network."""
    learning_rate: float = 1e-3
    """Adam learning rate."""
    batch_size: int = 256
    """BC minibatch size."""
    ent_weight: float = 1e-3
    """Weight of BC's entropy bonus."""
    l2_weight: float = 0.0
    """Weight of BC's L2 penalty on the policy parameters."""
    epochs: int = 40
    """BC epochs (for DAgger: BC epochs after each round)."""
    rounds: int = 4
    """DAgger rounds."""
    episodes_per_round: int = 2
    """Episodes the DAgger learner drives (and the expert labels) per round."""
    beta: float = 0.5
    """Probability that DAgger executes the expert's action (not the learner's) at a step."""
    beta_rampdown_rounds: int = 0
    """If > 0, beta falls linearly from 1 in round 0 to 0 at this round instead."""
    eval_episodes: int = 50
    """Episodes of the final evaluation (one per sub-env of a vector env)."""
    eval_seed: int = 10_000
    """Seed of the final evaluation's first env."""
    checkpoint_every: int = 1
    """Epochs (BC) or rounds (DAgger, GAIL, AIRL) between checkpoints."""
    total_timesteps: int = 200_000
    """GAIL/AIRL: env steps of generator RL in all."""
    n_envs: int = 8
    """GAIL/AIRL: parallel envs of the generator."""
    gen_n_steps: int = 256
    """GAIL/AIRL: PPO steps per env per round (a round is gen_n_steps * n_envs env steps)."""
    gen_batch_size: int = 64
    """GAIL/AIRL: PPO minibatch size."""
    gen_learning_rate: float = 3e-4
    """GAIL/AIRL: PPO learning rate."""
    gen_ent_coef: float = 0.0
    """GAIL/AIRL: PPO entropy bonus."""
    gen_gamma: float = 0.99
    """GAIL/AIRL: PPO discount (and AIRL's shaping discount)."""
    disc_loss: str = "bce"
    """GAIL/AIRL: discriminator loss, ``bce``, ``lsgan`` or ``wgan``."""
    disc_lr: float = 3e-4
    """GAIL/AIRL: discriminator learning rate."""
    disc_updates_per_round: int = 4
    """GAIL/AIRL: discriminator steps per round."""
    disc_batch_size: int = 256
    """GAIL/AIRL: expert (and as many generated) transitions per discriminator step."""
    grad_penalty: float = 0.0
    """GAIL/AIRL: gradient penalty weight (10 with disc_loss wgan is WGAN-GP)."""
    label_smoothing: float = 0.0
    """GAIL/AIRL: expert label 1 - label_smoothing (bce only)."""
    input_noise: float = 0.0
    """GAIL/AIRL: std of discriminator input noise, decaying linearly to 0."""
    spectral_norm: bool = False
    """GAIL/AIRL: spectral normalisation in the discriminator."""
    state_only: bool = False
    """AIRL: the recovered reward g reads the state only."""
    warm_start: bool = False
    """GAIL/AIRL: start the generator from BC trained on the demonstrations (epochs)."""
    gen_warmup_rounds: int = 0
    """GAIL/AIRL: first rounds in which only the generator's value function learns."""
    normalize_reward: bool = False
    """GAIL/AIRL: scale the learned reward by the running std of the generator's return."""
    disc_normalize_input: bool = False
    """GAIL/AIRL: standardize the discriminator's inputs by running statistics."""
    airl_generator_reward: str = "logit"
    """AIRL: generator reward, ``logit`` (log D - log(1 - D)) or ``softplus`` (-log(1 - D))."""
    absorb_horizon: int = 0
    """GAIL/AIRL: fixed-horizon generator episodes, absorbing after termination (0: off)."""

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ConfigError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        positive = ("epochs", "rounds", "episodes_per_round", "eval_episodes", "batch_size")
        for name in (*positive, "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.beta <= 1.0:
            raise ConfigError(f"beta must be in [0, 1], got {self.beta}")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.algo in ("bc", "gail", "airl") and self.demos is None:
            raise ConfigError(
                f"{self.algo} needs demonstrations: set demos (a dataset directory or .npz)"
            )
        if self.disc_loss not in DISC_LOSSES:
            raise ConfigError(f"disc_loss must be one of {DISC_LOSSES}, got {self.disc_loss!r}")
        for name in ("total_timesteps", "n_envs", "gen_n_steps", "gen_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.airl_generator_reward not in ("logit", "softplus"):
            raise ConfigError(
                "airl_generator_reward must be 'logit' or 'softplus', got "
                f"{self.airl_generator_reward!r}"
            )
        for name in ("gen_warmup_rounds", "absorb_horizon"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be at least 0, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain data."""
        return dataclasses.asdict(self)


def field_docs() -> dict[str, str]:
    """Each field's one-line documentation (the string below it in the class body)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(TrainConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, nxt in itertools.pairwise(body):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr):
            docs[node.target.id] = nxt.value.value  # type: ignore[attr-defined,union-attr]
    return docs


def field_types() -> dict[str, Any]:
    """Each field's type, with ``X | None`` reduced to ``X``."""
    hints = typing.get_type_hints(TrainConfig)
    result = {}
    for name, hint in hints.items():
        if isinstance(hint, types.UnionType):
            hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        result[name] = hint
    return result


def _coerce(name: str, value: Any, hint: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    try:
        if origin is list:
            (item,) = typing.get_args(hint)
            if not isinstance(value, list | tuple):
                raise TypeError
            return [item(v) for v in value]
        if hint is bool or hint is str:
            if not isinstance(value, hint):
                raise TypeError
            return value
        if hint is int and isinstance(value, float) and not value.is_integer():
            raise TypeError
        if hint in (int, float) and isinstance(value, bool | str):
            raise TypeError
        return hint(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"config key {name!r} must be {getattr(hint, '__name__', hint)}, got {value!r}"
        ) from err


def make_config(values: dict[str, Any]) -> TrainConfig:
    """Build a validated config from a mapping, refusing unknown keys and wrong types."""
    types_ = field_types()
    unknown = sorted(set(values) - set(types_))
    if unknown:
        raise ConfigError(f"unknown config key(s) {unknown}; valid keys are {sorted(types_)}")
    return TrainConfig(**{k: _coerce(k, v, types_[k]) for k, v in values.items()})


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping of config values (keys are checked by :func:`make_config`)."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    return data


def write_yaml(path: Path, config: TrainConfig) -> None:
    """Write ``config`` to ``path`` atomically (temp file, then rename)."""
    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
