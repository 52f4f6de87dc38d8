"""Run a policy in an env (single or vector) and record the finished episodes.

Every policy is used through one calling convention: a function from a batch of observations
``(B, *obs_shape)`` to a batch of actions ``(B, *act_shape)``. :func:`as_policy_fn` turns a
Stable-Baselines3 model or policy into such a function; a plain callable is used as it is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from tqdm.auto import tqdm

from lhyrl.data.types import Episode, EpisodeBuffer

PolicyFn: TypeAlias = Callable[[np.ndarray], np.ndarray]
"""A function from a batch of observations ``(B, *obs_shape)`` to actions ``(B, *act_shape)``."""

PolicyLike: TypeAlias = BaseAlgorithm | BasePolicy | Callable[[np.ndarray], np.ndarray]
"""Anything :func:`as_policy_fn` accepts: an SB3 model, an SB3 policy, or a batched callable."""


def as_policy_fn(policy: PolicyLike, *, deterministic: bool = True) -> PolicyFn:
    """Turn a policy of any supported kind into a batched policy function.

    Args:
        policy: A Stable-Baselines3 model (``PPO``, ``SAC``, ...), an SB3 policy, or a callable
            mapping a batch of observations to a batch of actions.
        deterministic: For SB3 models and policies, whether to take the mode of the action
            distribution. Ignored for plain callables.

    Returns:
        A function ``obs (B, *obs_shape) -> actions (B, *act_shape)``.

    Raises:
        TypeError: If ``policy`` is none of the supported kinds.
    """
    # An SB3 policy is a torch Module and hence callable: test for the SB3 types first.
    if isinstance(policy, BaseAlgorithm | BasePolicy):
        sb3_policy = policy

        def predict(obs: np.ndarray) -> np.ndarray:
            actions, _ = sb3_policy.predict(obs, deterministic=deterministic)
            return np.asarray(actions)

        return predict
    if callable(policy):
        return policy
    raise TypeError(
        "policy must be a Stable-Baselines3 model or policy, or a callable mapping a batch of "
        f"observations to a batch of actions; got {type(policy).__name__}"
    )


def random_policy(action_space: gym.Space, *, seed: int) -> PolicyFn:
    """A batched policy that samples actions uniformly from ``action_space``.

    The space is copied and the copy seeded, so the caller's space keeps its own random state.

    Args:
        action_space: The (single-env) action space to sample from.
        seed: Seed of the copy's random generator.

    Returns:
        A function returning ``len(obs)`` independent samples stacked into one array.
    """
    space = copy.deepcopy(action_space)
    space.seed(seed)

    def act(obs: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(space.sample()) for _ in range(len(obs))])

    return act


def episode_returns(episodes: Sequence[Episode]) -> np.ndarray:
    """The undiscounted return of each episode, ``(len(episodes),)`` float64."""
    return np.array([ep.episode_return for ep in episodes], dtype=np.float64)


def collect_episodes(
    env: gym.Env | gym.vector.VectorEnv,
    policy: PolicyLike,
    *,
    n_episodes: int,
    seed: int | None = None,
    deterministic: bool = True,
    progress: bool = True,
    disturbance: float = 0.0,
    record_frames: bool = False,
) -> list[Episode]:
    """Run ``policy`` in ``env`` until ``n_episodes`` episodes have finished.

    With a single env, the first episode starts from ``env.reset(seed=seed)`` and later ones
    from a plain ``env.reset()``. With a vector env, ``env.reset(seed=seed)`` is called once
    (Gymnasium then seeds sub-env ``i`` with ``seed + i``) and the sub-envs reset themselves;
    the ``NEXT_STEP`` and ``SAME_STEP`` autoreset modes are both handled, so every recorded
    episode starts with a reset observation and ends with the true final observation.

    The episodes returned are the first ``n_episodes`` to finish, in finishing order (sub-env
    index breaks ties). With a vector env this favours short episodes when lengths vary; use a
    single env, or more episodes than envs, where that bias matters.

    Args:
        env: A Gymnasium env or vector env with array observations and actions.
        policy: An SB3 model or policy, or a batched callable (see :func:`as_policy_fn`).
        n_episodes: How many episodes to return; at least 1.
        seed: Seed of the first reset; ``None`` leaves the env's generator as it is.
        deterministic: Passed on to SB3's ``predict``.
        progress: Show a tqdm progress bar counting episodes.
        disturbance: Disturbance injection (DART, Laskey et al. 2017): the env executes a
            perturbed action while the episode records the policy's own action as the label, so
            demonstrations show how the policy recovers from small mistakes. For a ``Box``
            space, Gaussian noise with this standard deviation in units of half the action
            range, clipped to the bounds; for a ``Discrete`` space, the probability of
            executing a uniformly random action instead. ``0`` (the default) records plain
            rollouts. The noise is drawn from a generator seeded with ``seed``.
        record_frames: Keep each step's ``info["frame"]`` (and the reset's) as the episodes'
            ``frames``, e.g. from :class:`lhyrl.envs.third_person.DomainFrames`; a single env
            only.

    Returns:
        Exactly ``n_episodes`` episodes.

    Raises:
        ValueError: If ``n_episodes < 1``, if a vector env has autoreset disabled, or if the
            policy returns actions of the wrong shape.
        TypeError: If ``env`` is not a Gymnasium env or vector env.
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be at least 1, got {n_episodes}")
    if not isinstance(env, gym.Env | gym.vector.VectorEnv):
        raise TypeError(
            f"env must be a gymnasium Env or VectorEnv, got {type(env).__name__} (a "
            "Stable-Baselines3 VecEnv is not supported; use gym.make_vec instead)"
        )
    policy_fn = as_policy_fn(policy, deterministic=deterministic)
    with tqdm(total=n_episodes, unit="episode", disable=not progress) as bar:
        if isinstance(env, gym.vector.VectorEnv):
            if record_frames:
                raise ValueError("record_frames needs a single env (gym.make), not a vector env")
            perturb = _disturbance(env.single_action_space, disturbance, seed)
            return _collect_vector(
                env, policy_fn, n_episodes=n_episodes, seed=seed, bar=bar, perturb=perturb
            )
        perturb = _disturbance(env.action_space, disturbance, seed)
        return _collect_single(
            env,
            policy_fn,
            n_episodes=n_episodes,
            seed=seed,
            bar=bar,
            perturb=perturb,
            record_frames=record_frames,
        )


def _disturbance(
    space: gym.Space, scale: float, seed: int | None
) -> Callable[[np.ndarray], np.ndarray]:
    """The function that turns a batch of labels into the actions the env executes."""
    if scale < 0:
        raise ValueError(f"disturbance must be non-negative, got {scale}")
    if scale == 0:
        return lambda actions: actions
    rng = np.random.default_rng(seed)
    if isinstance(space, spaces.Box):
        half_range = (space.high - space.low) / 2.0
        if not np.all(np.isfinite(half_range)):
            raise ValueError(f"disturbance needs a bounded Box action space, got {space}")

        def add_noise(actions: np.ndarray) -> np.ndarray:
            noise = rng.normal(0.0, scale, actions.shape) * half_range
            return np.clip(actions + noise, space.low, space.high).astype(space.dtype)

        return add_noise
    if isinstance(space, spaces.Discrete):
        if scale > 1:
            raise ValueError(f"disturbance for a Discrete space is a probability, got {scale}")

        def replace(actions: np.ndarray) -> np.ndarray:
            random = space.start + rng.integers(space.n, size=actions.shape)
            return np.where(rng.random(actions.shape) < scale, random, actions).astype(space.dtype)

        return replace
    raise ValueError(f"disturbance supports Box and Discrete action spaces, not {space}")


def _checked_actions(actions: Any, action_space: gym.Space, batch_size: int) -> np.ndarray:
    """Cast a policy's output to the action space's dtype and check its shape."""
    actions = np.asarray(actions)
    if action_space.shape is None:
        raise ValueError(f"unsupported action space {action_space}: it has no array shape")
    expected = (batch_size, *action_space.shape)
    if actions.shape != expected:
        raise ValueError(
            f"the policy returned actions of shape {actions.shape}; expected {expected} "
            f"(a batch of {batch_size} actions from {action_space})"
        )
    return actions.astype(action_space.dtype, copy=False)


def _collect_single(
    env: gym.Env,
    policy_fn: PolicyFn,
    *,
    n_episodes: int,
    seed: int | None,
    bar: tqdm,
    perturb: Callable[[np.ndarray], np.ndarray],
    record_frames: bool = False,
) -> list[Episode]:
    def frame(info: dict[str, Any]) -> np.ndarray | None:
        if not record_frames:
            return None
        if "frame" not in info:
            raise ValueError(
                "record_frames reads info['frame'], which this env does not give; wrap it in "
                "lhyrl.envs.third_person.DomainFrames"
            )
        return np.asarray(info["frame"])

    episodes: list[Episode] = []
    obs, info = env.reset(seed=seed)
    buffer = EpisodeBuffer(obs, frame(info))
    while len(episodes) < n_episodes:
        labels = _checked_actions(policy_fn(np.asarray(obs)[None]), env.action_space, 1)
        action = labels[0]
        obs, reward, terminated, truncated, info = env.step(perturb(labels)[0])
        buffer.add(action, float(reward), obs, frame(info))
        if terminated or truncated:
            episodes.append(buffer.finish(terminated=bool(terminated), truncated=bool(truncated)))
            bar.update(1)
            if len(episodes) < n_episodes:
                obs, info = env.reset()
                buffer = EpisodeBuffer(obs, frame(info))
    return episodes


def _autoreset_mode(env: gym.vector.VectorEnv) -> AutoresetMode:
    mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    mode = AutoresetMode(mode.value if isinstance(mode, AutoresetMode) else mode)
    if mode == AutoresetMode.DISABLED:
        raise ValueError(
            "collect_episodes needs a vector env that resets its sub-envs itself; this one has "
            "autoreset_mode=DISABLED. Create it with autoreset_mode NEXT_STEP (the default) or "
            "SAME_STEP, e.g. gym.make_vec(..., vector_kwargs={'autoreset_mode': "
            "gym.vector.AutoresetMode.NEXT_STEP})"
        )
    return mode


def _collect_vector(
    env: gym.vector.VectorEnv,
    policy_fn: PolicyFn,
    *,
    n_episodes: int,
    seed: int | None,
    bar: tqdm,
    perturb: Callable[[np.ndarray], np.ndarray],
) -> list[Episode]:
    mode = _autoreset_mode(env)
    n_envs = env.num_envs
    episodes: list[Episode] = []
    obs, _ = env.reset(seed=seed)
    buffers = [EpisodeBuffer(obs[i]) for i in range(n_envs)]
    # NEXT_STEP: a sub-env that finished on the previous step spends this step resetting.
    resetting = np.zeros(n_envs, dtype=bool)
    while len(episodes) < n_episodes:
        actions = _checked_actions(
            policy_fn(np.asarray(obs)), env.single_action_space, n_envs
        )  # (n_envs, *act_shape)
        obs, rewards, terminations, truncations, infos = env.step(perturb(actions))
        for i in range(n_envs):
            if resetting[i]:
                buffers[i] = EpisodeBuffer(obs[i])
                resetting[i] = False
                continue
            done = bool(terminations[i] or truncations[i])
            if done and mode == AutoresetMode.SAME_STEP:
                final_obs = infos["final_obs"][i]
            else:
                final_obs = obs[i]
            buffers[i].add(actions[i], float(rewards[i]), final_obs)
            if not done:
                continue
            if len(episodes) < n_episodes:
                episodes.append(
                    buffers[i].finish(
                        terminated=bool(terminations[i]), truncated=bool(truncations[i])
                    )
                )
                bar.update(1)
            if mode == AutoresetMode.SAME_STEP:
                buffers[i] = EpisodeBuffer(obs[i])
            else:
                resetting[i] = True
    return episodes
