"""Adversarial Inverse Reinforcement Learning (Fu, Luo and Levine, 2018)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.sac.policies import Actor, SACPolicy
from torch import Tensor

from lhyrl.agents.adversarial import AdversarialTrainer, generator_gamma
from lhyrl.nn.gan import canonical_objective_name
from lhyrl.rewards.learned import RewardNet, ShapedRewardNet

GENERATOR_REWARDS = ("logit", "softplus")
"""The generator rewards AIRL offers (see :class:`AIRL`)."""

INCOMPATIBLE_OBJECTIVES: dict[str, str] = {
    "lsgan": "LSGAN regresses the discriminator's output onto 1 and 0, so at its optimum the "
    "output is the probability p_E / (p_E + pi) itself, not the log-ratio log p_E - log pi "
    "that AIRL's logit f - log pi must equal for f to recover the reward",
    "wgan-gp": "a Wasserstein critic is an unbounded (1-Lipschitz) potential, not a log "
    "density ratio, so f - log pi loses its meaning and f recovers no reward",
    "hinge": "the hinge loss's optimal discriminator is sign(p_E - pi) clipped to [-1, 1], "
    "which carries no density ratio for f to recover",
    "ebgan": "EBGAN reads an auto-encoder's reconstruction energy, while AIRL's discriminator "
    "is the structured logit f(s, a, s') - log pi(a|s)",
    "magan": "MAGAN reads an auto-encoder's reconstruction energy, while AIRL's discriminator "
    "is the structured logit f(s, a, s') - log pi(a|s)",
}
"""The objectives AIRL refuses, each with why: AIRL needs the logistic (``bce``) loss, whose
optimal logit is ``log p_E - log pi``."""


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

    Objectives (``disc_loss``): only ``"bce"``. AIRL's structure rests on the logistic loss:
    its optimal discriminator is ``D* = p_E / (p_E + pi)``, whose logit ``log p_E - log pi``
    is what ``f - log pi`` must equal for ``f`` to recover the expert's reward (advantage).
    ``"lsgan"`` (optimal output the probability itself, not its logit), ``"wgan-gp"`` (an
    unbounded critic, no density ratio), ``"hinge"`` (optimal output ``sign(p_E - pi)``) and
    the energy-based ``"ebgan"`` and ``"magan"`` (an auto-encoder's energy, not the structured
    logit) are refused with that reason (:data:`INCOMPATIBLE_OBJECTIVES`). The remedies all
    apply (label smoothing biases the optimal logit by ``log(1 - label_smoothing)``). With an
    ensemble, ``reward_net`` is the first member's ``f``.

    Args:
        reward_net: A :class:`~lhyrl.rewards.ShapedRewardNet`; ``None`` builds one with the
            generator's discount (PPO's ``gamma``, default 0.99), ``state_only``,
            ``reward_hidden_sizes`` and ``spectral_norm``.
        state_only: The default reward's ``g`` reads the state only.
        reward_hidden_sizes: Hidden widths of ``g`` and ``h`` in the default reward.
        spectral_norm: Spectral normalisation in the default reward.
        generator_reward: ``"logit"`` (AIRL's ``log D - log(1 - D)``) or ``"softplus"``
            (``-log(1 - D)``): the ``reward`` of the ``bce`` objective.
        normalize_input: Standardize the default network's inputs by running statistics.
        **kwargs: Everything else goes to :class:`~lhyrl.agents.adversarial.AdversarialTrainer`.

    Raises:
        TypeError: If the generator's policy gives no action log-probabilities (AIRL needs
            an SB3 ``ActorCriticPolicy``, as PPO/A2C use, or a SAC policy).
        ValueError: For an objective other than ``"bce"``, saying why.
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
        super().__init__(reward_net=reward_net, spectral_norm=spectral_norm, **kwargs)
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

    @classmethod
    def check_objective(cls, name: str) -> None:
        """Refuse every objective but ``bce``, saying why (see the class docstring)."""
        canonical = canonical_objective_name(name)
        if canonical != "bce":
            reason = INCOMPATIBLE_OBJECTIVES.get(
                canonical, "AIRL's structured logit f - log pi needs the logistic (bce) loss"
            )
            raise ValueError(f"AIRL cannot train with disc_loss={name!r}: {reason}; use bce")

    def objective_defaults(self) -> dict[str, dict[str, Any]]:
        """``bce``'s reward is AIRL's ``generator_reward``."""
        return {"bce": {"reward": self.generator_reward}}

    def discriminator_output(
        self,
        net: RewardNet,
        features: Tensor,
        terminal: Tensor,
        obs: np.ndarray,
        acts: np.ndarray,
    ) -> Tensor:
        """``f(s, a, s') - log pi(a|s)``."""
        f = net.discriminator_features(features, terminal)  # (B,)
        return f - self.log_policy_prob(obs, acts)
