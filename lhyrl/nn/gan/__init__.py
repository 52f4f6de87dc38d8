"""The GAN family as shared parts: discriminators, objectives, remedies, ensembles.

* :mod:`~lhyrl.nn.gan.discriminators`: logit discriminators for tokens (CNN with highway,
  GRU) and vectors (MLP);
* :mod:`~lhyrl.nn.gan.energy`: auto-encoder discriminators whose output is an energy (EBGAN,
  MAGAN), for vectors and token sequences;
* :mod:`~lhyrl.nn.gan.objectives`: the registry of discriminator objectives (``bce``,
  ``lsgan``, ``wgan-gp``, ``hinge``, ``ebgan``, ``magan``): each one's discriminator loss,
  generator reward and generator loss;
* :mod:`~lhyrl.nn.gan.remedies`: spectral normalisation, input noise, replay of past
  generated items, bootstrap resampling;
* :mod:`~lhyrl.nn.gan.ensemble`: :class:`DiscriminatorEnsemble`, the discriminator side of
  GAIL, AIRL, SeqGAN and REGS;
* :mod:`~lhyrl.nn.gan.losses`: the losses as loose functions, and WGAN-GP's penalty.
"""

from lhyrl.nn.gan.discriminators import (
    CNNDiscriminator,
    CNNDiscriminatorConfig,
    Highway,
    MLPDiscriminator,
    MLPDiscriminatorConfig,
    RNNDiscriminator,
    RNNDiscriminatorConfig,
)
from lhyrl.nn.gan.energy import (
    MLPAutoEncoderConfig,
    MLPAutoEncoderDiscriminator,
    SequenceAutoEncoderConfig,
    SequenceAutoEncoderDiscriminator,
)
from lhyrl.nn.gan.ensemble import (
    Batch,
    DiscriminatorEnsemble,
    ExtraLoss,
    batch_size,
    select_items,
)
from lhyrl.nn.gan.losses import (
    bce_discriminator_loss,
    bce_generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    wgan_discriminator_loss,
    wgan_generator_loss,
)
from lhyrl.nn.gan.objectives import (
    BCE,
    EBGAN,
    LSGAN,
    MAGAN,
    OBJECTIVES,
    OUTPUT_KINDS,
    WGANGP,
    DiscriminatorObjective,
    Hinge,
    canonical_objective_name,
    make_objective,
    objective_names,
    register_objective,
)
from lhyrl.nn.gan.remedies import (
    DEFAULT_SETTINGS,
    ENSEMBLE_REWARDS,
    DiscriminatorRemedies,
    EmbeddingTap,
    SampleReplay,
    apply_spectral_norm,
    bootstrap_indices,
    pad_to_shape,
)

__all__ = [
    "BCE",
    "DEFAULT_SETTINGS",
    "EBGAN",
    "ENSEMBLE_REWARDS",
    "LSGAN",
    "MAGAN",
    "OBJECTIVES",
    "OUTPUT_KINDS",
    "WGANGP",
    "Batch",
    "CNNDiscriminator",
    "CNNDiscriminatorConfig",
    "DiscriminatorEnsemble",
    "DiscriminatorObjective",
    "DiscriminatorRemedies",
    "EmbeddingTap",
    "ExtraLoss",
    "Highway",
    "Hinge",
    "MLPAutoEncoderConfig",
    "MLPAutoEncoderDiscriminator",
    "MLPDiscriminator",
    "MLPDiscriminatorConfig",
    "RNNDiscriminator",
    "RNNDiscriminatorConfig",
    "SampleReplay",
    "SequenceAutoEncoderConfig",
    "SequenceAutoEncoderDiscriminator",
    "apply_spectral_norm",
    "batch_size",
    "bce_discriminator_loss",
    "bce_generator_loss",
    "bootstrap_indices",
    "canonical_objective_name",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "make_objective",
    "objective_names",
    "pad_to_shape",
    "register_objective",
    "select_items",
    "wgan_discriminator_loss",
    "wgan_generator_loss",
]
