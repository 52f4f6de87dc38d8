"""Adversarial Inverse Reinforcement Learning (Fu, Luo and Levine, 2018)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.sac.policies import Actor, SACPolicy
from torch import Tensor

from lhyrl.agents.adversarial import AdversarialTrainer, generator_gamma
from lhyrl.rewards.learned import RewardNet, ShapedRewardNet

GENERATOR_REWARDS = ("logit", "softplus")
"""The generator rewards AIRL offers (see :class:`AIRL`)."""


class AIRL(AdversarialTrainer):
    """AIRL: ``D = exp(f) / (exp(f) + pi(a|s))`` with ``f(s, a, s') = g + gamma h(s') - h(s)``.

    The discriminator's logit is ``f(s, a, s') - log pi(a|s)`` under the current generator;
    the generator's reward is that logit too, ``log D - log(1 - D)`` (entropy-regularized RL
    on ``f``), or with ``generator_reward="softplus"`` the always-positive
    ``-log(1 - D) = softplus(logit)``: on tasks whose episodes end early (Hopper), a reward
    that is negative everywhere pays the generator for falling over at once, which a positive
    one does not (the discriminator, and the recovered ``f`` and ``g``, are the same).
    After training, ``reward_net`` (the shaped ``f``) and ``reward_net.base`` (``g``) are
    rewards a fresh agent can be trained on (see :class:`~lhyrl.rewards.LearnedRewardWrapper`).

    Args:
        reward_net: A :class:`~lhyrl.rewards.ShapedRewardNet`; ``None`` builds one with the
            generator's discount (PPO's ``gamma``, default 0.99), ``state_only``,
            ``reward_hidden_sizes`` and ``spectral_norm``.
        state_only: The default reward's ``g`` reads the state only.
        reward_hidden_sizes: Hidden widths of ``g`` and ``h`` in the default reward.
        spectral_norm: Spectral normalisation in the default reward.
        generator_reward: ``"logit"`` (AIRL's ``log D - log(1 - D)``) or ``"softplus"``
            (``-log(1 - D)``).
        normalize_input: Standardize the default network's inputs by running statistics.
        **kwargs: Everything else goes to :class:`~lhyrl.agents.adversarial.AdversarialTrainer`.

    Raises:
        TypeError: If the generator's policy gives no action log-probabilities (AIRL needs
            an SB3 ``ActorCriticPolicy``, as PPO/A2C use, or a SAC policy).
    """

    def __init__(
        self,
        *,
        reward_net: RewardNet | Callable[[], RewardNet] | None = None,
        state_only: bool = False,
        reward_hidden_sizes: tuple[int, ...] = (64, 64),
        spectral_norm: bool = False,
        normalize_input: bool = False,
        generator_reward: str = "logit",
        **kwargs: Any,
    ) -> None:
        if generator_reward not in GENERATOR_REWARDS:
            raise ValueError(
                f"generator_reward must be one of {GENERATOR_REWARDS}; got {generator_reward!r}"
            )
        self.generator_reward = generator_reward
        if reward_net is None:
            venv = kwargs["venv"]
            gamma = generator_gamma(kwargs.get("gen_algo"), kwargs.get("gen_kwargs"))
            reward_net = partial(
                ShapedRewardNet,
                observation_space=venv.observation_space,
                action_space=venv.action_space,
                gamma=gamma,
                state_only=state_only,
                hidden_sizes=reward_hidden_sizes,
                potential_hidden_sizes=reward_hidden_sizes,
                spectral_norm=spectral_norm,
                normalize_input=normalize_input,
            )
        super().__init__(reward_net=reward_net, **kwargs)
        if not isinstance(self.gen_algo.policy, ActorCriticPolicy | SACPolicy):
            raise TypeError(
                "AIRL needs the generator's action log-probabilities: use an SB3 algorithm "
                "with an ActorCriticPolicy (PPO, A2C) or SAC; got "
                f"{type(self.gen_algo.policy).__name__}"
            )

    @torch.no_grad()
    def log_policy_prob(self, obs: np.ndarray, acts: np.ndarray) -> Tensor:
        """``log pi(a|s)`` under the current generator, ``(B,)``."""
        policy = self.gen_algo.policy
        obs_t, _ = policy.obs_to_tensor(obs)
        if isinstance(policy, ActorCriticPolicy):
            acts_t = torch.as_tensor(np.asarray(acts), device=policy.device)
            _, log_prob, _ = policy.evaluate_actions(obs_t, acts_t)
        else:  # SAC: the actor's squashed Gaussian, on actions scaled to [-1, 1]
            scaled = torch.as_tensor(policy.scale_action(np.asarray(acts)), device=policy.device)
            scaled = scaled.clamp(-1 + 1e-6, 1 - 1e-6)
            actor = policy.actor
            assert isinstance(actor, Actor)
            mean, log_std, kwargs = actor.get_action_dist_params(obs_t)
            dist = actor.action_dist.proba_distribution(mean, log_std, **kwargs)
            log_prob = dist.log_prob(scaled)
        return log_prob.reshape(-1).float().to(self.device)

    def logits_from_features(
        self, features: Tensor, terminal: Tensor, obs: np.ndarray, acts: np.ndarray
    ) -> Tensor:
        """``f(s, a, s') - log pi(a|s)``."""
        f = self.reward_net.forward_features(features, terminal)  # (B,)
        return f - self.log_policy_prob(obs, acts)

    def reward_from_logits(self, logits: Tensor) -> Tensor:
        """The logit ``log D - log(1 - D) = f - log pi(a|s)``, or ``softplus`` of it."""
        return F.softplus(logits) if self.generator_reward == "softplus" else logits
