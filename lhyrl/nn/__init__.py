"""Shared model parts, torch only: recurrent models, seq2seq, attention, discriminators, oracles.

Also domain confusion over frames (gradient reversal, a CNN over stacked frames).
"""

from lhyrl.nn.attention import AdditiveAttention, Attention, DotProductAttention
from lhyrl.nn.domain import (
    DomainConfusionConfig,
    DomainConfusionDiscriminator,
    FrameEncoder,
    FrameEncoderConfig,
    GradientReversal,
    frames_to_tensor,
    reverse_gradient,
)
from lhyrl.nn.gan import (
    CNNDiscriminator,
    CNNDiscriminatorConfig,
    DiscriminatorEnsemble,
    DiscriminatorObjective,
    DiscriminatorRemedies,
    MLPAutoEncoderConfig,
    MLPAutoEncoderDiscriminator,
    MLPDiscriminator,
    MLPDiscriminatorConfig,
    RNNDiscriminator,
    RNNDiscriminatorConfig,
    SequenceAutoEncoderConfig,
    SequenceAutoEncoderDiscriminator,
    bce_discriminator_loss,
    bce_generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    make_objective,
    objective_names,
    register_objective,
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
    "DiscriminatorEnsemble",
    "DiscriminatorObjective",
    "DiscriminatorRemedies",
    "DotProductAttention",
    "EncodedSource",
    "MLPAutoEncoderConfig",
    "MLPAutoEncoderDiscriminator",
    "MLPDiscriminator",
    "MLPDiscriminatorConfig",
    "RNNDiscriminator",
    "RNNDiscriminatorConfig",
    "RNNState",
    "RecurrentConfig",
    "Seq2Seq",
    "Seq2SeqConfig",
    "SequenceAutoEncoderConfig",
    "SequenceAutoEncoderDiscriminator",
    "SequenceEncoder",
    "SequenceGenerator",
    "bce_discriminator_loss",
    "bce_generator_loss",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "load_oracle",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "make_objective",
    "objective_names",
    "random_oracle",
    "register_objective",
    "sample_categorical",
    "save_oracle",
    "wgan_discriminator_loss",
    "wgan_generator_loss",
]

from lhyrl.nn.dialogue import (
    DialogueAutoEncoderDiscriminator,
    HierarchicalDiscriminator,
    HierarchicalDiscriminatorConfig,
    UtteranceEncoder,
    UtteranceEncoderConfig,
    stack_turns,
)

__all__ += [
    "DialogueAutoEncoderDiscriminator",
    "HierarchicalDiscriminator",
    "HierarchicalDiscriminatorConfig",
    "UtteranceEncoder",
    "UtteranceEncoderConfig",
    "stack_turns",
]


__all__ += [
    "DomainConfusionConfig",
    "DomainConfusionDiscriminator",
    "FrameEncoder",
    "FrameEncoderConfig",
    "GradientReversal",
    "frames_to_tensor",
    "reverse_gradient",
]
