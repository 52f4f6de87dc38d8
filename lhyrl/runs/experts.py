"""Experts from files: ``--expert PATH`` for DAgger, reference returns and ``lhyrl demos``.

An expert is any batched policy (observations ``(B, *obs_shape)`` to actions
``(B, *act_shape)``). Three kinds of file name one:

* a **Stable-Baselines3 model** ``.zip`` (PPO/A2C, SAC, TD3/DDPG or DQN with an MLP policy),
  read without unpickling: the policy is rebuilt from the zip's JSON description and its
  ``policy.pth`` weights are loaded with ``torch.load(weights_only=True)``. (SB3's own
  ``load`` unpickles parts of the file, which lhyrl never does with a file a user hands it.)
  Observation normalization (``VecNormalize``) is not part of the zip and is not applied;
* an **lhyrl agent file** (``model.pt`` of an imitation run, or the run directory itself);
* ``module:callable``: a batched policy function importable from Python.

Without ``--expert``, the env's shipped expert is used where lhyrl knows one.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.dqn.policies import DQNPolicy
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import TD3Policy

from lhyrl.agents import BC
from lhyrl.data import PolicyLike
from lhyrl.experts import make_expert
from lhyrl.runs.common import MODEL_FILE

__all__ = ["EXPERT_KINDS", "describe_expert", "load_expert", "load_sb3_policy", "resolve_expert"]

EXPERT_KINDS = (
    "a Stable-Baselines3 model .zip, an lhyrl agent file (.pt) or run directory, or "
    "module:callable (a batched policy)"
)

_SB3_POLICIES: dict[str, type[BasePolicy]] = {
    "ActorCriticPolicy": ActorCriticPolicy,
    "SACPolicy": SACPolicy,
    "TD3Policy": TD3Policy,
    "DQNPolicy": DQNPolicy,
}
"""SB3 policy classes (as named in a zip's ``policy_class``) that an expert zip may hold."""

_PLAIN_KWARGS = {
    "net_arch",
    "ortho_init",
    "use_sde",
    "log_std_init",
    "full_std",
    "use_expln",
    "squash_output",
    "clip_mean",
    "n_critics",
    "share_features_extractor",
    "normalize_images",
}
"""``policy_kwargs`` entries that hold plain data and shape the rebuilt policy."""

_IGNORED_KWARGS = {"optimizer_class", "optimizer_kwargs"}
"""``policy_kwargs`` entries that do not change what the policy computes."""


def resolve_expert(spec: str | None, env: gym.Env[Any, Any] | gym.vector.VectorEnv) -> PolicyLike:
    """The expert ``spec`` names (see :func:`load_expert`), or the env's shipped one for ``None``.

    Raises:
        ValueError: If ``spec`` is ``None`` and lhyrl knows no expert for the env, or the
            file is not an expert for the env's spaces.
    """
    if spec is None:
        return make_expert(env)
    single = isinstance(env, gym.Env)
    observation_space = env.observation_space if single else env.single_observation_space
    action_space = env.action_space if single else env.single_action_space
    return load_expert(spec, observation_space, action_space)


def describe_expert(spec: str | None) -> str:
    """How reports name an expert: ``expert`` (the shipped one) or ``expert <spec>``."""
    return "expert" if spec is None else f"expert {spec}"


def load_expert(
    spec: str, observation_space: gym.Space[Any], action_space: gym.Space[Any]
) -> PolicyLike:
    """Load the expert policy ``spec`` names, for an env with these spaces.

    Args:
        spec: An SB3 model ``.zip``, an lhyrl agent file or run directory, or
            ``module:callable``.
        observation_space: The env's (single) observation space.
        action_space: The env's (single) action space.

    Returns:
        An SB3 policy or a batched callable (what :func:`lhyrl.data.as_policy_fn` takes).

    Raises:
        ValueError: If ``spec`` names none of these, or an expert for other spaces.
        FileNotFoundError: If the file does not exist.
    """
    path = Path(spec)
    if path.suffix == ".zip":
        return load_sb3_policy(path, observation_space, action_space)
    if path.is_dir() or path.suffix == ".pt":
        file = path / MODEL_FILE if path.is_dir() else path
        if not file.is_file():
            raise FileNotFoundError(f"expert {spec}: no such file ({file})")
        policy = BC.load(file, device="cpu").policy
        _check_spaces(
            spec, (policy.observation_space, policy.action_space), (observation_space, action_space)
        )
        return policy
    module_name, sep, attribute = spec.partition(":")
    if sep and module_name and attribute and not path.exists():
        return _import_policy(spec, module_name, attribute)
    if not path.exists():
        raise FileNotFoundError(f"expert {spec}: no such file; an expert is {EXPERT_KINDS}")
    raise ValueError(f"expert {spec}: not an expert file; an expert is {EXPERT_KINDS}")


def _import_policy(spec: str, module_name: str, attribute: str) -> PolicyLike:
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"expert {spec}: cannot import module {module_name!r}: {err}") from err
    policy = module
    for part in attribute.split("."):
        if not hasattr(policy, part):
            raise ValueError(f"expert {spec}: module {module_name!r} has no {attribute!r}")
        policy = getattr(policy, part)
    if not callable(policy):
        raise ValueError(f"expert {spec}: {attribute!r} is not callable")
    return policy  # type: ignore[return-value]


def load_sb3_policy(
    path: str | Path,
    observation_space: gym.Space[Any],
    action_space: gym.Space[Any],
    *,
    device: str = "cpu",
) -> BasePolicy:
    """Rebuild the MLP policy of a Stable-Baselines3 model ``.zip`` without unpickling.

    Args:
        path: A file written by an SB3 model's ``save``.
        observation_space: The env's observation space; the zip's must have its shape.
        action_space: The env's action space; the zip's must have its shape.
        device: Where the policy's weights go.

    Returns:
        The policy in evaluation mode; ``policy.predict(obs, deterministic=True)`` acts.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is no SB3 model zip, holds an unsupported policy, or was
            trained on other spaces.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"expert {path}: no such file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if not {"data", "policy.pth"} <= names:
                raise ValueError(
                    f"expert {path}: not a Stable-Baselines3 model zip (it needs the entries "
                    f"'data' and 'policy.pth'; it has {sorted(names)})"
                )
            data = json.loads(archive.read("data"))
            weights = torch.load(
                io.BytesIO(archive.read("policy.pth")), map_location=device, weights_only=True
            )
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"expert {path}: not a readable Stable-Baselines3 model zip: {err}"
        ) from err
    except RuntimeError as err:  # torch.load of a damaged policy.pth
        raise ValueError(f"expert {path}: its policy.pth is unreadable: {err}") from err
    policy_class = _policy_class(path, data.get("policy_class"))
    _check_zip_space(path, "observation", data.get("observation_space"), observation_space)
    _check_zip_space(path, "action", data.get("action_space"), action_space)
    policy = policy_class(
        observation_space,
        action_space,
        lr_schedule=lambda _: 0.0,
        **_policy_kwargs(path, data.get("policy_kwargs") or {}),
    )
    try:
        policy.load_state_dict(weights)
    except RuntimeError as err:
        raise ValueError(f"expert {path}: its weights do not fit its policy: {err}") from err
    policy.to(device)
    policy.set_training_mode(False)
    return policy


def _policy_class(path: Path, entry: Any) -> type[BasePolicy]:
    """The SB3 policy class a zip's ``policy_class`` entry names (read from its text)."""
    init = entry.get("__init__", "") if isinstance(entry, dict) else ""
    match = re.match(r"<function (\w+)\.__init__", str(init))
    name = match.group(1) if match else None
    if name not in _SB3_POLICIES:
        raise ValueError(
            f"expert {path}: its policy class {name or '(unnamed)'} is not supported; lhyrl "
            f"reads the MLP policies {sorted(_SB3_POLICIES)} (PPO/A2C, SAC, TD3/DDPG, DQN)"
        )
    return _SB3_POLICIES[name]


def _check_zip_space(path: Path, what: str, entry: Any, space: gym.Space[Any]) -> None:
    """Refuse a zip whose space (read from its JSON description) differs from the env's."""
    described = entry if isinstance(entry, dict) else {}
    shape = described.get("_shape")
    wrong_shape = shape is not None and tuple(shape) != tuple(space.shape or ())
    n = described.get("n")
    wrong_n = isinstance(space, gym.spaces.Discrete) and n is not None and int(n) != int(space.n)
    if wrong_shape or wrong_n:
        kind = str(described.get(":type:", "a space")).removeprefix("<class '").removesuffix("'>")
        size = f"n={n}" if n is not None else f"shape {tuple(shape or ())}"
        raise ValueError(
            f"expert {path}: trained on a {what} space {kind} of {size}, but the env's "
            f"{what} space is {space}"
        )


def _policy_kwargs(path: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """The policy's keyword arguments from a zip's (JSON) ``policy_kwargs`` entry."""
    kwargs: dict[str, Any] = {}
    for key, value in entry.items():
        if key in (":type:", ":serialized:") or key in _IGNORED_KWARGS:
            continue
        if key == "activation_fn":
            kwargs[key] = _activation(path, value)
        elif key in _PLAIN_KWARGS and not (isinstance(value, str) and value.startswith("<")):
            kwargs[key] = value
        else:
            raise ValueError(
                f"expert {path}: policy_kwargs[{key!r}] = {value!r} is not supported; lhyrl "
                f"rebuilds policies from activation_fn and {sorted(_PLAIN_KWARGS)}"
            )
    return kwargs


def _activation(path: Path, text: Any) -> type[torch.nn.Module]:
    match = re.match(r"<class 'torch\.nn\.modules\.activation\.(\w+)'>", str(text))
    activation = getattr(torch.nn, match.group(1), None) if match else None
    if not (isinstance(activation, type) and issubclass(activation, torch.nn.Module)):
        raise ValueError(f"expert {path}: activation_fn {text!r} is not a torch.nn activation")
    return activation


def _check_spaces(
    spec: str,
    have: tuple[gym.Space[Any], gym.Space[Any]],
    want: tuple[gym.Space[Any], gym.Space[Any]],
) -> None:
    (obs_have, act_have), (obs_want, act_want) = have, want
    if obs_have.shape != obs_want.shape or act_have != act_want:
        raise ValueError(
            f"expert {spec}: acts on observations {obs_have} with actions {act_have}; the env "
            f"has {obs_want} and {act_want}"
        )
