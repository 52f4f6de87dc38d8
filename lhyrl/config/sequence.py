"""Config sections of the sequence-generation algorithms: MLE, scheduled sampling, PG-BLEU, SeqGAN.

Every one of them reads :class:`SequenceConfig` (the data, the generator, the schedule), plus
its own section. Keys marked "SeqGen-v0:" or "TextGen-v0:" only matter on that env. Each field
is a config key (flat in YAML files and on the command line); the string under a field is its
documentation and its ``--help`` text.
"""

from __future__ import annotations

from dataclasses import dataclass

from lhyrl.config.base import ConfigError, check_at_least
from lhyrl.config.discriminator import DiscriminatorConfig

SAMPLING_SCHEDULES = ("linear", "inverse_sigmoid")


@dataclass
class SequenceConfig:
    """The data, the generator and its schedule: what every sequence-generation run reads."""

    epochs: int = 30
    """Sequence generators: epochs of the whole run (SeqGAN: pretrain_generator_epochs of MLE,
    then adversarial epochs; PG-BLEU: epochs of generator_steps updates)."""
    batch_size: int = 64
    """Sequences per generator step."""
    learning_rate: float = 1e-2
    """Adam learning rate of the generator (SeqGAN: of its MLE pretraining)."""
    embedding_dim: int = 32
    """Token embedding size of the generator."""
    hidden_dim: int = 32
    """LSTM state size of the generator."""
    max_length: int = 20
    """Tokens per sequence: SeqGen-v0's length; TextGen-v0's sentence length (its tokens, then
    <eos> if there is room, then <pad>)."""
    test_size: int = 192
    """Held-out sequences for NLL-test (at least 64: it averages full batches of 64)."""
    init: str | None = None
    """A finished run directory or model file whose model starts this run."""
    init_optimizer: bool = False
    """With init: continue its generator's Adam moments too, at this run's learning_rate (without
    init: no effect)."""
    oracle: str = "seqgan"
    """SeqGen-v0: the oracle LSTM, 'seqgan' (the SeqGAN paper's, shipped), 'random', or an .npz
    file."""
    oracle_seed: int = 0
    """SeqGen-v0: seed of a 'random' oracle."""
    vocab_size: int | None = None
    """SeqGen-v0: tokens of a 'random' oracle (default 5000); a loaded oracle's must agree."""
    train_size: int = 9984
    """SeqGen-v0: oracle samples to train on, drawn (then the test set) with seed 10000 + seed."""
    corpus: str = "english"
    """TextGen-v0: 'english' or 'chinese' (chatterbot-corpus), or a UTF-8 text file of one
    sentence per line."""
    language: str | None = None
    """TextGen-v0: tokenization of a corpus file, english (words) or chinese (characters)."""
    min_count: int = 1
    """TextGen-v0: tokens seen fewer times in the corpus become <unk>."""

    def __post_init__(self) -> None:
        check_at_least(self, ("epochs",), 0)
        check_at_least(
            self, ("batch_size", "embedding_dim", "hidden_dim", "max_length", "train_size"), 1
        )
        check_at_least(self, ("test_size",), 64)
        check_at_least(self, ("oracle_seed",), 0)
        check_at_least(self, ("min_count",), 1)
        if self.vocab_size is not None:
            check_at_least(self, ("vocab_size",), 2)
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")


@dataclass
class SequenceMLEConfig:
    """MLE's step decay of the learning rate."""

    decay_epochs: int = 0
    """MLE: final epochs at learning_rate * decay_factor (0: a constant rate)."""
    decay_factor: float = 0.1
    """MLE: multiplier of the learning rate in the last decay_epochs epochs."""

    def __post_init__(self) -> None:
        check_at_least(self, ("decay_epochs",), 0)
        if self.decay_factor <= 0:
            raise ConfigError(f"decay_factor must be positive, got {self.decay_factor}")


@dataclass
class ScheduledSamplingConfig:
    """Scheduled sampling's probability of feeding the model's own token (Bengio et al. 2015)."""

    sampling_schedule: str = "linear"
    """Scheduled sampling: linear (max * epoch / ramp) or inverse_sigmoid (1 - k / (k +
    exp(epoch / k)), k = ramp), capped at sampling_max_probability."""
    sampling_max_probability: float = 0.25
    """Scheduled sampling: the largest probability of feeding the model's own token."""
    sampling_ramp_epochs: float = 20.0
    """Scheduled sampling: epochs of the linear ramp, or the inverse sigmoid's k (>= 1)."""

    def __post_init__(self) -> None:
        if self.sampling_schedule not in SAMPLING_SCHEDULES:
            raise ConfigError(
                f"sampling_schedule must be one of {SAMPLING_SCHEDULES}, got "
                f"{self.sampling_schedule!r}"
            )
        if not 0.0 <= self.sampling_max_probability <= 1.0:
            raise ConfigError(
                f"sampling_max_probability must lie in [0, 1], got {self.sampling_max_probability}"
            )
        low = 1.0 if self.sampling_schedule == "inverse_sigmoid" else 0.0
        if self.sampling_ramp_epochs <= 0 or self.sampling_ramp_epochs < low:
            raise ConfigError(
                f"sampling_ramp_epochs must be positive (>= 1 for inverse_sigmoid), got "
                f"{self.sampling_ramp_epochs}"
            )


@dataclass
class PGBLEUConfig:
    """PG-BLEU: REINFORCE with a BLEU reward against the training data."""

    bleu_order: int = 4
    """PG-BLEU: the n of the BLEU-n reward."""
    generator_steps: int = 1
    """PG-BLEU and SeqGAN: policy-gradient updates (of batch_size samples) per epoch."""

    def __post_init__(self) -> None:
        check_at_least(self, ("bleu_order", "generator_steps"), 1)


@dataclass
class SeqGANConfig(DiscriminatorConfig):
    """SeqGAN: MLE pretraining, discriminator pretraining, then adversarial epochs.

    The objective and remedies are :class:`~lhyrl.config.discriminator.DiscriminatorConfig`'s.
    """

    pretrain_generator_epochs: int = 0
    """SeqGAN: MLE epochs first, counted in epochs (0 when init gives a pretrained generator)."""
    pretrain_discriminator_rounds: int = 0
    """SeqGAN: discriminator rounds (of discriminator_epochs epochs) before the adversarial
    epochs."""
    pretrain_discriminator_samples: int | None = None
    """SeqGAN: negatives per pretraining round (default: discriminator_samples)."""
    n_rollouts: int = 16
    """SeqGAN: Monte Carlo completions N per prefix."""
    rollout_delay: float = 0.8
    """SeqGAN: weight the rollout network keeps on itself at each update."""
    generator_steps: int = 1
    """PG-BLEU and SeqGAN: policy-gradient updates (of batch_size samples) per epoch."""
    adversarial_learning_rate: float | None = None
    """SeqGAN: Adam learning rate of the policy-gradient updates (default: learning_rate)."""
    discriminator_learning_rate: float = 1e-4
    """SeqGAN: Adam learning rate of the discriminator."""
    discriminator_batch_size: int = 64
    """SeqGAN: sequences (half real, half generated) per discriminator step."""
    discriminator_rounds: int = 5
    """SeqGAN: discriminator rounds of fresh negatives per adversarial epoch."""
    discriminator_epochs: int = 3
    """SeqGAN: epochs over each discriminator round's data."""
    discriminator_samples: int | None = None
    """SeqGAN: negatives (and as many real sequences) per round (default: all the data)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least(self, ("pretrain_generator_epochs", "pretrain_discriminator_rounds"), 0)
        check_at_least(
            self,
            (
                "n_rollouts",
                "generator_steps",
                "discriminator_batch_size",
                "discriminator_rounds",
                "discriminator_epochs",
            ),
            1,
        )
        for name in ("discriminator_samples", "pretrain_discriminator_samples"):
            if getattr(self, name) is not None:
                check_at_least(self, (name,), 1)
        if not 0.0 <= self.rollout_delay <= 1.0:
            raise ConfigError(f"rollout_delay must lie in [0, 1], got {self.rollout_delay}")
        for name in ("adversarial_learning_rate", "discriminator_learning_rate"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{name} must be positive, got {value}")


SECTIONS: dict[str, type] = {
    "sequence": SequenceConfig,
    "sequence_mle": SequenceMLEConfig,
    "scheduled_sampling": ScheduledSamplingConfig,
    "pg_bleu": PGBLEUConfig,
    "seqgan": SeqGANConfig,
}
"""The sequence sections, by name (the attribute of :class:`~lhyrl.config.RunConfig`)."""
