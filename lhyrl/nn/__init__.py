"""Shared model parts, torch only: recurrent models, seq2seq, attention, discriminators, oracles."""

from lhyrl.nn.attention import AdditiveAttention, Attention, DotProductAttention
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
from lhyrl.nn.oracle import SHIPPED_ORACLES, load_oracle, random_oracle, save_oracle
from lhyrl.nn.recurrent import (
    RecurrentConfig,
    RNNState,
    SequenceEncoder,
    SequenceGenerator,
    sample_categorical,
)
from lhyrl.nn.seq2seq import Decoded, EncodedSource, Seq2Seq, Seq2SeqConfig

__all__ = [
    "SHIPPED_ORACLES",
    "AdditiveAttention",
    "Attention",
    "CNNDiscriminator",
    "CNNDiscriminatorConfig",
    "Decoded",
    "DotProductAttention",
    "EncodedSource",
    "MLPDiscriminator",
    "MLPDiscriminatorConfig",
    "RNNDiscriminator",
    "RNNDiscriminatorConfig",
    "RNNState",
    "RecurrentConfig",
    "Seq2Seq",
    "Seq2SeqConfig",
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

from lhyrl.nn.dialogue import (
    HierarchicalDiscriminator,
    HierarchicalDiscriminatorConfig,
    UtteranceEncoder,
    UtteranceEncoderConfig,
    stack_turns,
)

__all__ += [
    "HierarchicalDiscriminator",
    "HierarchicalDiscriminatorConfig",
    "UtteranceEncoder",
    "UtteranceEncoderConfig",
    "stack_turns",
]
