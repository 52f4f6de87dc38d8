"""The adversarial imitation loop shared by GAIL and AIRL.

Seen from the side, inverse RL is a GAN: the discriminator (a :class:`~lhyrl.rewards.RewardNet`)
learns to tell expert transitions from the generator's, and the generator, an SB3 algorithm,
does RL on a reward computed from the discriminator. :class:`AdversarialTrainer` owns that
loop; :class:`~lhyrl.agents.GAIL` and :class:`~lhyrl.agents.AIRL` define only the
discriminator's logit and the generator's reward.

One round of :meth:`AdversarialTrainer.train`:

1. the generator collects ``gen_train_timesteps`` env steps through a
   :class:`~lhyrl.rewards.RewardVecEnvWrapper` (reward = the current learned reward, the true
   reward kept in ``info``) and takes its RL update (``gen_algo.learn``);
2. the discriminator takes ``n_disc_updates_per_round`` gradient steps, each on
   ``demo_batch_size`` expert transitions against as many of the round's generated ones.

The discriminator side is a :class:`~lhyrl.nn.gan.DiscriminatorEnsemble`, as in SeqGAN and
REGS: its objective (``disc_loss``) comes from the registry of :mod:`lhyrl.nn.gan.objectives`,
which also turns its output into the generator's reward, and the remedies for a discriminator
that wins too fast are constructor arguments shared with them: a gradient penalty, one-sided
label smoothing, input noise that decays linearly to zero over the run, spectral
normalisation, replay of past generated transitions and an ensemble of bootstrapped
discriminators.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize
from torch import Tensor

from lhyrl.agents.base import ImitationAgent, record_eval
from lhyrl.agents.checkpoint import atomic_write, numpy_rng_from_tensor, numpy_rng_to_tensor
from lhyrl.agents.trainer import CHECKPOINT_FILE, Checkpoints, Trainer
from lhyrl.data import Demonstrations, Transitions
from lhyrl.metrics import EvalResult, evaluate_policy
from lhyrl.nn.gan import (
    Batch,
    DiscriminatorEnsemble,
    DiscriminatorObjective,
    DiscriminatorRemedies,
    apply_spectral_norm,
    objective_names,
)
from lhyrl.rewards.learned import RewardNet, RewardVecEnvWrapper, save_reward_net

__all__ = [
    "CHECKPOINT_FILE",
    "DISC_LOSSES",
    "GENERATOR_DEFAULTS",
    "GENERATOR_NET_ARCH",
    "AdversarialTrainer",
    "ExpertTransitions",
]

DISC_LOSSES: tuple[str, ...] = objective_names(aliases=True)
"""The discriminator objectives of :mod:`lhyrl.nn.gan.objectives` (names and aliases)."""


GENERATOR_DEFAULTS: dict[str, Any] = {
    "n_steps": 256,
    "batch_size": 64,
    "learning_rate": 3e-4,
    "ent_coef": 0.0,
    "gamma": 0.99,
}
"""The PPO generator's settings where ``gen_kwargs`` leaves them out: ``lhyrl train``'s
defaults of ``gen_n_steps``, ``gen_batch_size``, ``gen_learning_rate``, ``gen_ent_coef`` and
``gen_gamma`` (with 8 envs, a round is 2,048 env steps, as PPO's own 2,048-step rollout)."""

GENERATOR_NET_ARCH: tuple[int, ...] = (64, 64)
"""The PPO generator's hidden layers where ``gen_kwargs`` gives no ``policy_kwargs`` (and no
warm start does), and ``lhyrl train``'s for GAIL/AIRL when ``net_arch`` is not set: SB3's own
PPO default. Against 256-256 it reached 0.95 of the expert in 0.80-1.09x the env steps at
0.57-0.74x the CPU time on CartPole-v1 and Pendulum-v1 (tuning seed 10,
``benchmarks/results/imitation_speed_settings.md``). The shipped MuJoCo, driving and
third-person presets keep the 256-256 their results were measured with."""


class ExpertTransitions:
    """Expert transitions as arrays: ``obs``, ``acts``, ``next_obs`` and ``terminal``.

    ``terminal`` is true only where an episode ended in a terminal state (not on time-limit
    truncation), which AIRL's shaping term needs.

    Args:
        demonstrations: Episodes (``terminated`` decides ``terminal``) or flat transitions
            (their ``dones`` are taken as terminal).
    """

    def __init__(self, demonstrations: Demonstrations | Transitions) -> None:
        if isinstance(demonstrations, Demonstrations):
            flat = demonstrations.transitions()
            terminal = np.concatenate(
                [
                    np.arange(len(ep)) == len(ep) - 1 if ep.terminated else np.zeros(len(ep), bool)
                    for ep in demonstrations.episodes
                ]
            )
            self.observation_space: gym.Space[Any] | None = demonstrations.observation_space
            self.action_space: gym.Space[Any] | None = demonstrations.action_space
        elif isinstance(demonstrations, Transitions):
            flat, terminal = demonstrations, np.asarray(demonstrations.dones, dtype=bool)
            self.observation_space = self.action_space = None
        else:
            raise TypeError(
                "demonstrations must be lhyrl.data.Demonstrations or Transitions; got "
                f"{type(demonstrations).__name__}"
            )
        if len(flat) == 0:
            raise ValueError("the demonstrations hold no transitions")
        self.obs, self.acts, self.next_obs = flat.obs, flat.acts, flat.next_obs
        self.terminal = terminal.astype(bool)

    def __len__(self) -> int:
        return len(self.obs)


class _GeneratedBuffer:
    """A ring buffer of the generator's most recent transitions."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.size = 0

    def add(
        self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, term: np.ndarray
    ) -> None:
        self.parts.append((obs.copy(), acts.copy(), next_obs.copy(), term.copy()))
        self.size += len(obs)
        while self.size - len(self.parts[0][0]) >= self.capacity:
            self.size -= len(self.parts.pop(0)[0])

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(
            np.concatenate(column)[-self.capacity :] for column in zip(*self.parts, strict=True)
        )


class AdversarialTrainer(Trainer):
    """Base of GAIL and AIRL: alternates generator RL with discriminator updates.

    ``learn(total)`` counts the generator's env steps (rounded up to whole rounds of
    ``gen_train_timesteps``); ``checkpoint_every`` counts rounds.

    Args:
        demonstrations: Expert episodes or transitions, in the env's spaces.
        venv: The env the generator acts in: an SB3 ``VecEnv`` (e.g. from ``make_vec_env``)
            or a single Gymnasium env (wrapped in a ``Monitor`` and a ``DummyVecEnv``).
        reward_net: The discriminator's reward network, or a function that builds it (called
            after seeding, so that its initial weights follow ``seed``; once per member of an
            ensemble, which needs a function). Its output kind (logit, or an auto-encoder's
            energy) must be the one ``disc_loss`` reads.
        gen_algo: An SB3 algorithm built on ``venv`` (any algorithm; AIRL needs a policy with
            action log-probabilities). ``None`` builds a PPO with ``gen_kwargs``.
        gen_kwargs: Keyword arguments of that PPO (``n_steps``, ``batch_size``, ...), over
            :data:`GENERATOR_DEFAULTS` and a :data:`GENERATOR_NET_ARCH` network (the defaults
            of ``lhyrl train``'s ``gen_*`` and ``net_arch`` keys).
        gen_train_timesteps: Env steps of generator RL per round; ``None`` takes PPO's
            ``n_steps * n_envs`` (one rollout per round), or 2048 for other algorithms.
        warm_start: A trained BC agent or ``ActorCriticPolicy`` whose weights start the
            generator's policy (``gen_algo`` must be None or have the same architecture).
        demo_batch_size: Expert transitions per discriminator step (as many generated ones).
        n_disc_updates_per_round: Discriminator steps per round.
        disc_lr: Adam learning rate of the discriminator.
        disc_loss: The discriminator objective, a name of
            :func:`lhyrl.nn.gan.objective_names`: ``"bce"`` (the standard GAN loss; reward
            ``-log(1 - D)``), ``"lsgan"``, ``"wgan-gp"`` (alias ``"wgan"``), ``"hinge"``,
            ``"ebgan"`` or ``"magan"`` (these two read an auto-encoder's energy).
        grad_penalty: Weight of a gradient penalty on inputs interpolated between expert and
            generated transitions; ``None`` for the objective's default (10 for ``wgan-gp``,
            else 0).
        label_smoothing: Expert labels become ``1 - label_smoothing`` (``"bce"`` and
            ``"lsgan"`` only).
        input_noise: Std of Gaussian noise added to the discriminator's (normalized) inputs,
            decaying linearly to 0 over the run; 0 disables it.
        spectral_norm: Spectral normalisation of every linear layer of the discriminator(s).
        replay_ratio: Share of each batch of generated transitions drawn from a reservoir of
            those of earlier rounds (0: no replay; see :class:`~lhyrl.nn.gan.SampleReplay`).
        replay_capacity: Transitions the reservoir holds.
        ensemble_size: Discriminators, each trained on its own bootstrap resample of each
            batch; the reward combines theirs by ``ensemble_reward`` (``"mean"`` or
            ``"min"``). :attr:`reward_net` is the first.
        ensemble_reward: ``"mean"`` or ``"min"`` of the members' rewards.
        gen_replay_rounds: The discriminator draws generated transitions from this many of
            the latest rounds.
        normalize_reward: Scale the generator's learned reward by the running std of its
            discounted return (SB3's ``VecNormalize`` with ``norm_obs=False``; the mean is not
            subtracted, so the sign of the reward, and with it a survival incentive, is kept).
        gen_warmup_rounds: Rounds at the start in which only the generator's value function
            learns, its policy frozen: after a BC warm start, a fresh critic would otherwise
            pull the good policy apart before it can judge it (needs an ``ActorCriticPolicy``).
        seed: Seeds torch, numpy, the generator and the env.
        device: ``auto|cpu|cuda|cuda:N|mps``: the discriminator's device (the generator
            keeps its own).
        logger: An SB3 logger shared by the generator and the discriminator; ``None`` records
            nothing. Keys: ``train/disc_*``, ``rollout/learned_reward_mean``,
            ``rollout/true_return`` (plus the generator's own ``train/*``, ``rollout/*``).

    Raises:
        ValueError: For an unknown ``disc_loss`` (listing the valid ones), a remedy the
            objective does not take (label smoothing without labels), or a discriminator whose
            output kind the objective does not read.
    """

    learn_unit = "env steps"

    def __init__(
        self,
        *,
        demonstrations: Demonstrations | Transitions,
        venv: VecEnv | gym.Env[Any, Any],
        reward_net: RewardNet | Callable[[], RewardNet],
        gen_algo: BaseAlgorithm | None = None,
        gen_kwargs: Mapping[str, Any] | None = None,
        gen_train_timesteps: int | None = None,
        warm_start: ImitationAgent | ActorCriticPolicy | None = None,
        demo_batch_size: int = 256,
        n_disc_updates_per_round: int = 4,
        disc_lr: float = 3e-4,
        disc_loss: str = "bce",
        grad_penalty: float | None = None,
        label_smoothing: float = 0.0,
        input_noise: float = 0.0,
        spectral_norm: bool = False,
        replay_ratio: float = 0.0,
        replay_capacity: int = 10_000,
        ensemble_size: int = 1,
        ensemble_reward: Literal["mean", "min"] = "mean",
        gen_replay_rounds: int = 1,
        normalize_reward: bool = False,
        gen_warmup_rounds: int = 0,
        seed: int = 0,
        device: str | torch.device = "auto",
        logger: Logger | None = None,
    ) -> None:
        remedies = DiscriminatorRemedies(
            grad_penalty=grad_penalty,
            label_smoothing=label_smoothing,
            input_noise=input_noise,
            spectral_norm=spectral_norm,
            replay_ratio=replay_ratio,
            replay_capacity=replay_capacity,
            ensemble_size=ensemble_size,
            ensemble_reward=ensemble_reward,
        )
        objective = self._make_objective(disc_loss, remedies)
        if gen_warmup_rounds < 0:
            raise ValueError(f"gen_warmup_rounds must be >= 0; got {gen_warmup_rounds}")
        if demo_batch_size < 1 or n_disc_updates_per_round < 0 or gen_replay_rounds < 1:
            raise ValueError(
                "demo_batch_size and gen_replay_rounds must be >= 1 and "
                "n_disc_updates_per_round >= 0"
            )
        super().__init__(seed=seed, device=device, logger=logger)
        set_random_seed(self.seed)
        self.np_rng = np.random.default_rng(self.seed)
        self.torch_rng = torch.Generator().manual_seed(self.seed)

        members = self._build_reward_nets(reward_net, remedies)
        self.expert = ExpertTransitions(demonstrations)
        self.venv = venv if isinstance(venv, VecEnv) else DummyVecEnv([lambda: Monitor(venv)])
        self.venv.seed(self.seed)
        self._check_demonstrations(demonstrations)
        first = members[0]
        if (
            first.observation_space != self.venv.observation_space
            or first.action_space != self.venv.action_space
        ):
            raise ValueError(
                f"the reward network reads {first.observation_space} and "
                f"{first.action_space}; the env has {self.venv.observation_space} and "
                f"{self.venv.action_space}"
            )
        self.discriminators = DiscriminatorEnsemble(
            [member.to(self.device) for member in members],
            objective=objective,
            remedies=remedies,
            generator=self.torch_rng,
            inputs="vectors",
            learning_rate=disc_lr,
            score=self._score,
        )
        """The discriminator(s), their objective, optimizer and remedies."""
        self.demo_batch_size = int(demo_batch_size)
        self.n_disc_updates_per_round = int(n_disc_updates_per_round)
        self.disc_loss = disc_loss
        self.remedies = remedies

        self.wrapped_venv = RewardVecEnvWrapper(
            self.venv, self._generator_reward, on_transitions=self._record_generated
        )
        gen_venv: VecEnv = self.wrapped_venv
        self.reward_normalizer: VecNormalize | None = None
        if normalize_reward:
            self.reward_normalizer = VecNormalize(
                self.wrapped_venv,
                norm_obs=False,
                norm_reward=True,
                gamma=generator_gamma(gen_algo, gen_kwargs),
            )
            gen_venv = self.reward_normalizer
        if gen_algo is None:
            kwargs = {
                "seed": self.seed,
                "device": "cpu",
                "verbose": 0,
                **GENERATOR_DEFAULTS,
                "policy_kwargs": {"net_arch": list(GENERATOR_NET_ARCH)},
                **(gen_kwargs or {}),
            }
            if warm_start is not None and "policy_kwargs" not in (gen_kwargs or {}):
                kwargs["policy_kwargs"] = _policy_kwargs_of(warm_start)
            gen_algo = PPO("MlpPolicy", gen_venv, **kwargs)
        elif gen_kwargs is not None:
            raise ValueError("pass either gen_algo or gen_kwargs, not both")
        else:
            gen_algo.set_env(gen_venv)
        self.gen_algo = gen_algo
        self.gen_warmup_rounds = int(gen_warmup_rounds)
        if self.gen_warmup_rounds and not isinstance(gen_algo.policy, ActorCriticPolicy):
            raise ValueError(
                "gen_warmup_rounds freezes an ActorCriticPolicy's actor (PPO, A2C); the "
                f"generator's policy is a {type(gen_algo.policy).__name__}"
            )
        self.gen_algo.set_logger(self.logger)
        if warm_start is not None:
            _copy_policy_weights(warm_start, self.gen_algo)
        if gen_train_timesteps is None:
            n_steps = getattr(gen_algo, "n_steps", None)
            gen_train_timesteps = n_steps * self.venv.num_envs if n_steps else 2048
        self.gen_train_timesteps = int(gen_train_timesteps)
        self._generated = _GeneratedBuffer(self.gen_train_timesteps * gen_replay_rounds)
        self._round_generated = 0
        self.round = 0
        """Rounds completed so far (restored by :meth:`resume`)."""
        self._learned_rewards: list[float] = []

    # --- what GAIL and AIRL define ---------------------------------------------------------

    @abc.abstractmethod
    def discriminator_output(
        self,
        net: RewardNet,
        features: Tensor,
        terminal: Tensor,
        obs: np.ndarray,
        acts: np.ndarray,
    ) -> Tensor:
        """The output ``(B,)`` of discriminator ``net`` from its features.

        A logit (high = expert) or, for an auto-encoder, an energy (low = expert).
        """

    def objective_defaults(self) -> dict[str, dict[str, Any]]:
        """The trainer's own defaults of objective options, by objective (none here)."""
        return {}

    @classmethod
    def check_objective(cls, name: str) -> None:
        """Refuse an objective this trainer cannot use (AIRL's structured discriminator).

        Raises:
            ValueError: Saying why.
        """
        del name

    # --- the discriminator -------------------------------------------------------------------

    @property
    def objective(self) -> DiscriminatorObjective:
        """The discriminator objective: loss and generator reward."""
        return self.discriminators.objective

    @property
    def reward_net(self) -> RewardNet:
        """The (first) discriminator: what :meth:`save_reward_net` writes."""
        net = self.discriminators.members[0]
        assert isinstance(net, RewardNet)
        return net

    @property
    def reward_nets(self) -> list[RewardNet]:
        """Every discriminator of the ensemble."""
        return [net for net in self.discriminators.members if isinstance(net, RewardNet)]

    @property
    def disc_optimizer(self) -> torch.optim.Optimizer:
        """The discriminators' Adam optimizer."""
        return self.discriminators.optimizer

    def reward_from_logits(self, logits: Tensor) -> Tensor:
        """The generator's reward ``(B,)`` from discriminator outputs: the objective's."""
        return self.objective.generator_reward(logits)

    def _make_objective(self, name: str, remedies: DiscriminatorRemedies) -> DiscriminatorObjective:
        self.check_objective(name)
        return remedies.objective(name, defaults=self.objective_defaults())

    def _build_reward_nets(
        self, reward_net: RewardNet | Callable[[], RewardNet], remedies: DiscriminatorRemedies
    ) -> list[RewardNet]:
        if isinstance(reward_net, RewardNet):
            if remedies.ensemble_size > 1:
                raise ValueError(
                    f"an ensemble of {remedies.ensemble_size} discriminators needs reward_net "
                    "to be a function that builds one (or None), not one network"
                )
            members = [reward_net]
        else:
            members = [reward_net() for _ in range(remedies.ensemble_size)]
        if remedies.spectral_norm:
            for member in members:
                apply_spectral_norm(member)
        return members

    def _score(self, net: torch.nn.Module, batch: Batch) -> Tensor:
        assert isinstance(net, RewardNet) and not isinstance(batch, Tensor)
        return self.discriminator_output(
            net, batch["features"], batch["terminal"], batch["obs"], batch["acts"]
        )

    # --- the loop ----------------------------------------------------------------------------

    @property
    def policy(self) -> Any:
        """The generator's SB3 policy."""
        return self.gen_algo.policy

    def predict(self, obs: np.ndarray, *, deterministic: bool = True) -> np.ndarray:
        """The generator's actions for a batch of observations."""
        actions, _ = self.gen_algo.predict(obs, deterministic=deterministic)
        return np.asarray(actions)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic actions: the trainer is a ``PolicyLike``."""
        return self.predict(obs, deterministic=True)

    def train(
        self,
        total_timesteps: int,
        *,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 10,
        eval_env: gym.Env[Any, Any] | gym.vector.VectorEnv[Any, Any, Any] | None = None,
        eval_every: int = 0,
        eval_episodes: int = 10,
        random_return: float | None = None,
        expert_return: float | None = None,
    ) -> None:
        """Run rounds until the generator has taken ``total_timesteps`` env steps in all.

        After :meth:`resume`, the same call does the remaining rounds only.

        Args:
            total_timesteps: Generator env steps of the whole run.
            checkpoint_dir: Where to write checkpoints (every ``checkpoint_every`` rounds and
                at the end); ``None`` writes none.
            checkpoint_every: Rounds between checkpoints.
            eval_env: Env for periodic evaluations of the true return (``eval/*``).
            eval_every: Rounds between evaluations; 0 disables them.
            eval_episodes: Episodes per evaluation.
            random_return: A random policy's return, for ``eval/normalized_return``.
            expert_return: The expert's return, for ``eval/normalized_return``.
        """
        n_rounds = max(1, -(-int(total_timesteps) // self.gen_train_timesteps))
        while self.round < n_rounds:
            self.train_generator()
            self.train_discriminator(noise_scale=1.0 - self.round / n_rounds)
            self._replay_round()
            self.round += 1
            self.logger.record("time/round", self.round)
            if eval_env is not None and eval_every and self.round % eval_every == 0:
                self.evaluate(
                    eval_env,
                    n_episodes=eval_episodes,
                    random_return=random_return,
                    expert_return=expert_return,
                )
            self.logger.dump(step=self.gen_algo.num_timesteps)
            if checkpoint_dir is not None and (
                self.round % checkpoint_every == 0 or self.round == n_rounds
            ):
                self.save_checkpoint(checkpoint_dir)
            self._unit_done()

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        self.train(total, **checkpoints)

    def _learn_progress(self) -> int:
        return int(self.gen_algo.num_timesteps)

    def train_generator(self) -> None:
        """Collect ``gen_train_timesteps`` steps on the learned reward and update the policy.

        In the first ``gen_warmup_rounds`` rounds only the value function learns.
        """
        self._learned_rewards = []
        self._round_generated = 0
        frozen = self._actor_parameters() if self.round < self.gen_warmup_rounds else []
        for param in frozen:
            param.requires_grad_(False)
        try:
            self.gen_algo.learn(
                total_timesteps=self.gen_train_timesteps,
                reset_num_timesteps=False,
                progress_bar=False,
            )
        finally:
            for param in frozen:
                param.requires_grad_(True)
        self.logger.record("train/gen_policy_frozen", float(bool(frozen)))
        if self._learned_rewards:
            self.logger.record("rollout/learned_reward_mean", float(np.mean(self._learned_rewards)))
        if self.gen_algo.ep_info_buffer:
            true_return = np.mean([info["r"] for info in self.gen_algo.ep_info_buffer])
            self.logger.record("rollout/true_return", float(true_return))

    def train_discriminator(self, *, noise_scale: float = 1.0) -> dict[str, float]:
        """Take ``n_disc_updates_per_round`` discriminator steps; returns the last step's stats.

        Each step draws ``demo_batch_size`` expert transitions and as many generated ones (a
        ``replay_ratio`` share of them from the replay of earlier rounds), and updates every
        discriminator. The steps make one epoch of the objective (MAGAN's margin adapts at
        its end).

        Args:
            noise_scale: Multiplies ``input_noise`` (the loop passes the fraction of the run
                still to go, so the noise decays linearly to 0).
        """
        if self._generated.size == 0:
            raise RuntimeError("the generator has produced no transitions yet; train it first")
        gen = self._generated.arrays()
        replay = self.discriminators.replay
        stats: dict[str, float] = {}
        self.discriminators.members.train()
        for _ in range(self.n_disc_updates_per_round):
            expert_idx = self.np_rng.integers(len(self.expert), size=self.demo_batch_size)
            gen_idx = self.np_rng.integers(len(gen[0]), size=self.demo_batch_size)
            obs, acts, next_obs, term = (column[gen_idx] for column in gen)
            if replay is not None:
                mixed = replay.mix(*(torch.as_tensor(c) for c in (obs, acts, next_obs, term)))
                obs, acts, next_obs, term = (c.numpy() for c in mixed)
            real_raw = self.reward_net.raw_features(
                self.expert.obs[expert_idx],
                self.expert.acts[expert_idx],
                self.expert.next_obs[expert_idx],
            )  # (B, D)
            fake_raw = self.reward_net.raw_features(obs, acts, next_obs)  # (B, D)
            if self.reward_net.normalize_input:  # the members share the first's statistics
                self.reward_net.update_normalization_from_raw(real_raw)
                self.reward_net.update_normalization_from_raw(fake_raw)
            real = self._batch(
                self.expert.obs[expert_idx],
                self.expert.acts[expert_idx],
                self.expert.terminal[expert_idx],
                self.reward_net.normalize_features(real_raw),
            )
            fake = self._batch(obs, acts, term, self.reward_net.normalize_features(fake_raw))
            step = self.discriminators.update(real, fake, noise_scale=noise_scale)
            stats = {
                "disc_loss": step["loss"],
                "disc_acc_expert": step["real_accuracy"],
                "disc_acc_gen": step["fake_accuracy"],
                "disc_logit_expert": step["real_output"],
                "disc_logit_gen": step["fake_output"],
                "disc_grad_penalty": step["grad_penalty"],
                "disc_input_noise": step["input_noise"],
                **{f"disc_{k}": v for k, v in step.items() if k == "margin"},
            }
        self.discriminators.end_epoch()
        for key, value in stats.items():
            self.logger.record(f"train/{key}", value)
        return stats

    def evaluate(
        self,
        env: gym.Env[Any, Any] | gym.vector.VectorEnv[Any, Any, Any],
        *,
        n_episodes: int = 10,
        seed: int = 10_000,
        random_return: float | None = None,
        expert_return: float | None = None,
    ) -> EvalResult:
        """The generator's true return on ``env`` (deterministic actions); logs ``eval/*``."""
        result = evaluate_policy(
            env,
            self.gen_algo,
            n_episodes=n_episodes,
            seed=seed,
            random_return=random_return,
            expert_return=expert_return,
        )
        record_eval(self.logger, result)
        return result

    # --- internals ---------------------------------------------------------------------------

    def _actor_parameters(self) -> list[torch.nn.Parameter]:
        """The parameters of the generator's policy that are not the value function's."""
        policy = self.gen_algo.policy
        assert isinstance(policy, ActorCriticPolicy)
        modules = [policy.mlp_extractor.policy_net, policy.action_net]
        if not policy.share_features_extractor:
            modules.append(policy.pi_features_extractor)
        params = [p for module in modules for p in module.parameters()]
        log_std = getattr(policy, "log_std", None)
        if isinstance(log_std, torch.nn.Parameter):
            params.append(log_std)
        return params

    def _check_demonstrations(self, demonstrations: Demonstrations | Transitions) -> None:
        if isinstance(demonstrations, Demonstrations):
            demonstrations.check_compatible((self.venv.observation_space, self.venv.action_space))
            return
        obs_shape = self.venv.observation_space.shape
        if obs_shape is not None and self.expert.obs.shape[1:] != obs_shape:
            raise ValueError(
                f"the expert transitions have observations of shape {self.expert.obs.shape[1:]}"
                f"; the env's observation space {self.venv.observation_space} has {obs_shape}"
            )

    def _batch(
        self, obs: np.ndarray, acts: np.ndarray, terminal: np.ndarray, features: Tensor
    ) -> dict[str, Any]:
        return {
            "features": features,  # (B, D)
            "terminal": torch.as_tensor(terminal, device=self.device).float(),  # (B,)
            "obs": obs,
            "acts": acts,
        }

    def _generator_batch(
        self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, terminal: np.ndarray
    ) -> Batch:
        """The discriminators' input for the generator's last steps (one per sub-env)."""
        return self._batch(obs, acts, terminal, self.reward_net.features(obs, acts, next_obs))

    @torch.no_grad()
    def _generator_reward(
        self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, terminal: np.ndarray
    ) -> np.ndarray:
        self.discriminators.members.eval()
        batch = self._generator_batch(obs, acts, next_obs, terminal)
        rewards = self.discriminators.reward(batch).cpu().numpy()
        self._learned_rewards.extend(rewards.tolist())
        return rewards.astype(np.float32)

    def _record_generated(
        self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, terminal: np.ndarray
    ) -> None:
        self._generated.add(obs, acts, next_obs, terminal)
        self._round_generated += len(obs)

    def _replay_round(self) -> None:
        """Offer the round's generated transitions to the replay (when there is one)."""
        replay = self.discriminators.replay
        if replay is None or self._round_generated == 0:
            return
        newest = min(self._round_generated, self._generated.size)
        replay.add(*(torch.as_tensor(c[-newest:]) for c in self._generated.arrays()))

    # --- files ---------------------------------------------------------------------------------

    def save_reward_net(self, path: str | os.PathLike[str]) -> Path:
        """Write the learned reward network (see :func:`lhyrl.rewards.load_reward_net`)."""
        return save_reward_net(path, self.reward_net)

    def save_policy(self, path: str | os.PathLike[str]) -> Path:
        """Write the generator's policy weights (a state dict; ``weights_only`` loadable)."""
        state = {k: v.detach().cpu() for k, v in self.gen_algo.policy.state_dict().items()}
        return atomic_write(path, lambda tmp: torch.save(state, tmp))

    def _checkpoint_state(self, directory: Path) -> dict[str, Any]:
        """Generator, discriminators, optimizers, counters, RNGs and the reward normalizer.

        The generator's part is SB3's ``get_parameters`` and its step and update counters;
        an off-policy generator's replay buffer is not saved. The discriminator's part is the
        first network (``reward_net``), the optimizer, and in ``discriminator_state`` the
        other members of an ensemble, the objective's state (MAGAN's margin) and the replay
        of generated transitions.
        """
        return {
            "round": self.round,
            "gen_parameters": self.gen_algo.get_parameters(),
            "gen_num_timesteps": int(self.gen_algo.num_timesteps),
            "gen_n_updates": int(getattr(self.gen_algo, "_n_updates", 0)),
            "reward_net": self.reward_net.state_dict(),
            "disc_optimizer": self.disc_optimizer.state_dict(),
            "discriminator_state": self.discriminators.extra_state(),
            "np_rng": numpy_rng_to_tensor(self.np_rng),
            "torch_rng": self.torch_rng.get_state(),
            "reward_norm": None
            if self.reward_normalizer is None
            else _rms_state(self.reward_normalizer),
        }

    def _restore_checkpoint_state(
        self, state: Mapping[str, Any], directory: Path, path: Path
    ) -> None:
        if (state["reward_norm"] is None) != (self.reward_normalizer is None):
            raise ValueError(
                f"{path} was written with normalize_reward={state['reward_norm'] is not None}; "
                f"this trainer has normalize_reward={self.reward_normalizer is not None}"
            )
        self.gen_algo.set_parameters(state["gen_parameters"], exact_match=True)
        self.gen_algo.num_timesteps = int(state["gen_num_timesteps"])
        if hasattr(self.gen_algo, "_n_updates"):
            self.gen_algo._n_updates = int(state["gen_n_updates"])
        self.discriminators.load_extra_state(state.get("discriminator_state"), where=f"{path} ")
        self.reward_net.load_state_dict(state["reward_net"])
        self.disc_optimizer.load_state_dict(state["disc_optimizer"])
        numpy_rng_from_tensor(self.np_rng, state["np_rng"])
        self.torch_rng.set_state(state["torch_rng"])
        self.round = int(state["round"])
        if self.reward_normalizer is not None:
            _load_rms_state(self.reward_normalizer, state["reward_norm"])


def generator_gamma(gen_algo: BaseAlgorithm | None, gen_kwargs: Mapping[str, Any] | None) -> float:
    """The generator's discount: ``gen_algo.gamma``, else ``gen_kwargs["gamma"]``, else 0.99."""
    return float(getattr(gen_algo, "gamma", (gen_kwargs or {}).get("gamma", 0.99)))


def _rms_state(normalizer: VecNormalize) -> dict[str, Tensor]:
    """The running return statistics of a reward normalizer, as tensors."""
    rms = normalizer.ret_rms
    return {
        "mean": torch.as_tensor(np.asarray(rms.mean, dtype=np.float64)),
        "var": torch.as_tensor(np.asarray(rms.var, dtype=np.float64)),
        "count": torch.tensor(float(rms.count), dtype=torch.float64),
        "returns": torch.as_tensor(np.asarray(normalizer.returns, dtype=np.float64)),
    }


def _load_rms_state(normalizer: VecNormalize, state: Mapping[str, Tensor]) -> None:
    rms = normalizer.ret_rms
    rms.mean = state["mean"].numpy().copy()
    rms.var = state["var"].numpy().copy()
    rms.count = float(state["count"])
    normalizer.returns = state["returns"].numpy().copy()


def _policy_kwargs_of(warm_start: ImitationAgent | ActorCriticPolicy) -> dict[str, Any]:
    policy = warm_start.policy if isinstance(warm_start, ImitationAgent) else warm_start
    params = policy._get_constructor_parameters()
    for key in ("observation_space", "action_space", "lr_schedule", "use_sde"):
        params.pop(key, None)
    return params


def _copy_policy_weights(
    warm_start: ImitationAgent | ActorCriticPolicy, algo: BaseAlgorithm
) -> None:
    source = warm_start.policy if isinstance(warm_start, ImitationAgent) else warm_start
    target = algo.policy
    if source.observation_space != target.observation_space or (
        source.action_space != target.action_space
    ):
        raise ValueError(
            f"the warm-start policy acts in {source.observation_space} -> {source.action_space}; "
            f"the generator in {target.observation_space} -> {target.action_space}"
        )
    try:
        target.load_state_dict(source.state_dict())
    except RuntimeError as err:
        raise ValueError(
            "the warm-start policy's architecture differs from the generator's; build the "
            f"generator with the same policy_kwargs (net_arch, activation_fn): {err}"
        ) from err
