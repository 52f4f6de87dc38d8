"""The discriminator keys GAIL, AIRL, SeqGAN and REGS share: the objective and its remedies.

:class:`DiscriminatorConfig` is the base of the ``adversarial``, ``seqgan`` and ``regs``
sections, so each of those algorithms reads the same keys with the same meaning (and
``lhyrl train`` shows one flag for each). The values are checked against the registry of
:mod:`lhyrl.nn.gan.objectives` when a config is made (torch is imported then, not for
``lhyrl --help``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lhyrl.config.base import ConfigError


@dataclass
class DiscriminatorConfig:
    """The discriminator's objective and remedies (sections adversarial, seqgan, regs)."""

    disc_loss: str = "bce"
    """GAIL/AIRL/SeqGAN/REGS: discriminator objective: bce, lsgan, wgan-gp (alias wgan), hinge,
    ebgan or magan (the last two with an auto-encoder discriminator; AIRL takes bce only)."""
    grad_penalty: float | None = None
    """GAIL/AIRL/SeqGAN/REGS: gradient penalty weight (default: 10 for wgan-gp, else 0; token
    inputs: taken at the token embeddings)."""
    label_smoothing: float = 0.0
    """GAIL/AIRL/SeqGAN/REGS: real label 1 - label_smoothing (bce and lsgan only)."""
    input_noise: float = 0.0
    """GAIL/AIRL/SeqGAN/REGS: std of Gaussian noise on the discriminator's inputs (token
    inputs: on their embeddings), decaying linearly to 0 over the run."""
    spectral_norm: bool = False
    """GAIL/AIRL/SeqGAN/REGS: spectral normalisation of the discriminator's linear and
    convolution layers."""
    replay_ratio: float = 0.0
    """GAIL/AIRL/SeqGAN/REGS: share of the discriminator's negatives drawn from a reservoir of
    earlier generated samples (0: no replay)."""
    replay_capacity: int = 10_000
    """GAIL/AIRL/SeqGAN/REGS: samples (transitions, sequences, dialogues) the replay
    reservoir holds."""
    ensemble_size: int = 1
    """GAIL/AIRL/SeqGAN/REGS: discriminators, each trained on its own bootstrap resample of
    every batch."""
    ensemble_reward: str = "mean"
    """GAIL/AIRL/SeqGAN/REGS: how the ensemble's rewards combine, mean or min."""

    def __post_init__(self) -> None:
        from lhyrl.nn.gan import DiscriminatorRemedies, make_objective

        try:
            remedies = DiscriminatorRemedies(
                grad_penalty=self.grad_penalty,
                label_smoothing=self.label_smoothing,
                input_noise=self.input_noise,
                spectral_norm=self.spectral_norm,
                replay_ratio=self.replay_ratio,
                replay_capacity=self.replay_capacity,
                ensemble_size=self.ensemble_size,
                ensemble_reward=self.ensemble_reward,  # type: ignore[arg-type]
            )
            make_objective(self.disc_loss, **remedies.objective_kwargs())
        except ValueError as err:
            raise ConfigError(str(err)) from err
