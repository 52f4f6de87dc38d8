"""Generative Adversarial Imitation Learning (Ho and Ermon, 2016)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from torch import Tensor

from lhyrl.agents.adversarial import AdversarialTrainer
from lhyrl.nn.gan import OBJECTIVES, canonical_objective_name
from lhyrl.rewards.learned import AutoEncoderRewardNet, BasicRewardNet, RewardNet


class GAIL(AdversarialTrainer):
    """GAIL: the discriminator ``D(s, a)`` is a :class:`~lhyrl.rewards.BasicRewardNet`.

    Every objective of :mod:`lhyrl.nn.gan.objectives` works, and it alone defines the
    generator's reward: ``-log(1 - D(s, a)) = softplus(logit)`` with ``"bce"`` (the default),
    the critic's score itself with ``"lsgan"``, ``"wgan-gp"`` and ``"hinge"``, and ``-E`` with
    the energy-based ``"ebgan"`` and ``"magan"``, whose discriminator is then an
    :class:`~lhyrl.rewards.AutoEncoderRewardNet` (energy ``E`` = its reconstruction error).

    The sign of the reward matters on tasks whose episodes end early: ``bce``'s reward is
    positive and ``lsgan``'s mostly so (a bonus for surviving), while ``wgan-gp``'s and
    ``hinge``'s are negative on generated transitions and EBGAN's and MAGAN's always are (a
    bonus for ending the episode). On CartPole from one demonstration (16,384 env steps),
    ``lsgan`` reaches a return of about 320 and ``bce`` about 215 (random: about 24), while
    the four others end their episodes at once (about 10), with or without fixed-horizon
    absorbing episodes (``AbsorbAfterTermination``, at 32,768 steps).

    Args:
        reward_net: The discriminator (or a function that builds one); ``None`` builds a
            ``BasicRewardNet`` over ``(s, a)`` (an ``AutoEncoderRewardNet`` for ``ebgan`` and
            ``magan``) with ``reward_hidden_sizes`` and ``spectral_norm``.
        reward_hidden_sizes: Hidden widths of the default discriminator.
        spectral_norm: Spectral normalisation in the discriminator(s).
        normalize_input: Standardize the default network's inputs by running statistics.
        **kwargs: Everything else goes to :class:`~lhyrl.agents.adversarial.AdversarialTrainer`
            (``demonstrations``, ``venv``, ``gen_algo``, ``disc_loss``, the remedies,
            ``seed``, ...).

    Example:
        >>> gail = GAIL(demonstrations=demos, venv=make_vec_env("CartPole-v1", 8), seed=0)
        >>> gail.train(100_000)
    """

    def __init__(
        self,
        *,
        reward_net: RewardNet | Callable[[], RewardNet] | None = None,
        reward_hidden_sizes: tuple[int, ...] = (64, 64),
        spectral_norm: bool = False,
        normalize_input: bool = False,
        **kwargs: Any,
    ) -> None:
        if reward_net is None:
            venv = kwargs["venv"]
            objective = OBJECTIVES[canonical_objective_name(kwargs.get("disc_loss", "bce"))]
            net_class = AutoEncoderRewardNet if objective.needs_energy else BasicRewardNet
            reward_net = partial(
                net_class,
                observation_space=venv.observation_space,
                action_space=venv.action_space,
                hidden_sizes=reward_hidden_sizes,
                spectral_norm=spectral_norm,
                normalize_input=normalize_input,
            )
        super().__init__(reward_net=reward_net, spectral_norm=spectral_norm, **kwargs)

    def discriminator_output(
        self,
        net: RewardNet,
        features: Tensor,
        terminal: Tensor,
        obs: np.ndarray,
        acts: np.ndarray,
    ) -> Tensor:
        """``D``'s logit (or energy): the network's discriminator output."""
        del obs, acts
        return net.discriminator_features(features, terminal)
