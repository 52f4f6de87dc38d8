"""Generative Adversarial Imitation Learning (Ho and Ermon, 2016)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from lhyrl.agents.adversarial import AdversarialTrainer
from lhyrl.rewards.learned import BasicRewardNet, RewardNet


class GAIL(AdversarialTrainer):
    """GAIL: the discriminator ``D(s, a)`` is a :class:`~lhyrl.rewards.BasicRewardNet`.

    The generator's reward is ``-log(1 - D(s, a)) = softplus(logit)`` with the ``"bce"`` loss,
    and the critic's score itself with ``"lsgan"`` and ``"wgan"``.

    Args:
        reward_net: The discriminator; ``None`` builds a ``BasicRewardNet`` over ``(s, a)``
            with ``reward_hidden_sizes`` and ``spectral_norm``.
        reward_hidden_sizes: Hidden widths of the default discriminator.
        spectral_norm: Spectral normalisation in the default discriminator.
        normalize_input: Standardize the default network's inputs by running statistics.
        **kwargs: Everything else goes to :class:`~lhyrl.agents.adversarial.AdversarialTrainer`
            (``demonstrations``, ``venv``, ``gen_algo``, ``disc_loss``, ``seed``, ...).

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
            reward_net = partial(
                BasicRewardNet,
                observation_space=venv.observation_space,
                action_space=venv.action_space,
                hidden_sizes=reward_hidden_sizes,
                spectral_norm=spectral_norm,
                normalize_input=normalize_input,
            )
        super().__init__(reward_net=reward_net, **kwargs)

    def logits_from_features(
        self, features: Tensor, terminal: Tensor, obs: np.ndarray, acts: np.ndarray
    ) -> Tensor:
        """``D``'s logit: the reward network's output."""
        del obs, acts
        return self.reward_net.forward_features(features, terminal)

    def reward_from_logits(self, logits: Tensor) -> Tensor:
        """``softplus(logit)`` for ``"bce"``, else the logit."""
        return F.softplus(logits) if self.disc_loss == "bce" else logits
