"""Behavior cloning: fit the policy to expert (observation, action) pairs by maximum likelihood.

The loss of a minibatch is

    -mean log pi(a | s)  -  ent_weight * mean H(pi(. | s))  +  l2_weight * sum ||theta||^2 / 2

over the minibatch's expert pairs ``(s, a)``. The policy is an SB3 ``ActorCriticPolicy``:
a state-independent diagonal Gaussian for Box actions, a categorical for Discrete ones
(MultiDiscrete and MultiBinary work too); its value head is left untrained.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.policies import ActorCriticPolicy

from lhyrl.agents.base import ImitationAgent
from lhyrl.agents.trainer import Checkpoints
from lhyrl.data import Demonstrations, Transitions

__all__ = ["BC"]

_SQUASH_EPS = (
    1e-3  # keeps squashed targets off +-1 (atanh = inf), moving them by 0.05% of the range
)


class BC(ImitationAgent):
    """Behavior cloning over an SB3 ``ActorCriticPolicy``.

    ``learn(total)`` counts epochs over the demonstrations (see :meth:`train` for a budget
    in gradient steps).

    Args:
        observation_space: The (single-env) observation space.
        action_space: The (single-env) action space.
        demonstrations: Expert data to clone; can also be set later with
            :meth:`set_demonstrations`.
        batch_size: Minibatch size (capped at the dataset size). The defaults (64, Adam at
            1e-3, and ``lhyrl train``'s 60 epochs) were chosen on 20-episode demonstrations of
            Pendulum-v1 (seeds 100-102): 1.03-1.08 of the demonstrations' return (32 and 40
            epochs: 0.97-1.06; batch 256 and 40 epochs: 0.39-0.79 of the expert's).
        ent_weight: Weight of the entropy bonus.
        l2_weight: Weight of the L2 penalty on all policy parameters.
        policy: An existing policy to train (see :class:`ImitationAgent`).
        policy_kwargs: Keyword arguments for a new ``ActorCriticPolicy``.
        learning_rate: Constant learning rate.
        seed: Seed of the agent's generators (weight init, minibatch shuffling).
        device: ``auto|cpu|cuda|cuda:N|mps`` or a ``torch.device``.
        logger: An SB3 logger; ``None`` records nothing.

    Raises:
        DatasetMismatchError: If ``demonstrations`` are for other spaces.
        ValueError: If raw ``Transitions`` have the wrong shapes or values.
    """

    def __init__(
        self,
        *,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        demonstrations: Demonstrations | Transitions | None = None,
        batch_size: int = 64,
        ent_weight: float = 1e-3,
        l2_weight: float = 0.0,
        policy: ActorCriticPolicy | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        learning_rate: float = 1e-3,
        seed: int = 0,
        device: str | torch.device = "auto",
        logger: Logger | None = None,
    ) -> None:
        super().__init__(
            observation_space=observation_space,
            action_space=action_space,
            policy=policy,
            policy_kwargs=policy_kwargs,
            learning_rate=learning_rate,
            seed=seed,
            device=device,
            logger=logger,
        )
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.ent_weight = float(ent_weight)
        self.l2_weight = float(l2_weight)
        self._obs: torch.Tensor | None = None  # (N, *obs_shape), on the device
        self._acts: torch.Tensor | None = None  # (N, *act_shape) as the distribution takes them
        self._perm: torch.Tensor | None = None  # the current epoch's order of the N samples
        if isinstance(action_space, gym.spaces.Box):
            self._act_low = torch.as_tensor(action_space.low, dtype=torch.float32).flatten()
            self._act_high = torch.as_tensor(action_space.high, dtype=torch.float32).flatten()
        if demonstrations is not None:
            self.set_demonstrations(demonstrations)

    @property
    def n_samples(self) -> int:
        """The number of (observation, action) pairs being cloned; 0 before any are set."""
        return 0 if self._obs is None else len(self._obs)

    def set_demonstrations(self, demonstrations: Demonstrations | Transitions) -> None:
        """Replace the data to clone; it is moved to the device once, here.

        Args:
            demonstrations: ``Demonstrations`` (their spaces must equal the agent's) or raw
                ``Transitions`` (their shapes must fit the agent's spaces).

        Raises:
            DatasetMismatchError: If the demonstrations' spaces differ from the agent's.
            ValueError: If the transitions are empty or have the wrong shapes or values.
        """
        if isinstance(demonstrations, Demonstrations):
            demonstrations.check_compatible((self.observation_space, self.action_space))
            transitions = demonstrations.transitions()
        else:
            transitions = demonstrations
        obs, acts = self._check_transitions(transitions)
        self._obs = self._obs_tensor(obs)
        self._acts = self._act_tensor(acts)
        self._perm = None

    # --- data preparation ---------------------------------------------------------------

    def _check_transitions(self, transitions: Transitions) -> tuple[np.ndarray, np.ndarray]:
        obs, acts = np.asarray(transitions.obs), np.asarray(transitions.acts)
        if len(obs) == 0:
            raise ValueError("cannot clone an empty set of transitions")
        obs_shape = self.observation_space.shape
        if obs.shape[1:] != obs_shape:
            raise ValueError(
                f"transitions have observations of shape {obs.shape[1:]}; the agent's "
                f"observation space {self.observation_space} has shape {obs_shape}"
            )
        act_shape = self.action_space.shape
        if isinstance(self.action_space, gym.spaces.Discrete) and acts.shape[1:] == (1,):
            acts = acts.reshape(len(acts))
        if acts.shape[1:] != act_shape:
            raise ValueError(
                f"transitions have actions of shape {acts.shape[1:]}; the agent's action "
                f"space {self.action_space} has shape {act_shape}"
            )
        if isinstance(self.action_space, gym.spaces.Box):
            if not np.issubdtype(acts.dtype, np.number) or not np.isfinite(acts).all():
                raise ValueError("Box actions must be finite numbers")
        elif isinstance(
            self.action_space,
            gym.spaces.Discrete | gym.spaces.MultiDiscrete | gym.spaces.MultiBinary,
        ):
            if not np.array_equal(acts, np.round(acts)):
                raise ValueError(f"actions for {self.action_space} must be whole numbers")
            ints = acts.astype(np.int64)
            if isinstance(self.action_space, gym.spaces.MultiBinary):
                low, high = np.zeros(act_shape, np.int64), np.ones(act_shape, np.int64)
            elif isinstance(self.action_space, gym.spaces.Discrete):
                low = np.asarray(self.action_space.start)
                high = low + int(self.action_space.n) - 1
            else:
                low = self.action_space.start
                high = low + self.action_space.nvec - 1
            outside = ~((ints >= low) & (ints <= high)).reshape(len(ints), -1).all(axis=1)
            if outside.any():
                t = int(np.flatnonzero(outside)[0])
                raise ValueError(f"action {acts[t]} (step {t}) lies outside {self.action_space}")
        return obs, acts

    def _obs_tensor(self, obs: np.ndarray) -> torch.Tensor:
        if obs.dtype == np.float64:
            obs = obs.astype(np.float32)
        return torch.as_tensor(obs).to(self.device)  # SB3's preprocessing casts it per batch

    def _act_tensor(self, acts: np.ndarray) -> torch.Tensor:
        space = self.action_space
        if isinstance(space, gym.spaces.Discrete):
            return torch.as_tensor(acts, dtype=torch.long).to(self.device)  # (N,)
        if isinstance(space, gym.spaces.MultiDiscrete):
            return torch.as_tensor(acts, dtype=torch.long).to(self.device)  # (N, k)
        if isinstance(space, gym.spaces.MultiBinary):
            return torch.as_tensor(acts, dtype=torch.float32).to(self.device)  # (N, n)
        flat = torch.as_tensor(acts, dtype=torch.float32).reshape(len(acts), -1)  # (N, A)
        if self.policy.squash_output:
            # The squashed distribution lives in [-1, 1]; predict() unscales to [low, high].
            flat = 2.0 * (flat - self._act_low) / (self._act_high - self._act_low) - 1.0
            flat = flat.clamp(-1.0 + _SQUASH_EPS, 1.0 - _SQUASH_EPS)
        return flat.to(self.device)

    # --- training -----------------------------------------------------------------------

    def loss(self, obs: torch.Tensor, acts: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
        """The BC loss of one minibatch, and detached statistics to log.

        Args:
            obs: ``(B, *obs_shape)`` observations on the device.
            acts: ``(B, ...)`` expert actions as :meth:`set_demonstrations` stores them.

        Returns:
            The scalar loss and a dict of detached scalar tensors.
        """
        dist = self.policy.get_distribution(obs)
        log_prob = dist.log_prob(acts)  # (B,)
        entropy = dist.entropy()  # (B,), or None for a squashed Gaussian
        if entropy is None:
            entropy = -log_prob  # a one-sample estimate, as SB3's PPO uses
        neglogp = -log_prob.mean()
        ent = entropy.mean()
        l2 = torch.stack([p.pow(2).sum() for p in self.policy.parameters()]).sum()
        loss = neglogp - self.ent_weight * ent + self.l2_weight * l2 / 2
        stats: dict[str, Any] = {
            "loss": loss.detach(),
            "neglogp": neglogp.detach(),
            "entropy": ent.detach(),
            "l2_norm": l2.detach().sqrt(),
        }
        if isinstance(self.action_space, gym.spaces.Box):
            with torch.no_grad():
                mode = dist.mode().reshape(len(acts), -1)
                stats["action_mse"] = (mode - acts).pow(2).mean()
        else:
            stats["prob_true_act"] = log_prob.detach().exp().mean()
        return loss, stats

    def train(
        self,
        *,
        n_epochs: int | None = None,
        n_batches: int | None = None,
        log_every: int = 100,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1,
    ) -> None:
        """Minimize the BC loss over the demonstrations.

        Each epoch visits the data in a fresh order drawn from the agent's torch generator,
        in ``max(1, N // batch_size)`` minibatches (the remainder is left out that epoch).
        After :meth:`resume`, the budget counts the whole run: ``train(n_epochs=4)`` resumed
        from a checkpoint after epoch 2 trains epochs 3 and 4 only.

        Args:
            n_epochs: Passes over the data. Exactly one of ``n_epochs``/``n_batches``.
            n_batches: Gradient steps, running through as many epochs as needed.
            log_every: Log means of ``train/*`` over windows of this many gradient steps,
                counted over the run (a resumed run logs at the same steps).
            checkpoint_dir: If given, checkpoints go there every ``checkpoint_every`` epochs
                and at the end.
            checkpoint_every: Epochs between checkpoints.

        Raises:
            ValueError: If not exactly one budget is given or a budget is negative.
            RuntimeError: If no demonstrations are set.
        """
        if (n_epochs is None) == (n_batches is None):
            raise ValueError("give exactly one of n_epochs and n_batches")
        budget = n_epochs if n_epochs is not None else n_batches
        assert budget is not None
        if budget < 0 or log_every < 1 or checkpoint_every < 1:
            raise ValueError("budgets must be >= 0, log_every and checkpoint_every >= 1")
        if self._obs is None or self._acts is None:
            raise RuntimeError(
                "no demonstrations to clone: pass demonstrations= or call set_demonstrations"
            )
        obs, acts = self._obs, self._acts
        n = len(obs)
        batch_size = min(self.batch_size, n)
        batches_per_epoch = max(1, n // batch_size)
        total = n_epochs * batches_per_epoch if n_epochs is not None else int(budget)

        # epoch: epochs completed; batch: steps taken in this run; pos: step within the epoch.
        progress = self._begin_progress(epoch=0, batch=0, pos=0)
        if progress["pos"] == 0:
            self._perm = None
        sums: dict[str, torch.Tensor] = {}
        n_summed = 0
        self.policy.set_training_mode(True)
        try:
            while progress["batch"] < total:
                if self._perm is None:
                    self._perm = torch.randperm(n, generator=self.torch_rng).to(self.device)
                start = progress["pos"] * batch_size
                idx = self._perm[start : start + batch_size]  # (B,)
                loss, stats = self.loss(obs[idx], acts[idx])
                self.policy.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.policy.optimizer.step()
                self.num_updates += 1
                progress["batch"] += 1
                progress["pos"] += 1
                for key, value in stats.items():
                    sums[key] = sums[key] + value if key in sums else value
                n_summed += 1
                if progress["pos"] == batches_per_epoch:
                    progress["epoch"] += 1
                    progress["pos"] = 0
                    self._perm = None
                    if checkpoint_dir is not None and progress["epoch"] % checkpoint_every == 0:
                        self.save_checkpoint(checkpoint_dir)
                # Windows aligned on the run's batch count, so a resumed run logs the same rows.
                if progress["batch"] % log_every == 0 or progress["batch"] == total:
                    self._log(
                        sums, n_summed, progress["epoch"] + progress["pos"] / batches_per_epoch
                    )
                    sums, n_summed = {}, 0
                if progress["pos"] == 0:
                    self._unit_done(progress["epoch"])
        finally:
            self.policy.set_training_mode(False)
        if checkpoint_dir is not None:
            self.save_checkpoint(checkpoint_dir)

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        self.train(n_epochs=total, **checkpoints)

    def _learn_progress(self) -> int:
        return self._progress.get("epoch", 0)

    def _log(self, sums: dict[str, torch.Tensor], count: int, epoch: float) -> None:
        for key, total in sums.items():
            self.logger.record(f"train/{key}", float(total) / count)
        self.logger.record("train/epoch", epoch)
        self.logger.dump(step=self.num_updates)

    # --- hooks --------------------------------------------------------------------------

    def _agent_kwargs(self) -> dict[str, Any]:
        return {
            **super()._agent_kwargs(),
            "batch_size": self.batch_size,
            "ent_weight": self.ent_weight,
            "l2_weight": self.l2_weight,
        }

    def _checkpoint_extra(self, directory: Path) -> dict[str, Any]:
        # Mid-epoch (only at the end of an n_batches run), keep the epoch's order of samples.
        perm = self._perm.cpu() if self._perm is not None else None
        return {"perm": perm, "n_samples": self.n_samples}

    def _restore_checkpoint_extra(self, extra: Mapping[str, Any], directory: Path) -> None:
        if extra["perm"] is not None and int(extra["n_samples"]) != self.n_samples:
            raise ValueError(
                f"the checkpoint was written mid-epoch over {int(extra['n_samples'])} samples, "
                f"but this agent has {self.n_samples}; set the same demonstrations first"
            )
        self._perm = extra["perm"].to(self.device) if extra["perm"] is not None else None
