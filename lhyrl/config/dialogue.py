"""Config sections of the dialogue algorithms: MLE, MMI, dialogue RL (Li et al. 2016), REGS (2017).

All four read :class:`DialogueConfig` (the corpus and its split, the chat model, the schedule,
the simulated user of ``lhyrl/Dialogue-v0``), and MMI, dialogue RL and REGS one section of
their own. Each field is a config key (flat in YAML files and on the command line); the string
under a field is its documentation and its ``--help`` text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lhyrl.config.base import ConfigError, check_at_least
from lhyrl.config.discriminator import DiscriminatorConfig

ATTENTIONS = ("additive", "dot", "none")
BASELINES = ("turn", "mean", "greedy")
EVAL_SPLITS = ("validation", "test")
CORPUS_LANGUAGES = ("english", "chinese")


def _check_positive(section: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(section, name)
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ConfigError(f"{name} must be positive, got {value}")


def _check_non_negative(section: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(section, name)
        if not (value >= 0 and math.isfinite(value)):
            raise ConfigError(f"{name} must be non-negative, got {value}")


@dataclass
class DialogueConfig:
    """What every dialogue run reads: data, chat model, schedule, simulated user, evaluation."""

    corpus: str = "english"
    """Dialogue: 'english' or 'chinese' (chatterbot-corpus conversations), or a JSONL / TSV file
    of conversations (lhyrl.data.dialogue)."""
    language: str | None = None
    """Dialogue: tokenization, english (words) or chinese (characters); default: the corpus's,
    or the init model's."""
    data_seed: int = 0
    """Dialogue: seed of the train / validation / test split of the conversations (0: the
    shipped chat models' split; with init, the split its model was trained on)."""
    max_pairs: int | None = None
    """Dialogue: use only the first this many pairs of each split (smoke tests)."""
    context_turns: int = 1
    """Dialogue, new model: turns of history in a context (init: its model's)."""
    source_len: int = 20
    """Dialogue, new model: context tokens read, the last ones (init: its model's)."""
    target_len: int = 20
    """Dialogue, new model: most tokens of a reply, <eos> included (init: its model's)."""
    min_count: int = 1
    """Dialogue, new model: tokens seen fewer times in the training split become <unk> (1 with
    data_seed 0 gives the shipped models' vocabulary, which the simulated user reads)."""
    embedding_dim: int = 64
    """Dialogue, new model: token embedding size (init: its model's)."""
    hidden_dim: int = 64
    """Dialogue, new model: LSTM state size per direction of the encoder (init: its model's)."""
    attention: str = "additive"
    """Dialogue, new model: additive, dot or none (init: its model's)."""
    dropout: float = 0.3
    """Dialogue, new model: dropout of the seq2seq model (init: its model's)."""
    init: str | None = None
    """Dialogue: without init, mmi, dialogue-rl and regs start from the shipped chat model of the
    language, mle from a new model."""
    learning_rate: float | None = None
    """Dialogue: Adam learning rate of the chat model (default 3e-3 for mle, 3e-4 otherwise)."""
    batch_size: int = 32
    """Dialogue: pairs per step (mmi and dialogue-rl: of the MLE term; regs: per discriminator
    or generator update)."""
    grad_clip: float = 5.0
    """Dialogue: largest global gradient norm of a step."""
    epochs: int = 12
    """Dialogue mle: epochs over the training pairs."""
    iterations: int = 150
    """Dialogue mmi, dialogue-rl, regs: training iterations."""
    user_model: str | None = None
    """Dialogue: the simulated user of lhyrl/Dialogue-v0 and forward model of its reward, a chat
    model file or run directory (default: the shipped model of the language)."""
    backward_model: str | None = None
    """Dialogue: the reply -> context model of the reward's semantic coherence (default: the
    shipped one of the language)."""
    max_turns: int = 8
    """Dialogue: agent turns of a simulated dialogue (evaluation; dialogue-rl's training unless
    train_max_turns)."""
    ease_of_answering_weight: float = 0.25
    """Dialogue: weight of ease of answering in Li et al.'s (2016) reward."""
    information_flow_weight: float = 0.25
    """Dialogue: weight of information flow in Li et al.'s (2016) reward."""
    semantic_coherence_weight: float = 0.5
    """Dialogue: weight of semantic coherence in Li et al.'s (2016) reward."""
    eval_split: str = "test"
    """Dialogue: the split evaluations score (its pairs, and its openings for the simulated
    dialogues): test, or validation to choose settings."""
    eval_envs: int = 16
    """Dialogue: simulated dialogues held at once in an evaluation."""

    def __post_init__(self) -> None:
        check_at_least(self, ("epochs", "iterations"), 0)
        check_at_least(
            self,
            (
                "context_turns",
                "source_len",
                "target_len",
                "min_count",
                "embedding_dim",
                "hidden_dim",
                "batch_size",
                "max_turns",
                "eval_envs",
            ),
            1,
        )
        if self.max_pairs is not None:
            check_at_least(self, ("max_pairs",), 1)
        if self.language is not None and self.language not in CORPUS_LANGUAGES:
            raise ConfigError(
                f"language must be one of {CORPUS_LANGUAGES} (or unset), got {self.language!r}"
            )
        if self.attention not in ATTENTIONS:
            raise ConfigError(f"attention must be one of {ATTENTIONS}, got {self.attention!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {self.dropout}")
        _check_positive(self, ("learning_rate", "grad_clip"))
        weights = ("ease_of_answering_weight", "information_flow_weight")
        _check_non_negative(self, (*weights, "semantic_coherence_weight"))
        if self.eval_split not in EVAL_SPLITS:
            raise ConfigError(f"eval_split must be one of {EVAL_SPLITS}, got {self.eval_split!r}")


@dataclass
class DialogueMMIConfig:
    """Li et al.'s (2016) first stage: policy gradient toward replies of high mutual information."""

    candidates: int = 8
    """MMI: replies sampled per context (each one's baseline is the others' mean reward)."""
    contexts_per_step: int = 8
    """MMI: training contexts per iteration."""
    forward_weight: float = 0.0
    """MMI: weight of log p_user(reply | context) beside log p_backward(turn | reply)."""
    mle_weight: float = 0.5
    """MMI and dialogue-rl: weight of a teacher-forced MLE term on batch_size training pairs."""
    temperature: float = 1.0
    """Dialogue mmi, dialogue-rl, regs: sampling temperature of the replies."""

    def __post_init__(self) -> None:
        check_at_least(self, ("candidates",), 2)
        check_at_least(self, ("contexts_per_step",), 1)
        _check_non_negative(self, ("forward_weight", "mle_weight"))
        _check_positive(self, ("temperature",))


@dataclass
class DialogueRLConfig:
    """Li et al.'s (2016) dialogue policy gradient against lhyrl/Dialogue-v0's simulated user."""

    dialogues_per_iteration: int = 16
    """Dialogue-rl: dialogues (envs) per iteration."""
    train_max_turns: int | None = None
    """Dialogue-rl: agent turns of a training dialogue (default: max_turns)."""
    self_play: bool = False
    """Dialogue-rl: the bot talks with itself, as in Li et al.'s simulation (the simulated user's
    model only scores the reward)."""
    baseline: str = "turn"
    """Dialogue-rl: REINFORCE baseline, turn (per turn index), mean (one) or greedy (the greedy
    reply's reward, self-critical; needs gamma 0)."""
    gamma: float = 1.0
    """Dialogue-rl: discount over the agent's turns."""
    entropy_coef: float = 0.0
    """Dialogue-rl: weight of the entropy bonus."""
    mle_weight: float = 0.5
    """MMI and dialogue-rl: weight of a teacher-forced MLE term on batch_size training pairs."""
    temperature: float = 1.0
    """Dialogue mmi, dialogue-rl, regs: sampling temperature of the replies."""

    def __post_init__(self) -> None:
        check_at_least(self, ("dialogues_per_iteration",), 1)
        if self.train_max_turns is not None:
            check_at_least(self, ("train_max_turns",), 1)
        if self.baseline not in BASELINES:
            raise ConfigError(f"baseline must be one of {BASELINES}, got {self.baseline!r}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"gamma must lie in [0, 1], got {self.gamma}")
        if self.baseline == "greedy" and self.gamma != 0:
            raise ConfigError(
                f"baseline greedy scores one turn's greedy reply, so it needs gamma 0, not "
                f"{self.gamma}"
            )
        _check_non_negative(self, ("entropy_coef", "mle_weight"))
        _check_positive(self, ("temperature",))


@dataclass
class REGSConfig(DiscriminatorConfig):
    """REGS (Li et al. 2017): a hierarchical discriminator rewards every generation step.

    The objective and remedies are :class:`~lhyrl.config.discriminator.DiscriminatorConfig`'s.
    """

    pretrain_discriminator_steps: int = 100
    """REGS: discriminator steps before the adversarial iterations."""
    discriminator_steps: int = 1
    """REGS: discriminator updates per iteration."""
    generator_steps: int = 1
    """REGS: generator updates (of batch_size contexts) per iteration."""
    n_rollouts: int = 3
    """REGS: Monte Carlo completions per reply prefix."""
    discriminator_learning_rate: float = 1e-3
    """REGS: Adam learning rate of the discriminator."""
    teacher_forcing: bool = True
    """REGS: follow every generator update by a teacher-forced MLE step on the human replies."""
    temperature: float = 1.0
    """Dialogue mmi, dialogue-rl, regs: sampling temperature of the replies."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least(
            self, ("pretrain_discriminator_steps", "discriminator_steps", "generator_steps"), 0
        )
        check_at_least(self, ("n_rollouts",), 1)
        _check_positive(self, ("discriminator_learning_rate", "temperature"))


SECTIONS: dict[str, type] = {
    "dialogue": DialogueConfig,
    "dialogue_mmi": DialogueMMIConfig,
    "dialogue_rl": DialogueRLConfig,
    "regs": REGSConfig,
}
"""The dialogue sections, by name (the attribute of :class:`~lhyrl.config.RunConfig`)."""
