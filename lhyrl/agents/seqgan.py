"""Policy-gradient sequence generation: SeqGAN (Yu et al. 2017) and PG-BLEU.

Both treat the generator as a policy (state: the prefix, action: the next token) and train it
with REINFORCE from an MLE-pretrained start.

* :class:`PGBLEU` rewards each sampled sequence with its BLEU against the real data, minus a
  baseline (the batch mean).
* :class:`SeqGAN` rewards every token: the reward of ``x_t`` given ``x_<t`` is the mean over
  N Monte Carlo completions of the discriminator's reward of the completed sequence (for
  ``t = T`` the reward of the sequence itself): with the default ``bce`` objective, the
  probability that it is real, as in the paper; with the other objectives of
  :mod:`lhyrl.nn.gan.objectives`, their generator reward. Completions come from a *rollout
  network*, a copy of the generator that follows it with a delay. The discriminator is
  retrained on fresh negatives after each generator update.

The reward arithmetic is in standalone tensor functions (:func:`monte_carlo_rewards`,
:func:`policy_gradient_loss`, :func:`update_rollout_network`, :class:`BLEUReward`) so it can be
checked by hand. All N x (T - 1) completions of a batch are drawn by one call of
:meth:`~lhyrl.nn.recurrent.SequenceGenerator.monte_carlo_completions` and scored by the
discriminator in a few large batches.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from lhyrl.agents.sequence_base import SequenceTrainer, _as_data, _check_checkpointing
from lhyrl.agents.trainer import Checkpoints
from lhyrl.nn.gan import (
    DEFAULT_SETTINGS,
    CNNDiscriminator,
    CNNDiscriminatorConfig,
    DiscriminatorEnsemble,
    DiscriminatorObjective,
    DiscriminatorRemedies,
    SequenceAutoEncoderConfig,
    SequenceAutoEncoderDiscriminator,
    apply_spectral_norm,
)
from lhyrl.nn.recurrent import SequenceGenerator

__all__ = [
    "PGBLEU",
    "BLEUReward",
    "SeqGAN",
    "monte_carlo_rewards",
    "policy_gradient_loss",
    "update_rollout_network",
]

TOKEN_OBJECTIVE_DEFAULTS: dict[str, dict[str, Any]] = {"bce": {"reward": "probability"}}
"""SeqGAN's (and REGS's) defaults of objective options: with ``bce``, the reward is the
discriminator's probability that a sequence is real, as in both papers."""


def monte_carlo_rewards(completion_rewards: Tensor, final_rewards: Tensor) -> Tensor:
    """SeqGAN's per-token rewards from the discriminator's rewards of Monte Carlo completions.

    Args:
        completion_rewards: (T - 1, N, B) reward (with ``bce``: probability of "real") of
            completion ``n`` of the prefix of length ``t`` (index ``t - 1``) of sequence ``b``.
        final_rewards: (B,) reward of each whole sequence.

    Returns:
        (B, T) rewards: ``Q[b, t - 1] = mean_n completion_rewards[t - 1, n, b]`` for
        ``t < T`` and ``Q[b, T - 1] = final_rewards[b]``.
    """
    partial = completion_rewards.mean(1).transpose(0, 1)  # (B, T - 1)
    return torch.cat([partial, final_rewards.unsqueeze(1)], 1)  # (B, T)


def policy_gradient_loss(log_probs: Tensor, rewards: Tensor) -> Tensor:
    """REINFORCE loss ``-mean_{b,t}(log pi(x_t | x_<t) * Q(b, t))``; rewards carry no gradient.

    Args:
        log_probs: (B, T) log-probabilities of the sampled tokens (differentiable).
        rewards: (B, T) reward (or advantage) of each token.

    Returns:
        The scalar loss to minimise.
    """
    return -(log_probs * rewards.detach()).mean()


@torch.no_grad()
def update_rollout_network(rollout: nn.Module, generator: nn.Module, delay: float) -> None:
    """Move the rollout network towards the generator: ``r <- delay * r + (1 - delay) * g``.

    Args:
        rollout: The delayed copy, updated in place.
        generator: The network it follows (same architecture).
        delay: Weight kept on the rollout network's own parameters (SeqGAN: 0.8).
    """
    if not 0.0 <= delay <= 1.0:
        raise ValueError(f"delay must lie in [0, 1], got {delay}")
    for r, g in zip(rollout.parameters(), generator.parameters(), strict=True):
        r.mul_(delay).add_(g, alpha=1.0 - delay)


# --- BLEU as a tensor function ------------------------------------------------------------


def _ngram_keys(tokens: Tensor, n: int, vocab_size: int) -> Tensor:
    """Encode every n-gram of each row as one integer: (N, T) → (N, T - n + 1) int64."""
    windows = tokens.unfold(1, n, 1)  # (N, L, n)
    powers = vocab_size ** torch.arange(n - 1, -1, -1, device=tokens.device)  # (n,)
    return (windows * powers).sum(-1)  # (N, L)


def _counts_in_row(keys: Tensor) -> Tensor:
    """How often each entry's n-gram occurs in its own row: (N, L) → (N, L)."""
    return (keys.unsqueeze(2) == keys.unsqueeze(1)).sum(2)  # (N, L)


class BLEUReward:
    """Sentence BLEU-n of candidates against a fixed reference set, as tensor operations.

    Equal to NLTK's ``sentence_bleu(references, candidate, (1/n,)*n,
    smoothing_function=SmoothingFunction().method1)`` (as :func:`lhyrl.metrics.bleu` computes
    it) when every sequence has the same length, so the brevity penalty is 1. The references'
    n-gram counts (for each n-gram, its largest count within one reference) are built once.

    Args:
        references: (R, T) long tokens.
        vocab_size: Number of tokens V; ``V ** n`` must fit in int64.
        n: Highest n-gram order.
        epsilon: The smoothing of ``method1`` (a precision with no match counts epsilon).
    """

    def __init__(
        self, references: Tensor, *, vocab_size: int, n: int = 4, epsilon: float = 0.1
    ) -> None:
        if vocab_size**n >= 2**63:
            raise ValueError(f"V ** n = {vocab_size}**{n} does not fit in int64")
        if references.shape[1] < n:
            raise ValueError(f"sequences of {references.shape[1]} tokens have no {n}-grams")
        self.vocab_size, self.n, self.epsilon = vocab_size, n, epsilon
        self.seq_len = references.shape[1]
        self._tables: list[tuple[Tensor, Tensor]] = []
        for order in range(1, n + 1):
            keys = _ngram_keys(references, order, vocab_size)  # (R, L)
            unique, inverse = torch.unique(keys.flatten(), return_inverse=True)  # (U,)
            most = torch.zeros(len(unique), dtype=torch.long, device=keys.device)
            most.scatter_reduce_(0, inverse, _counts_in_row(keys).flatten(), "amax")  # (U,)
            self._tables.append((unique, most))

    def __call__(self, candidates: Tensor) -> Tensor:
        """BLEU-n of each candidate: (B, T) long → (B,) float in [0, 1]."""
        if candidates.shape[1] != self.seq_len:
            raise ValueError(
                f"candidates have {candidates.shape[1]} tokens, references {self.seq_len}; "
                "this BLEU assumes equal lengths (brevity penalty 1)"
            )
        log_precisions = []
        for order, (unique, most) in enumerate(self._tables, start=1):
            keys = _ngram_keys(candidates, order, self.vocab_size)  # (B, L)
            counts = _counts_in_row(keys)  # (B, L)
            index = torch.searchsorted(unique, keys).clamp_(max=len(unique) - 1)  # (B, L)
            ref_most = torch.where(unique[index] == keys, most[index], 0)  # (B, L)
            # Each occurrence of an n-gram seen c times adds min(c, ref_most) / c: the clip.
            matches = (torch.minimum(counts, ref_most) / counts).sum(1)  # (B,)
            total = keys.shape[1]
            if order == 1:
                no_unigram = matches == 0
            precision = torch.where(matches > 0, matches, self.epsilon) / total  # (B,)
            log_precisions.append(precision.log())
        score = torch.stack(log_precisions, 1).mean(1).exp()  # (B,)
        return torch.where(no_unigram, 0.0, score)


# --- PG-BLEU ------------------------------------------------------------------------------


class PGBLEU(SequenceTrainer):
    """REINFORCE with a per-sequence BLEU reward against the real data and a mean baseline.

    Args:
        bleu_order: The BLEU-n of the reward.
        generator_steps: Policy-gradient updates per epoch.
        **kwargs: See :class:`SequenceTrainer`.
    """

    def __init__(self, *, bleu_order: int = 4, generator_steps: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bleu_order = int(bleu_order)
        self.generator_steps = int(generator_steps)
        self._reward: BLEUReward | None = None
        self._reward_data: Tensor | None = None

    def _trainer_kwargs(self) -> dict[str, Any]:
        extra = {"bleu_order": self.bleu_order, "generator_steps": self.generator_steps}
        return {**super()._trainer_kwargs(), **extra}

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        self.train(
            self._learn_data(),
            n_epochs=total,
            **self._learn_schedule(checkpoints),
        )

    def policy_step(self, reward_fn: BLEUReward) -> float:
        """One REINFORCE update on a fresh batch; returns the batch's mean reward."""
        samples = self.sample(self.batch_size)  # (B, T)
        reward = reward_fn(samples)  # (B,)
        advantage = (reward - reward.mean()).unsqueeze(1).expand(-1, self.seq_len)  # (B, T)
        self.generator.train()
        with self._global_rng_from_own(self._generator_has_dropout):
            log_probs = self.generator.log_prob(samples, self.start_token)  # (B, T)
            self._generator_step(policy_gradient_loss(log_probs, advantage))
        return float(reward.mean())

    def train(
        self,
        data: Tensor,
        *,
        n_epochs: int,
        test_data: Tensor | None = None,
        eval_every: int = 1,
        log_text_every: int = 10,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1,
    ) -> None:
        """Run ``n_epochs`` epochs of :attr:`generator_steps` updates; ``data`` are the references.

        After :meth:`~lhyrl.agents.sequence_base.SequenceTrainer.resume`, ``n_epochs`` counts
        the whole run.

        Args:
            data: Real sequences (N, T), the BLEU references.
            n_epochs: Epochs to run.
            test_data: Held-out sequences for ``eval/nll_test``.
            eval_every: Evaluate every this many epochs (0: never).
            log_text_every: Log sampled sequences every this many epochs (0: never).
            checkpoint_dir: If given, a checkpoint goes there whenever :attr:`num_epochs` is a
                multiple of ``checkpoint_every``, and at the end.
            checkpoint_every: Epochs between checkpoints.
        """
        _check_checkpointing(checkpoint_every)
        data = _as_data(data, self.seq_len, self.batch_size).to(self.device)
        if self._reward_data is not data:
            self._reward = BLEUReward(data, vocab_size=self.vocab_size, n=self.bleu_order)
            self._reward_data = data
        assert self._reward is not None
        progress = self._begin_progress(epoch=0)
        while progress["epoch"] < n_epochs:
            rewards = [self.policy_step(self._reward) for _ in range(self.generator_steps)]
            progress["epoch"] += 1
            self.logger.record("train/bleu_reward", sum(rewards) / len(rewards))
            self._end_epoch(log_text_every, test_data, eval_every)
            self._maybe_checkpoint(checkpoint_dir, checkpoint_every)
        if checkpoint_dir is not None:
            self.save_checkpoint(checkpoint_dir)


# --- SeqGAN -------------------------------------------------------------------------------


class SeqGAN(SequenceTrainer):
    """SeqGAN: a generator trained by policy gradient on a CNN discriminator's Monte Carlo reward.

    :meth:`train` optionally pretrains (generator by MLE; discriminator on real data against
    generated negatives), then runs adversarial epochs. Each adversarial epoch makes
    ``generator_steps`` policy-gradient updates (each on B fresh samples with per-token rewards
    from ``n_rollouts`` completions by the rollout network), moves the rollout network towards
    the generator, and retrains the discriminator for ``discriminator_rounds`` rounds, each on
    ``discriminator_samples`` fresh negatives and as many real sequences for
    ``discriminator_epochs`` epochs. The paper uses 1 update, 16 rollouts, delay 0.8 and
    5 rounds of 3 epochs on 10,000 negatives; fewer discriminator epochs cost far less.

    The discriminator side is a :class:`~lhyrl.nn.gan.DiscriminatorEnsemble`, as in GAIL, AIRL
    and REGS: ``disc_loss`` names its objective (which also defines the reward) and the
    remedies are shared with them. Token inputs take input noise on the token embeddings and
    the gradient penalty at the embeddings of the real and generated sequences. A discriminator
    round is one epoch of the objective (MAGAN's margin adapts after it; its first round, e.g.
    the pretraining, trains the auto-encoder on real sequences and sets the margin).

    Args:
        discriminator_config: Sizes of the CNN (logit objectives); ``None`` for SeqGAN's CNN
            for this ``vocab_size``.
        autoencoder_config: Sizes of the sequence auto-encoder of ``ebgan`` and ``magan``;
            ``None`` for the defaults of
            :class:`~lhyrl.nn.gan.SequenceAutoEncoderConfig` for this ``vocab_size``.
        disc_loss: The discriminator objective (:func:`lhyrl.nn.gan.objective_names`); with
            ``"bce"`` (the default) the reward is the probability of "real", as in the paper.
        grad_penalty: Gradient penalty weight; ``None`` for the objective's default.
        label_smoothing: One-sided label smoothing (``bce``, ``lsgan``).
        input_noise: Std of Gaussian noise on the discriminator's token embeddings, decaying
            linearly to 0 over the adversarial epochs (full during pretraining).
        spectral_norm: Spectral normalisation of the discriminator's linear and convolution
            layers.
        replay_ratio: Share of each round's negatives drawn from a reservoir of earlier
            rounds' generated sequences.
        replay_capacity: Sequences the reservoir holds.
        ensemble_size: Discriminators, each trained on its own bootstrap resample of each
            batch; the reward combines theirs by ``ensemble_reward`` (``"mean"``, ``"min"``).
        ensemble_reward: ``"mean"`` or ``"min"``.
        n_rollouts: Monte Carlo completions N per prefix.
        rollout_delay: Weight the rollout network keeps on itself at each update.
        generator_steps: Policy-gradient updates per adversarial epoch.
        adversarial_learning_rate: Adam's learning rate of the policy-gradient updates
            (a fresh optimizer); ``None`` for ``learning_rate``.
        discriminator_learning_rate: Adam's learning rate of the discriminator (paper: 1e-4).
        discriminator_batch_size: Sequences (half real, half generated) per discriminator step.
        discriminator_rounds: Rounds of fresh negatives per adversarial epoch.
        discriminator_epochs: Epochs over each round's data.
        discriminator_samples: Negatives per round; ``None`` for as many as the real data.
        pretrain_discriminator_samples: Negatives per round of the discriminator's
            pretraining in :meth:`train`; ``None`` for ``discriminator_samples``.
        score_batch_size: Completions scored per discriminator forward pass.
        pretrain_generator_epochs: MLE epochs that :meth:`learn` runs first (0 when the
            generator is pretrained, e.g. by :meth:`load_generator_weights`).
        pretrain_discriminator_rounds: Discriminator rounds :meth:`learn` runs before the
            adversarial epochs.
        **kwargs: See :class:`SequenceTrainer`.

    ``learn(total)`` counts every generator epoch of the run, the
    ``pretrain_generator_epochs`` MLE epochs included: it runs
    ``total - pretrain_generator_epochs`` adversarial epochs.
    """

    def __init__(
        self,
        *,
        discriminator_config: CNNDiscriminatorConfig | Mapping[str, Any] | None = None,
        autoencoder_config: SequenceAutoEncoderConfig | Mapping[str, Any] | None = None,
        disc_loss: str = "bce",
        grad_penalty: float | None = None,
        label_smoothing: float = 0.0,
        input_noise: float = 0.0,
        spectral_norm: bool = False,
        replay_ratio: float = 0.0,
        replay_capacity: int = 10_000,
        ensemble_size: int = 1,
        ensemble_reward: Literal["mean", "min"] = "mean",
        n_rollouts: int = 16,
        rollout_delay: float = 0.8,
        generator_steps: int = 1,
        adversarial_learning_rate: float | None = None,
        discriminator_learning_rate: float = 1e-4,
        discriminator_batch_size: int = 64,
        discriminator_rounds: int = 5,
        discriminator_epochs: int = 3,
        discriminator_samples: int | None = None,
        pretrain_discriminator_samples: int | None = None,
        score_batch_size: int = 4096,
        pretrain_generator_epochs: int = 0,
        pretrain_discriminator_rounds: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if pretrain_generator_epochs < 0 or pretrain_discriminator_rounds < 0:
            raise ValueError(
                "pretrain_generator_epochs and pretrain_discriminator_rounds must be >= 0, got "
                f"{pretrain_generator_epochs} and {pretrain_discriminator_rounds}"
            )
        self.pretrain_generator_epochs = int(pretrain_generator_epochs)
        self.pretrain_discriminator_rounds = int(pretrain_discriminator_rounds)
        if discriminator_config is None:
            discriminator_config = CNNDiscriminatorConfig(vocab_size=self.vocab_size)
        elif isinstance(discriminator_config, Mapping):
            discriminator_config = _cnn_config(discriminator_config)
        self.discriminator_config = discriminator_config
        if autoencoder_config is None:
            autoencoder_config = SequenceAutoEncoderConfig(vocab_size=self.vocab_size)
        elif isinstance(autoencoder_config, Mapping):
            autoencoder_config = SequenceAutoEncoderConfig(**autoencoder_config)
        self.autoencoder_config = autoencoder_config
        self.remedies = DiscriminatorRemedies(
            grad_penalty=grad_penalty,
            label_smoothing=label_smoothing,
            input_noise=input_noise,
            spectral_norm=spectral_norm,
            replay_ratio=replay_ratio,
            replay_capacity=replay_capacity,
            ensemble_size=ensemble_size,
            ensemble_reward=ensemble_reward,
        )
        self.disc_loss = disc_loss
        objective = self.remedies.objective(disc_loss, defaults=TOKEN_OBJECTIVE_DEFAULTS)
        self.n_rollouts = int(n_rollouts)
        self.rollout_delay = float(rollout_delay)
        self.generator_steps = int(generator_steps)
        self.adversarial_learning_rate = adversarial_learning_rate
        self.discriminator_learning_rate = float(discriminator_learning_rate)
        self.discriminator_batch_size = int(discriminator_batch_size)
        self.discriminator_rounds = int(discriminator_rounds)
        self.discriminator_epochs = int(discriminator_epochs)
        self.discriminator_samples = discriminator_samples
        self.pretrain_discriminator_samples = pretrain_discriminator_samples
        self.score_batch_size = int(score_batch_size)
        self.discriminators = DiscriminatorEnsemble(
            list(self._seeded(lambda: nn.ModuleList(self._new_discriminators(objective)), 1)),
            objective=objective,
            remedies=self.remedies,
            generator=self.rng,
            inputs="tokens",
            learning_rate=self.discriminator_learning_rate,
        )
        """The discriminator(s), their objective, optimizer and remedies."""
        self._reset_adversarial_state()

    def _new_discriminators(self, objective: DiscriminatorObjective) -> list[nn.Module]:
        """``ensemble_size`` fresh discriminators of the kind the objective reads."""
        members: list[nn.Module] = []
        for _ in range(self.remedies.ensemble_size):
            if objective.needs_energy:
                member: nn.Module = SequenceAutoEncoderDiscriminator(self.autoencoder_config)
            else:
                member = CNNDiscriminator(self.discriminator_config)
            if self.remedies.spectral_norm:
                apply_spectral_norm(member)
            members.append(member)
        return members

    @property
    def discriminator(self) -> nn.Module:
        """The (first) discriminator; setting it replaces it (and restarts the optimizer)."""
        return self.discriminators.members[0]

    @discriminator.setter
    def discriminator(self, module: nn.Module) -> None:
        self.discriminators.replace_member(0, module)

    @property
    def discriminator_optimizer(self) -> torch.optim.Optimizer:
        """The discriminators' Adam optimizer."""
        return self.discriminators.optimizer

    def _reset_adversarial_state(self) -> None:
        """Rollout network = a copy of the generator; a fresh policy-gradient optimizer."""
        self.rollout: SequenceGenerator = copy.deepcopy(self.generator).eval()
        self.rollout.requires_grad_(False)
        lr = self.adversarial_learning_rate or self.learning_rate
        self.pg_optimizer = torch.optim.Adam(self.generator.parameters(), lr=lr)

    def load_generator_weights(self, source: SequenceGenerator) -> None:
        """Start from another generator's weights; the rollout network copies them too."""
        super().load_generator_weights(source)
        self._reset_adversarial_state()

    # --- files ----------------------------------------------------------------------------

    def _trainer_kwargs(self) -> dict[str, Any]:
        names = [
            "n_rollouts",
            "rollout_delay",
            "generator_steps",
            "adversarial_learning_rate",
            "discriminator_learning_rate",
            "discriminator_batch_size",
            "discriminator_rounds",
            "discriminator_epochs",
            "discriminator_samples",
            "pretrain_discriminator_samples",
            "score_batch_size",
            "pretrain_generator_epochs",
            "pretrain_discriminator_rounds",
        ]
        return {
            **super()._trainer_kwargs(),
            **{name: getattr(self, name) for name in names},
            **self.remedies.settings(self.disc_loss),
        }

    def _configs(self) -> dict[str, Any]:
        config = dataclasses.asdict(self.discriminator_config)
        for key in ("filter_sizes", "num_filters"):
            config[key] = list(config[key])
        configs = {**super()._configs(), "discriminator_config": config}
        if self.discriminators.objective.needs_energy:
            configs["autoencoder_config"] = dataclasses.asdict(self.autoencoder_config)
        return configs

    @classmethod
    def _configs_from_data(cls, configs: Mapping[str, Any]) -> dict[str, Any]:
        discriminator = _cnn_config(configs["discriminator_config"])
        out = {**super()._configs_from_data(configs), "discriminator_config": discriminator}
        if "autoencoder_config" in configs:
            out["autoencoder_config"] = SequenceAutoEncoderConfig(**configs["autoencoder_config"])
        return out

    def _modules(self) -> dict[str, nn.Module]:
        members = {
            "discriminator" if i == 0 else f"discriminator_{i}": member
            for i, member in enumerate(self.discriminators.members)
        }
        return {**super()._modules(), **members, "rollout": self.rollout}

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            **super()._optimizers(),
            "discriminator": self.discriminator_optimizer,
            "policy_gradient": self.pg_optimizer,
        }

    def _file_data(self) -> dict[str, Any]:
        """The base's file, and the objective's state (MAGAN's margin) and the replay."""
        extra = self.discriminators.extra_state(members=False)  # members are modules here
        return {**super()._file_data(), "discriminator_state": extra}

    def _restore_checkpoint_state(
        self, state: Mapping[str, Any], directory: Path, path: Path
    ) -> None:
        # A checkpoint from before the shared discriminator saved no discriminator settings:
        # they were the defaults.
        kwargs = {**DEFAULT_SETTINGS, **state["kwargs"]}
        super()._restore_checkpoint_state({**state, "kwargs": kwargs}, directory, path)

    def _restore_state(self, data: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
        super()._restore_state(data, path)
        self.discriminators.load_extra_state(
            data.get("discriminator_state"), where=f"{path} ", members=False
        )

    # --- discriminator --------------------------------------------------------------------

    @torch.no_grad()
    def discriminator_rewards(self, sequences: Tensor) -> Tensor:
        """The discriminators' reward of each sequence (eval mode): (M, T) → (M,).

        With the default ``bce``, the probability that the sequence is real.
        """
        self.discriminators.members.eval()
        chunks = sequences.split(self.score_batch_size)
        return torch.cat([self.discriminators.reward(chunk) for chunk in chunks])

    def train_discriminator(
        self,
        data: Tensor,
        *,
        rounds: int,
        epochs: int,
        samples: int | None = None,
        noise_scale: float = 1.0,
    ) -> float:
        """Rounds of fresh negatives against real data; returns the last epoch's accuracy.

        Each round samples ``samples`` negatives (default: :attr:`discriminator_samples`, or
        ``len(data)`` if that is ``None``; a ``replay_ratio`` share of them then replaced by
        sequences of earlier rounds, to which the fresh ones are added after the round) and
        as many real sequences, then runs ``epochs`` epochs of steps of the objective on
        batches of half real, half generated sequences. Dropout draws from :attr:`rng` too.
        Logs ``train/disc_loss`` and ``train/disc_accuracy``.

        Args:
            data: Real sequences (N, T).
            rounds: Rounds of fresh negatives.
            epochs: Epochs over each round's data.
            samples: Negatives per round.
            noise_scale: Multiplies ``input_noise``.
        """
        if samples is None:
            samples = self.discriminator_samples
        n = len(data) if samples is None else min(int(samples), len(data))
        half = max(1, self.discriminator_batch_size // 2)
        members = self.discriminators.members
        dropout = any(isinstance(m, nn.Dropout) and m.p > 0 for m in members.modules())
        replay = self.discriminators.replay
        accuracy = float("nan")
        stats: dict[str, float] = {}
        for _ in range(rounds):
            fresh = self.sample(n)  # (n, T)
            fake = fresh if replay is None else replay.mix(fresh)[0]
            real = data[torch.randperm(len(data), generator=self.rng, device=self.device)[:n]]
            for _ in range(epochs):
                members.train()
                real_order = torch.randperm(n, generator=self.rng, device=self.device)
                fake_order = torch.randperm(n, generator=self.rng, device=self.device)
                losses, correct = [], []
                with self._global_rng_from_own(dropout):
                    for start in range(0, n - half + 1, half):
                        stats = self.discriminators.update(
                            real[real_order[start : start + half]],
                            fake[fake_order[start : start + half]],
                            noise_scale=noise_scale,
                        )
                        losses.append(stats["loss"])
                        correct.append((stats["real_accuracy"] + stats["fake_accuracy"]) / 2)
                accuracy = sum(correct) / len(correct)
                self.logger.record("train/disc_loss", sum(losses) / len(losses))
                self.logger.record("train/disc_accuracy", accuracy)
                if "margin" in stats:
                    self.logger.record("train/disc_margin", stats["margin"])
            if replay is not None:
                replay.add(fresh)
            self.discriminators.end_epoch()
        return accuracy

    # --- generator ------------------------------------------------------------------------

    def rewards(self, sequences: Tensor) -> Tensor:
        """Per-token Monte Carlo rewards of ``sequences`` (B, T) → (B, T), from the rollout net."""
        batch_size, length = sequences.shape
        completions = self.rollout.monte_carlo_completions(
            sequences, self.n_rollouts, start_token=self.start_token, generator=self.rng
        )  # (T - 1, N, B, T)
        scores = self.discriminator_rewards(completions.view(-1, length))  # ((T - 1) * N * B,)
        scores = scores.view(length - 1, self.n_rollouts, batch_size)  # (T - 1, N, B)
        return monte_carlo_rewards(scores, self.discriminator_rewards(sequences))  # (B, T)

    def policy_step(self) -> float:
        """One policy-gradient update on B fresh samples; returns their mean reward."""
        samples = self.sample(self.batch_size)  # (B, T)
        rewards = self.rewards(samples)  # (B, T)
        self.generator.train()
        with self._global_rng_from_own(self._generator_has_dropout):
            log_probs = self.generator.log_prob(samples, self.start_token)  # (B, T)
            self._generator_step(policy_gradient_loss(log_probs, rewards), self.pg_optimizer)
        return float(rewards.mean())

    def train(
        self,
        data: Tensor,
        *,
        adversarial_epochs: int,
        pretrain_generator_epochs: int = 0,
        pretrain_discriminator_rounds: int = 0,
        test_data: Tensor | None = None,
        eval_every: int = 1,
        log_text_every: int = 10,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1,
    ) -> None:
        """Pretrain (optionally), then run adversarial epochs.

        After :meth:`~lhyrl.agents.sequence_base.SequenceTrainer.resume`, the budgets count
        the whole run: each phase continues where the checkpoint left it.

        Args:
            data: Real sequences (N, T).
            adversarial_epochs: Adversarial epochs to run.
            pretrain_generator_epochs: MLE epochs first (0 when the generator is pretrained,
                e.g. by :meth:`load_generator_weights`).
            pretrain_discriminator_rounds: Discriminator rounds (of ``discriminator_epochs``
                epochs each, on ``pretrain_discriminator_samples`` negatives) before the
                adversarial epochs.
            test_data: Held-out sequences for ``eval/nll_test``.
            eval_every: Evaluate every this many epochs (0: never).
            log_text_every: Log sampled sequences every this many epochs (0: never).
            checkpoint_dir: If given, a checkpoint goes there whenever :attr:`num_epochs`
                (pretraining and adversarial epochs) is a multiple of ``checkpoint_every``,
                after the discriminator's pretraining, and at the end.
            checkpoint_every: Epochs between checkpoints.
        """
        _check_checkpointing(checkpoint_every)
        data = _as_data(data, self.seq_len, self.batch_size).to(self.device)
        progress = self._begin_progress(pretrain_epoch=0, pretrain_round=0, adversarial_epoch=0)
        while progress["pretrain_epoch"] < pretrain_generator_epochs:
            self.mle_epoch(data)
            progress["pretrain_epoch"] += 1
            self._end_epoch(log_text_every, test_data, eval_every)
            if progress["pretrain_epoch"] == pretrain_generator_epochs:
                self._reset_adversarial_state()  # before the checkpoint, so it is done once
            self._maybe_checkpoint(checkpoint_dir, checkpoint_every)
        if progress["pretrain_round"] < pretrain_discriminator_rounds:
            while progress["pretrain_round"] < pretrain_discriminator_rounds:
                self.train_discriminator(
                    data,
                    rounds=1,
                    epochs=self.discriminator_epochs,
                    samples=self.pretrain_discriminator_samples,
                )
                progress["pretrain_round"] += 1
            self.logger.dump(step=self.num_updates)
            if checkpoint_dir is not None:
                self.save_checkpoint(checkpoint_dir)
        while progress["adversarial_epoch"] < adversarial_epochs:
            rewards = [self.policy_step() for _ in range(self.generator_steps)]
            update_rollout_network(self.rollout, self.generator, self.rollout_delay)
            self.logger.record("train/reward", sum(rewards) / len(rewards))
            self.train_discriminator(
                data,
                rounds=self.discriminator_rounds,
                epochs=self.discriminator_epochs,
                noise_scale=1.0 - progress["adversarial_epoch"] / adversarial_epochs,
            )
            progress["adversarial_epoch"] += 1
            self._end_epoch(log_text_every, test_data, eval_every)
            self._maybe_checkpoint(checkpoint_dir, checkpoint_every)
        if checkpoint_dir is not None:
            self.save_checkpoint(checkpoint_dir)

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        if total < self.pretrain_generator_epochs:
            raise ValueError(
                f"SeqGAN.learn counts the {self.pretrain_generator_epochs} MLE pretraining "
                f"epochs too; total={total} leaves no adversarial epoch"
            )
        self.train(
            self._learn_data(),
            adversarial_epochs=total - self.pretrain_generator_epochs,
            pretrain_generator_epochs=self.pretrain_generator_epochs,
            pretrain_discriminator_rounds=self.pretrain_discriminator_rounds,
            **self._learn_schedule(checkpoints),
        )


def _cnn_config(data: Mapping[str, Any]) -> CNNDiscriminatorConfig:
    config = dict(data)
    for key in ("filter_sizes", "num_filters"):
        config[key] = tuple(int(v) for v in config[key])
    return CNNDiscriminatorConfig(**config)
