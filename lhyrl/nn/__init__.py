"""Shared model parts, torch only: recurrent generators and encoders, discriminators, oracles."""

from lhyrl.nn.gan import (
    CNNDiscriminator,
    CNNDiscriminatorConfig,
    MLPDiscriminator,
    MLPDiscriminatorConfig,
    RNNDiscriminator,
    RNNDiscriminatorConfig,
    bce_discriminator_loss,
    bce_generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    wgan_discriminator_loss,
    wgan_generator_loss,
)
from lhyrl.nn.oracle import load_oracle, random_oracle, save_oracle
from lhyrl.nn.recurrent import (
    RecurrentConfig,
    RNNState,
    SequenceEncoder,
    SequenceGenerator,
    sample_categorical,
)

__all__ = [
    "CNNDiscriminator",
    "CNNDiscriminatorConfig",
    "MLPDiscriminator",
    "MLPDiscriminatorConfig",
    "RNNDiscriminator",
    "RNNDiscriminatorConfig",
    "RNNState",
    "RecurrentConfig",
    "SequenceEncoder",
    "SequenceGenerator",
    "bce_discriminator_loss",
    "bce_generator_loss",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "load_oracle",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "random_oracle",
    "sample_categorical",
    "save_oracle",
    "wgan_discriminator_loss",
    "wgan_generator_loss",
]
