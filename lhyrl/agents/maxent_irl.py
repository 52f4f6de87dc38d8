"""Maximum-entropy inverse RL on a tabular MDP (Ziebart et al. 2008), linear or deep reward.

Given the MDP's dynamics and state features, MaxEnt IRL looks for the reward under which the
demonstrations are most likely, modelling the demonstrator as soft-optimal:
``pi(a | s) = exp(Q(s, a) - V(s))`` with soft (log-sum-exp) values. The gradient of the
demonstrations' log-likelihood with respect to the reward of state ``s`` is

    mu_D(s) - E_pi[mu(s)]

the demonstrations' visit count of ``s`` per episode minus the soft-optimal policy's expected
one. Each iteration runs

1. the backward pass: the soft-optimal policy under the current reward (soft policy
   iteration, warm-started from the previous policy; the same policy as soft value iteration);
2. the forward pass: its expected state visitation frequencies over episodes as long as the
   demonstrations' (:func:`~lhyrl.rewards.tabular.state_visitation_frequencies`);
3. one Adam step on the reward's parameters, back-propagating that gradient (divided by the
   episode length, i.e. per step) through the reward: for a linear reward
   ``r = features @ theta`` the step follows the feature-expectation gap
   ``features.T @ (mu_D - E[mu])``; for a deep reward (Wulfmeier et al. 2015) the gradient
   goes through an MLP over the features.

An L2 penalty on the reward *values* (``l2_weight * mean_s r(s)^2 / 2``) keeps the reward
finite: without it, states the demonstrations never visit are pushed towards ``-inf`` and
Adam, whose steps do not shrink with the gradient, lets a deep reward grow without bound.

Planning is discounted with the MDP's ``gamma`` (the soft policy is stationary); the reward of
a state is received on arriving in it, so visit counts cover the states an episode arrives in,
``obs[1:]`` (see :mod:`lhyrl.rewards.tabular`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.logger import Logger

from lhyrl.agents.base import FORMAT_VERSION, _check_header, _load_state_dict, _read_file
from lhyrl.agents.checkpoint import atomic_write
from lhyrl.agents.trainer import Checkpoints, Trainer
from lhyrl.data import Demonstrations, Episode
from lhyrl.rewards.tabular import (
    FEATURE_REWARD_KINDS,
    check_transition_matrix,
    make_feature_reward,
    optimal_policy,
    soft_policy_iteration,
    state_visitation_frequencies,
)

__all__ = ["DEFAULT_LEARNING_RATES", "MDP_ATTRIBUTES", "MaxEntIRL"]

MDP_ATTRIBUTES = ("transition_matrix", "feature_matrix", "initial_state_distribution", "gamma")
"""The attributes :meth:`MaxEntIRL.from_env` reads from an env."""

DEFAULT_LEARNING_RATES = {"linear": 0.1, "deep": 0.01}
"""Adam's learning rate for each kind of reward when none is given."""

_FILE_KEYS = ("reward_state_dict", "agent_kwargs", "mdp")

AgentT = TypeVar("AgentT", bound="MaxEntIRL")


class MaxEntIRL(Trainer):
    """MaxEnt inverse RL with a linear or an MLP reward over state features.

    ``learn(total)`` counts iterations (gradient steps of the reward) on the
    ``demonstrations`` given to the constructor.

    Args:
        transition_matrix: ``(S, A, S)`` next-state probabilities.
        feature_matrix: ``(S, F)`` features of each state.
        gamma: Discount factor of the soft planner, in ``[0, 1)``.
        initial_state_distribution: ``(S,)`` distribution of the first state, used by the
            forward pass; ``None`` uses the demonstrations' own first states instead.
        reward: ``"linear"`` (Ziebart et al. 2008) or ``"deep"`` (an MLP, Wulfmeier et al.).
        hidden_sizes: Hidden widths of the ``"deep"`` reward.
        learning_rate: Adam's learning rate; ``None`` takes 0.1 for ``"linear"`` and 0.01 for
            ``"deep"`` (:data:`DEFAULT_LEARNING_RATES`).
        l2_weight: Weight of the penalty ``mean_s r(s)^2 / 2`` on the reward values.
        demonstrations: The expert's episodes, for :meth:`learn` (``train`` takes them as
            its argument instead).
        seed: Seeds the reward's initialization (and nothing else is random).
        logger: An SB3 logger; ``None`` records nothing. Keys are ``train/*``.

    Raises:
        ValueError: For malformed arrays, an unknown ``reward``, or bad hyperparameters.
    """

    learn_unit = "iterations"

    def __init__(
        self,
        *,
        transition_matrix: np.ndarray,
        feature_matrix: np.ndarray,
        gamma: float = 0.99,
        initial_state_distribution: np.ndarray | None = None,
        reward: str = "linear",
        hidden_sizes: Sequence[int] = (32, 32),
        learning_rate: float | None = None,
        l2_weight: float = 0.01,
        demonstrations: Demonstrations | Sequence[Episode] | None = None,
        seed: int = 0,
        logger: Logger | None = None,
    ) -> None:
        super().__init__(seed=seed, device="cpu", logger=logger)
        self.demonstrations = demonstrations
        self.transition_matrix = check_transition_matrix(transition_matrix)
        n_states, self.n_actions, _ = self.transition_matrix.shape
        features = np.asarray(feature_matrix, dtype=np.float64)
        if features.ndim != 2 or features.shape[0] != n_states or features.shape[1] < 1:
            raise ValueError(
                f"feature_matrix must have shape ({n_states}, F) to match the transition "
                f"matrix's {n_states} states, got {features.shape}"
            )
        if not np.all(np.isfinite(features)):
            raise ValueError("feature_matrix must be finite")
        self.feature_matrix = features
        if not 0.0 <= gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {gamma}")
        self.gamma = float(gamma)
        if initial_state_distribution is not None:
            p0 = np.asarray(initial_state_distribution, dtype=np.float64)
            if p0.shape != (n_states,) or np.any(p0 < 0) or abs(p0.sum() - 1.0) > 1e-6:
                raise ValueError(
                    f"initial_state_distribution must be ({n_states},) probabilities summing "
                    f"to 1, got shape {p0.shape}"
                )
            initial_state_distribution = p0
        self.initial_state_distribution = initial_state_distribution
        if reward not in FEATURE_REWARD_KINDS:
            raise ValueError(f"reward must be one of {FEATURE_REWARD_KINDS}, got {reward!r}")
        if learning_rate is None:
            learning_rate = DEFAULT_LEARNING_RATES[reward]
        if learning_rate <= 0 or l2_weight < 0:
            raise ValueError(
                f"learning_rate must be > 0 and l2_weight >= 0, got {learning_rate}, {l2_weight}"
            )
        self.reward_kind = reward
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.learning_rate = float(learning_rate)
        self.l2_weight = float(l2_weight)

        self.reward_net = make_feature_reward(
            reward, features.shape[1], hidden_sizes=self.hidden_sizes, seed=self.seed
        )
        self.optimizer = torch.optim.Adam(self.reward_net.parameters(), lr=self.learning_rate)
        self._features = torch.as_tensor(features)  # (S, F) float64
        self._soft_policy: np.ndarray | None = None  # warm start of the backward pass
        self._policy: np.ndarray | None = None
        self._target = 0
        self._resume_target: int | None = None

    @property
    def n_states(self) -> int:
        """``S``, the number of states."""
        return int(self.transition_matrix.shape[0])

    @classmethod
    def from_env(
        cls: type[AgentT],
        env: gym.Env[Any, Any] | gym.vector.VectorEnv[Any, Any, Any],
        **kwargs: Any,
    ) -> AgentT:
        """An agent for the MDP an env exposes as the attributes in :data:`MDP_ATTRIBUTES`.

        Args:
            env: A (wrapped) env, or a vector env whose sub-envs expose them.
            **kwargs: The other constructor arguments (``reward``, ``learning_rate``, ...).

        Raises:
            TypeError: If the env lacks one of the attributes.
        """
        mdp: dict[str, Any] = {}
        for name in MDP_ATTRIBUTES:
            try:
                if isinstance(env, gym.vector.VectorEnv):
                    mdp[name] = env.get_attr(name)[0]  # type: ignore[attr-defined]
                else:
                    mdp[name] = getattr(env.unwrapped, name)
            except AttributeError as err:
                raise TypeError(
                    f"MaxEntIRL needs a tabular env exposing {MDP_ATTRIBUTES}; "
                    f"{type(env.unwrapped).__name__} lacks `{name}`"
                ) from err
        return cls(**mdp, **kwargs)

    # --- the learned reward and its policies --------------------------------------------

    def reward(self) -> np.ndarray:
        """The recovered reward ``(S,)`` (float64), received on arriving in each state."""
        with torch.no_grad():
            return self.reward_net(self._features).numpy().copy()

    def soft_policy(self) -> np.ndarray:
        """The soft-optimal (MaxEnt) policy under the recovered reward, ``(S, A)``."""
        _, policy = soft_policy_iteration(
            self.transition_matrix, self._checked_reward(), gamma=self.gamma
        )
        return policy

    def policy(self) -> np.ndarray:
        """The optimal deterministic policy under the recovered reward, ``(S,)`` actions."""
        if self._policy is None:
            self._policy = optimal_policy(
                self.transition_matrix, self._checked_reward(), gamma=self.gamma
            )
        return self._policy

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Actions ``(B,)`` of :meth:`policy` for state indices ``(B,)``: a ``PolicyLike``."""
        states = np.asarray(obs)
        if states.dtype.kind not in "iu" or np.any((states < 0) | (states >= self.n_states)):
            raise ValueError(f"expected integer state indices in [0, {self.n_states}), got {obs!r}")
        return self.policy()[states]

    def _checked_reward(self, reward: np.ndarray | None = None) -> np.ndarray:
        """``reward`` (by default the current one), after checking that it is finite."""
        reward = self.reward() if reward is None else reward
        if not np.all(np.isfinite(reward)):
            raise FloatingPointError(
                f"the learned reward has NaN or inf entries after {self.num_updates} updates; "
                "lower learning_rate or raise l2_weight"
            )
        return reward

    # --- training -------------------------------------------------------------------------

    def train(
        self,
        demonstrations: Demonstrations | Sequence[Episode],
        *,
        n_iterations: int,
        log_every: int = 1,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 50,
    ) -> None:
        """Run ``n_iterations`` MaxEnt IRL gradient steps on the demonstrations.

        Logged every ``log_every`` steps: ``train/loss`` (the demonstrations' mean negative
        log-likelihood per step under the soft policy), ``train/feature_gap`` (the L1 norm of
        the feature-expectation gap per episode, ``|features.T @ (mu_D - E[mu])|_1``),
        ``train/visitation_gap`` (``|mu_D - E[mu]|_1``) and ``train/reward_std``.

        Args:
            demonstrations: ``Demonstrations`` with ``Discrete`` spaces of the MDP's sizes, or
                episodes whose observations are state indices and actions action indices.
            n_iterations: Gradient steps, at least 0. After :meth:`resume`, the same call
                does only the steps the interrupted run had left.
            log_every: Steps between logged records.
            checkpoint_dir: Where to write a checkpoint every ``checkpoint_every`` steps and
                at the end (atomically); ``None`` writes none.
            checkpoint_every: Steps between checkpoints.

        Raises:
            ValueError: If the demonstrations do not fit the MDP.
            FloatingPointError: If the reward becomes NaN or infinite.
        """
        if n_iterations < 0 or log_every < 1:
            raise ValueError(
                f"need n_iterations >= 0 and log_every >= 1, got {n_iterations}, {log_every}"
            )
        stats = self._demonstration_statistics(demonstrations)
        expert_visits, survival, p0, states, actions = stats
        horizon = len(survival)
        gap_weights = torch.as_tensor(expert_visits)
        steps_per_episode = float(survival.sum())
        target = self.num_updates + n_iterations
        if self._resume_target is not None:
            target, self._resume_target = self._resume_target, None
        self._target = target
        while self.num_updates < target:
            reward = self.reward_net(self._features)  # (S,)
            reward_np = self._checked_reward(reward.detach().numpy().copy())
            _, policy = soft_policy_iteration(
                self.transition_matrix,
                reward_np,
                gamma=self.gamma,
                initial_policy=self._soft_policy,
            )
            self._soft_policy = policy
            visits = state_visitation_frequencies(
                self.transition_matrix, policy, p0, horizon=horizon, survival=survival
            )
            gap = gap_weights - torch.as_tensor(visits)  # d log-likelihood / d reward, (S,)
            # Per step (not per episode), so that l2_weight's meaning does not depend on length.
            objective = -(gap * reward).sum() / steps_per_episode
            if self.l2_weight:
                objective = objective + 0.5 * self.l2_weight * (reward**2).mean()
            self.optimizer.zero_grad(set_to_none=True)
            objective.backward()
            self.optimizer.step()
            self.num_updates += 1
            self._policy = None
            if self.num_updates % log_every == 0:
                nll = -np.mean(np.log(policy[states, actions] + 1e-300))
                gap_np = gap.numpy()
                self.logger.record("train/loss", float(nll))
                self.logger.record(
                    "train/feature_gap", float(np.abs(self.feature_matrix.T @ gap_np).sum())
                )
                self.logger.record("train/visitation_gap", float(np.abs(gap_np).sum()))
                self.logger.record("train/reward_std", float(reward_np.std()))
                self.logger.dump(step=self.num_updates)
            if checkpoint_dir is not None and (
                self.num_updates % checkpoint_every == 0 or self.num_updates == target
            ):
                self.save_checkpoint(checkpoint_dir)
            self._unit_done()
        self._checked_reward()

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        if self.demonstrations is None:
            raise RuntimeError("MaxEntIRL.learn needs demonstrations= at construction")
        self.train(
            self.demonstrations,
            n_iterations=max(0, total - self.num_updates),
            **checkpoints,
        )

    def _checkpoint_state(self, directory: Path) -> dict[str, Any]:
        """The reward, its optimizer, the step counters and the planner's warm start."""
        return {
            "reward_state_dict": {
                k: v.detach().clone() for k, v in self.reward_net.state_dict().items()
            },
            "optimizer_state_dict": self.optimizer.state_dict(),
            "num_updates": self.num_updates,
            "target": self._target,
            "soft_policy": None
            if self._soft_policy is None
            else torch.as_tensor(self._soft_policy),
        }

    def _restore_checkpoint_state(
        self, state: Mapping[str, Any], directory: Path, path: Path
    ) -> None:
        _load_state_dict(self.reward_net, state["reward_state_dict"], path)
        self.optimizer.load_state_dict(state["optimizer_state_dict"])
        self.num_updates = int(state["num_updates"])
        self._resume_target = int(state["target"])
        policy = state["soft_policy"]
        self._soft_policy = None if policy is None else policy.numpy()
        self._policy = None

    def _demonstration_statistics(
        self, demonstrations: Demonstrations | Sequence[Episode]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Visit counts per episode, step survival, first-state distribution, (s, a) pairs."""
        if isinstance(demonstrations, Demonstrations):
            obs_space, act_space = demonstrations.observation_space, demonstrations.action_space
            expected = (gym.spaces.Discrete(self.n_states), gym.spaces.Discrete(self.n_actions))
            if (obs_space, act_space) != expected:
                raise ValueError(
                    f"MaxEnt IRL needs demonstrations in the MDP's spaces {expected[0]} "
                    f"(observations: state indices) and {expected[1]}; got {obs_space} and "
                    f"{act_space}"
                )
            episodes: Sequence[Episode] = demonstrations.episodes
        else:
            episodes = demonstrations
        if len(episodes) == 0:
            raise ValueError("MaxEnt IRL needs at least one demonstration episode")
        visits = np.zeros(self.n_states)
        first = np.zeros(self.n_states)
        lengths = []
        states, actions = [], []
        for i, ep in enumerate(episodes):
            if not isinstance(ep, Episode):
                raise ValueError(f"demonstration {i} is a {type(ep).__name__}, not an Episode")
            obs = _indices(ep.obs, self.n_states, f"episode {i}'s observations", "state")
            acts = _indices(ep.acts, self.n_actions, f"episode {i}'s actions", "action")
            if len(acts) == 0:
                raise ValueError(f"demonstration episode {i} has no steps")
            np.add.at(visits, obs[1:], 1.0)
            first[obs[0]] += 1.0
            lengths.append(len(acts))
            states.append(obs[:-1])
            actions.append(acts)
        n = len(episodes)
        lengths_arr = np.asarray(lengths)
        survival = (lengths_arr[None, :] >= np.arange(1, lengths_arr.max() + 1)[:, None]).mean(1)
        p0 = self.initial_state_distribution
        if p0 is None:
            p0 = first / n
        return visits / n, survival, p0, np.concatenate(states), np.concatenate(actions)

    # --- files ----------------------------------------------------------------------------

    def _agent_kwargs(self) -> dict[str, Any]:
        return {
            "gamma": self.gamma,
            "reward": self.reward_kind,
            "hidden_sizes": list(self.hidden_sizes),
            "learning_rate": self.learning_rate,
            "l2_weight": self.l2_weight,
            "seed": self.seed,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the MDP, the learned reward and the hyperparameters to one file, atomically.

        Args:
            path: The file to write (conventionally ``*.pt``).

        Returns:
            The path written.
        """
        p0 = self.initial_state_distribution
        data = {
            "format_version": FORMAT_VERSION,
            "agent_class": type(self).__name__,
            "reward_state_dict": {
                k: v.detach().clone() for k, v in self.reward_net.state_dict().items()
            },
            "agent_kwargs": self._agent_kwargs(),
            "mdp": {
                "transition_matrix": torch.as_tensor(self.transition_matrix),
                "feature_matrix": torch.as_tensor(self.feature_matrix),
                "initial_state_distribution": None if p0 is None else torch.as_tensor(p0),
            },
        }
        return atomic_write(path, lambda tmp: torch.save(data, tmp))

    @classmethod
    def load(cls: type[AgentT], path: str | os.PathLike[str]) -> AgentT:
        """Rebuild an agent (MDP and learned reward) from a file written by :meth:`save`.

        Raises:
            ValueError: If the file is not a readable MaxEntIRL file, is of another format
                version or agent class, or its reward does not fit its hyperparameters.
        """
        data = _read_file(path, ("format_version", "agent_class"), what="agent file")
        _check_header(data, cls.__name__, path)
        missing = [key for key in _FILE_KEYS if key not in data]
        if missing:
            raise ValueError(f"{path} is not a MaxEntIRL agent file: it lacks {missing}")
        mdp: dict[str, Any] = {
            key: None if value is None else value.numpy() for key, value in data["mdp"].items()
        }
        agent = cls(**mdp, **data["agent_kwargs"])
        _load_state_dict(agent.reward_net, data["reward_state_dict"], path)
        return agent


def _indices(values: np.ndarray, n: int, what: str, kind: str) -> np.ndarray:
    """Check that ``values`` are ``(T,)`` integer indices in ``[0, n)``; return them as int64."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValueError(
            f"{what} must be {kind} indices of shape (T,) and integer dtype (a Discrete space); "
            f"got shape {arr.shape} and dtype {arr.dtype}"
        )
    if np.any((arr < 0) | (arr >= n)):
        raise ValueError(f"{what} must be {kind} indices in [0, {n}), got values outside")
    return arr.astype(np.int64)
