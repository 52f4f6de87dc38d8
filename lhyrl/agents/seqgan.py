"""Policy-gradient sequence generation: SeqGAN (Yu et al. 2017) and PG-BLEU.

Both treat the generator as a policy (state: the prefix, action: the next token) and train it
with REINFORCE from an MLE-pretrained start.

* :class:`PGBLEU` rewards each sampled sequence with its BLEU against the real data, minus a
  baseline (the batch mean).
* :class:`SeqGAN` rewards every token: the reward of ``x_t`` given ``x_<t`` is the mean over
  N Monte Carlo completions of the discriminator's probability that the completed sequence is
  real (for ``t = T`` the score of the sequence itself). Completions come from a *rollout
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
from typing import Any

import torch
from torch import Tensor, nn

from lhyrl.agents.sequence_base import SequenceTrainer, _as_data, _check_checkpointing
from lhyrl.agents.trainer import Checkpoints
from lhyrl.nn.gan import CNNDiscriminator, CNNDiscriminatorConfig, bce_discriminator_loss
from lhyrl.nn.recurrent import SequenceGenerator

__all__ = [
    "PGBLEU",
    "BLEUReward",
    "SeqGAN",
    "monte_carlo_rewards",
    "policy_gradient_loss",
    "update_rollout_network",
]


def monte_carlo_rewards(discriminator_probs: Tensor, final_probs: Tensor) -> Tensor:
    """SeqGAN's per-token rewards from the discriminator's scores of Monte Carlo completions.

    Args:
        discriminator_probs: (T - 1, N, B) probability of "real" of completion ``n`` of the
            prefix of length ``t`` (index ``t - 1``) of sequence ``b``.
        final_probs: (B,) probability of "real" of each whole sequence.

    Returns:
        (B, T) rewards: ``Q[b, t - 1] = mean_n discriminator_probs[t - 1, n, b]`` for
        ``t < T`` and ``Q[b, T - 1] = final_probs[b]``.
    """
    partial = discriminator_probs.mean(1).transpose(0, 1)  # (B, T - 1)
    return torch.cat([partial, final_probs.unsqueeze(1)], 1)  # (B, T)


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

    Args:
        discriminator_config: Sizes; ``None`` for SeqGAN's CNN for this ``vocab_size``.
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
        self.discriminator = self._seeded(lambda: CNNDiscriminator(discriminator_config), 1)
        self.discriminator_optimizer = torch.optim.Adam(
            self.discriminator.parameters(), lr=self.discriminator_learning_rate
        )
        self._reset_adversarial_state()

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
        return {**super()._trainer_kwargs(), **{name: getattr(self, name) for name in names}}

    def _configs(self) -> dict[str, Any]:
        config = dataclasses.asdict(self.discriminator_config)
        for key in ("filter_sizes", "num_filters"):
            config[key] = list(config[key])
        return {**super()._configs(), "discriminator_config": config}

    @classmethod
    def _configs_from_data(cls, configs: Mapping[str, Any]) -> dict[str, Any]:
        discriminator = _cnn_config(configs["discriminator_config"])
        return {**super()._configs_from_data(configs), "discriminator_config": discriminator}

    def _modules(self) -> dict[str, nn.Module]:
        return {
            **super()._modules(),
            "discriminator": self.discriminator,
            "rollout": self.rollout,
        }

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            **super()._optimizers(),
            "discriminator": self.discriminator_optimizer,
            "policy_gradient": self.pg_optimizer,
        }

    # --- discriminator --------------------------------------------------------------------

    @torch.no_grad()
    def discriminator_probs(self, sequences: Tensor) -> Tensor:
        """Probability of "real" for each sequence (eval mode): (M, T) → (M,)."""
        self.discriminator.eval()
        logits = [self.discriminator(chunk) for chunk in sequences.split(self.score_batch_size)]
        return torch.sigmoid(torch.cat(logits))

    def train_discriminator(
        self, data: Tensor, *, rounds: int, epochs: int, samples: int | None = None
    ) -> float:
        """Rounds of fresh negatives against real data; returns the last epoch's accuracy.

        Each round samples ``samples`` negatives (default: :attr:`discriminator_samples`, or
        ``len(data)`` if that is ``None``) and as many real sequences, then runs ``epochs``
        epochs of BCE steps on batches of half real, half generated sequences. Dropout draws
        from :attr:`rng` too. Logs ``train/disc_loss`` and ``train/disc_accuracy``.
        """
        if samples is None:
            samples = self.discriminator_samples
        n = len(data) if samples is None else min(int(samples), len(data))
        half = max(1, self.discriminator_batch_size // 2)
        dropout = any(isinstance(m, nn.Dropout) and m.p > 0 for m in self.discriminator.modules())
        accuracy = float("nan")
        for _ in range(rounds):
            fake = self.sample(n)  # (n, T)
            real = data[torch.randperm(len(data), generator=self.rng, device=self.device)[:n]]
            for _ in range(epochs):
                self.discriminator.train()
                real_order = torch.randperm(n, generator=self.rng, device=self.device)
                fake_order = torch.randperm(n, generator=self.rng, device=self.device)
                losses, correct = [], []
                with self._global_rng_from_own(dropout):
                    for start in range(0, n - half + 1, half):
                        real_logits = self.discriminator(real[real_order[start : start + half]])
                        fake_logits = self.discriminator(fake[fake_order[start : start + half]])
                        loss = bce_discriminator_loss(real_logits, fake_logits)
                        self.discriminator_optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        self.discriminator_optimizer.step()
                        losses.append(loss.detach())
                        correct.append(
                            torch.cat([real_logits > 0, fake_logits < 0]).float().mean().detach()
                        )
                accuracy = float(torch.stack(correct).mean())
                self.logger.record("train/disc_loss", float(torch.stack(losses).mean()))
                self.logger.record("train/disc_accuracy", accuracy)
        return accuracy

    # --- generator ------------------------------------------------------------------------

    def rewards(self, sequences: Tensor) -> Tensor:
        """Per-token Monte Carlo rewards of ``sequences`` (B, T) → (B, T), from the rollout net."""
        batch_size, length = sequences.shape
        completions = self.rollout.monte_carlo_completions(
            sequences, self.n_rollouts, start_token=self.start_token, generator=self.rng
        )  # (T - 1, N, B, T)
        probs = self.discriminator_probs(completions.view(-1, length))  # ((T - 1) * N * B,)
        probs = probs.view(length - 1, self.n_rollouts, batch_size)  # (T - 1, N, B)
        return monte_carlo_rewards(probs, self.discriminator_probs(sequences))  # (B, T)

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
                data, rounds=self.discriminator_rounds, epochs=self.discriminator_epochs
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
