"""Li et al. (2017), "Adversarial Learning for Neural Dialogue Generation": REGS.

The generator is the chat model's seq2seq (initialised by maximum likelihood); the
discriminator a :class:`~lhyrl.nn.dialogue.HierarchicalDiscriminator` that reads a dialogue,
the context's turns and then a reply, and says whether a human wrote the reply. Every
iteration of :class:`AdversarialDialogue`:

1. ``d_steps`` discriminator updates on a batch of human pairs: the human replies labelled 1,
   replies sampled from the generator labelled 0 (by default binary cross-entropy; any
   objective of :mod:`lhyrl.nn.gan.objectives`, ``disc_loss``);
2. ``g_steps`` generator updates on a batch of human contexts. A reply ``y`` is sampled for
   each, and every prefix ``y_{1:t}`` is rewarded by Monte Carlo search (Reward for Every
   Generation Step): ``n_rollouts`` completions of the prefix are sampled from the generator
   and their rewards averaged (with ``bce``, their probabilities of being human, as in the
   paper; else the objective's generator reward); the whole reply is scored directly. The
   policy-gradient loss is ``-mean_b sum_t (Q_t - b) log G(y_t | y_<t, x)`` with ``b`` the
   batch's mean reward (over all real tokens). With ``teacher_forcing`` (Li et al.'s fix for
   an unstable generator), an MLE step on the same contexts' human replies follows.

Sources are those of :class:`~lhyrl.nn.chat_model.ChatModel`: a context's turns joined by the
turn separator ``<sep>`` (id 4); :func:`split_turns` cuts them back into turns.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F  # noqa: N812
from stable_baselines3.common.logger import Logger
from torch import Tensor, nn

from lhyrl.agents.checkpoint import seeded_global_rng
from lhyrl.agents.dialogue.base import DialogueTrainer
from lhyrl.agents.dialogue.rl import evaluation_mode
from lhyrl.agents.seqgan import TOKEN_OBJECTIVE_DEFAULTS
from lhyrl.agents.trainer import Checkpoints
from lhyrl.data.dialogue import SEP_ID, TURN_SEPARATOR
from lhyrl.data.text import EOS_ID, PAD_ID
from lhyrl.nn.chat_model import ChatModel
from lhyrl.nn.dialogue import (
    DialogueAutoEncoderDiscriminator,
    HierarchicalDiscriminator,
    HierarchicalDiscriminatorConfig,
)
from lhyrl.nn.gan import (
    DEFAULT_SETTINGS,
    DiscriminatorEnsemble,
    DiscriminatorRemedies,
    SequenceAutoEncoderConfig,
    apply_spectral_norm,
)

Discriminator = HierarchicalDiscriminator | DialogueAutoEncoderDiscriminator
DiscriminatorConfig = HierarchicalDiscriminatorConfig | SequenceAutoEncoderConfig

__all__ = ["AdversarialDialogue", "dialogue_batch", "split_turns"]


def split_turns(src: Tensor, *, sep_id: int = SEP_ID) -> Tensor:
    """Cut sources back into turns: (B, S) → (B, N, L) long.

    Each turn holds its tokens, ``<eos>``, then ``<pad>``; N is the most turns of a source;
    a source of fewer turns gets all-``<pad>`` (absent) turns first, so that its last turn is
    always the last row, as in ``lhyrl/Dialogue-v0``'s contexts.

    Args:
        src: (B, S) long sources: turns joined by ``sep_id``, then ``<pad>``.
        sep_id: The turn separator.

    Returns:
        (B, N, L) turns, L the longest turn plus one.
    """
    rows = []
    for source in src.tolist():
        turns: list[list[int]] = [[]]
        for token in source:
            if token == PAD_ID:
                break
            if token == sep_id:
                turns.append([])
            else:
                turns[-1].append(token)
        rows.append([turn for turn in turns if turn] or [[]])
    n = max(len(turns) for turns in rows)
    width = max(len(turn) for turns in rows for turn in turns) + 1
    out = torch.full((len(rows), n, width), PAD_ID, dtype=torch.long)  # (B, N, L)
    for b, turns in enumerate(rows):
        for k, turn in enumerate(turns, start=n - len(turns)):
            out[b, k, : len(turn) + 1] = torch.tensor([*turn, EOS_ID])
    return out.to(src.device)


def dialogue_batch(contexts: Tensor, replies: Tensor) -> Tensor:
    """Dialogues of context turns and a reply: (B, N, L) and (B, T) → (B, N + 1, max(L, T))."""
    width = max(contexts.shape[2], replies.shape[1])
    contexts = F.pad(contexts, (0, width - contexts.shape[2]), value=PAD_ID)
    replies = F.pad(replies, (0, width - replies.shape[1]), value=PAD_ID)
    return torch.cat([contexts, replies[:, None]], 1)


class AdversarialDialogue(DialogueTrainer):
    """REGS: adversarial training of a chat model against a hierarchical discriminator.

    The discriminator side is a :class:`~lhyrl.nn.gan.DiscriminatorEnsemble`, as in GAIL, AIRL
    and SeqGAN: ``disc_loss`` names its objective (which also defines the reward: with the
    default ``bce`` the probability of being human) and the remedies are shared with them.
    ``ebgan`` and ``magan`` need an energy discriminator, a
    :class:`~lhyrl.nn.dialogue.DialogueAutoEncoderDiscriminator` (built by default for them).
    Input noise goes on the token embeddings and the gradient penalty is taken at them (for
    the hierarchical discriminator, per turn); replayed negatives are whole dialogues
    (context and machine reply). An iteration's discriminator steps, and the pretraining, are
    each one epoch of the objective (MAGAN's margin adapts after it).

    Args:
        chat_model: The generator, initialised from an MLE model (trained in place).
        discriminator: A (pretrained) discriminator, the first of an ensemble (the others are
            new ones of its configuration); ``None`` builds them from
            ``discriminator_config``.
        discriminator_config: Sizes of new discriminators (a
            :class:`~lhyrl.nn.dialogue.HierarchicalDiscriminatorConfig`, or for ``ebgan`` and
            ``magan`` a :class:`~lhyrl.nn.gan.SequenceAutoEncoderConfig`); ``None`` takes the
            chat model's vocabulary, embedding and hidden sizes. Their weights are drawn from
            a seed of :attr:`~DialogueTrainer.generator`.
        n_rollouts: Monte Carlo completions per reply prefix.
        d_steps: Discriminator updates per iteration.
        g_steps: Generator updates per iteration.
        teacher_forcing: Follow every generator update by an MLE step on the human replies.
        disc_lr: The discriminator's Adam learning rate.
        disc_loss: The discriminator objective (:func:`lhyrl.nn.gan.objective_names`).
        grad_penalty: Gradient penalty weight; ``None`` for the objective's default.
        label_smoothing: One-sided label smoothing (``bce``, ``lsgan``).
        input_noise: Std of Gaussian noise on the discriminator's token embeddings, decaying
            linearly to 0 over each ``train`` call's iterations (full during pretraining).
        spectral_norm: Spectral normalisation of the discriminator's linear layers.
        replay_ratio: Share of each batch of machine dialogues drawn from a reservoir of
            earlier ones.
        replay_capacity: Dialogues the reservoir holds.
        ensemble_size: Discriminators, each trained on its own bootstrap resample of each
            batch.
        ensemble_reward: How their rewards combine, ``"mean"`` or ``"min"``.
        temperature: Sampling temperature of the generator's replies and completions.
        learning_rate: The generator's Adam learning rate.
        grad_clip: Largest global gradient norm of a step (both networks).
        batch_size: Pairs per discriminator or generator update.
        seed: Seeds :attr:`~DialogueTrainer.generator`, the only source of randomness.
        logger: An SB3 logger; ``None`` records nothing.
    """

    learn_unit = "iterations"

    def __init__(
        self,
        *,
        chat_model: ChatModel,
        discriminator: Discriminator | None = None,
        discriminator_config: DiscriminatorConfig | None = None,
        n_rollouts: int = 5,
        d_steps: int = 1,
        g_steps: int = 1,
        teacher_forcing: bool = True,
        disc_lr: float = 1e-3,
        disc_loss: str = "bce",
        grad_penalty: float | None = None,
        label_smoothing: float = 0.0,
        input_noise: float = 0.0,
        spectral_norm: bool = False,
        replay_ratio: float = 0.0,
        replay_capacity: int = 10_000,
        ensemble_size: int = 1,
        ensemble_reward: Literal["mean", "min"] = "mean",
        temperature: float = 1.0,
        learning_rate: float = 1e-4,
        grad_clip: float = 5.0,
        batch_size: int = 64,
        seed: int = 0,
        logger: Logger | None = None,
    ) -> None:
        super().__init__(
            chat_model=chat_model,
            learning_rate=learning_rate,
            grad_clip=grad_clip,
            batch_size=batch_size,
            seed=seed,
            logger=logger,
        )
        if n_rollouts < 1:
            raise ValueError(f"n_rollouts must be at least 1, got {n_rollouts}")
        if d_steps < 0 or g_steps < 0:
            raise ValueError(f"d_steps and g_steps must be non-negative, got {d_steps}, {g_steps}")
        if disc_lr <= 0:
            raise ValueError(f"disc_lr must be positive, got {disc_lr}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if discriminator is not None and discriminator_config is not None:
            raise ValueError("pass a discriminator or a discriminator_config, not both")
        self.sep_id = chat_model.vocabulary.stoi.get(TURN_SEPARATOR, SEP_ID)
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
        if discriminator is not None and not isinstance(discriminator, Discriminator):
            raise TypeError(
                "discriminator must be a HierarchicalDiscriminator or a "
                f"DialogueAutoEncoderDiscriminator, got {type(discriminator).__name__}"
            )
        config = discriminator.config if discriminator is not None else discriminator_config
        members = self._new_discriminators(
            discriminator, config or self._default_config(objective.needs_energy)
        )
        vocab = self.model.config.vocab_size
        if members[0].config.vocab_size != vocab:
            raise ValueError(
                f"the discriminator reads {members[0].config.vocab_size} token ids, the chat "
                f"model writes {vocab}"
            )
        self.discriminators = DiscriminatorEnsemble(
            [member.to(self.device) for member in members],
            objective=objective,
            remedies=self.remedies,
            generator=self.generator,
            inputs="tokens",
            learning_rate=disc_lr,
            grad_clip=self.grad_clip,
            replay_pad_value=PAD_ID,
        )
        """The discriminator(s), their objective, optimizer and remedies."""
        self.n_rollouts = int(n_rollouts)
        self.d_steps = int(d_steps)
        self.g_steps = int(g_steps)
        self.teacher_forcing = bool(teacher_forcing)
        self.disc_lr = float(disc_lr)
        self.temperature = float(temperature)
        self.num_iterations = 0
        """Adversarial iterations so far, over every ``train`` call."""

    # --- the discriminator ---------------------------------------------------------------

    def _default_config(self, energy: bool) -> DiscriminatorConfig:
        """The chat model's sizes, for a hierarchical or an auto-encoder discriminator."""
        sizes = self.model.config
        if energy:
            return SequenceAutoEncoderConfig(
                vocab_size=sizes.vocab_size,
                embedding_dim=sizes.embedding_dim,
                hidden_dim=sizes.hidden_dim,
                pad_id=PAD_ID,
                eos_id=EOS_ID,
            )
        return HierarchicalDiscriminatorConfig(
            vocab_size=sizes.vocab_size,
            embedding_dim=sizes.embedding_dim,
            hidden_dim=sizes.hidden_dim,
            dialogue_hidden_dim=sizes.hidden_dim,
        )

    def _new_discriminators(
        self, given: Discriminator | None, config: DiscriminatorConfig
    ) -> list[Discriminator]:
        """``ensemble_size`` discriminators (``given`` first), drawn from :attr:`generator`.

        Nothing is drawn when nothing is built (a given discriminator, alone and as it is).
        """
        if (
            given is not None
            and self.remedies.ensemble_size == 1
            and not self.remedies.spectral_norm
        ):
            return [given]
        with seeded_global_rng(self.generator, self.device):
            members: list[Discriminator] = [] if given is None else [given]
            while len(members) < self.remedies.ensemble_size:
                if isinstance(config, SequenceAutoEncoderConfig):
                    members.append(DialogueAutoEncoderDiscriminator(config))
                else:
                    members.append(HierarchicalDiscriminator(config))
            if self.remedies.spectral_norm:
                for member in members:
                    apply_spectral_norm(member)
        return members

    @property
    def discriminator(self) -> Discriminator:
        """The (first) discriminator."""
        member = self.discriminators.members[0]
        assert isinstance(member, Discriminator)
        return member

    @property
    def disc_optimizer(self) -> torch.optim.Optimizer:
        """The discriminators' Adam optimizer."""
        return self.discriminators.optimizer

    @property
    def _disc_dropout(self) -> float:
        """The largest dropout of the discriminators (0: no dropout RNG to seed)."""
        rates = [m.p for m in self.discriminators.members.modules() if isinstance(m, nn.Dropout)]
        return max(rates, default=0.0)

    def sample_replies(self, src: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Replies (B, T) sampled from the generator at :attr:`temperature` (no gradients)."""
        return self.chat_model.generate(
            src,
            decoding="sample",
            temperature=self.temperature,
            generator=self.generator if generator is None else generator,
        ).tokens

    def dialogues(self, src: Tensor, replies: Tensor) -> Tensor:
        """The discriminator's input for contexts (B, S) and replies (B, T): (B, N + 1, L)."""
        return dialogue_batch(split_turns(src, sep_id=self.sep_id), replies)

    def discriminator_step(
        self, src: Tensor, tgt: Tensor, *, noise_scale: float = 1.0
    ) -> dict[str, float]:
        """One update: human replies ``tgt`` as real, replies sampled for ``src`` as generated.

        With replay, a ``replay_ratio`` share of the machine dialogues comes from earlier
        steps; the fresh ones join the reservoir after the update.

        Args:
            src: (B, S) long contexts.
            tgt: (B, T) long human replies.
            noise_scale: Multiplies ``input_noise``.

        Returns:
            ``disc_loss``, and ``disc_acc_human`` / ``disc_acc_machine``: the shares of human
            and machine dialogues the discriminator classifies rightly (before the update).
        """
        fake = self.sample_replies(src)  # (B, T)
        machine = self.dialogues(src, fake)  # (B, N + 1, L)
        replay = self.discriminators.replay
        negatives = machine if replay is None else replay.mix(machine)[0]
        with self._module_training(self.discriminators.members, self._disc_dropout):
            stats = self.discriminators.update(
                self.dialogues(src, tgt), negatives, noise_scale=noise_scale
            )
        if replay is not None:
            replay.add(machine)
        return {
            "disc_loss": stats["loss"],
            "disc_acc_human": stats["real_accuracy"],
            "disc_acc_machine": stats["fake_accuracy"],
            **{f"disc_{k}": v for k, v in stats.items() if k == "margin"},
        }

    def pretrain_discriminator(self, src: Tensor, tgt: Tensor, *, steps: int) -> dict[str, float]:
        """``steps`` discriminator updates on random batches of pairs, the generator fixed.

        The steps make one epoch of the objective (MAGAN sets its margin after them).

        Returns:
            The mean of the :meth:`discriminator_step` measures over the last 10 steps.
        """
        src, tgt = self._check_pairs(src, tgt, "discriminator data")
        history = [self.discriminator_step(*self._batch(src, tgt)) for _ in range(steps)]
        self.discriminators.end_epoch()
        return _mean_stats(history[-10:])

    @torch.no_grad()
    def evaluate_discriminator(
        self, src: Tensor, tgt: Tensor, *, seed: int = 0
    ) -> dict[str, float]:
        """Accuracy of the discriminator on ``(src, tgt)`` against fresh generator replies.

        The replies are sampled from a generator seeded with ``seed``, not from the training
        RNG.

        Returns:
            ``disc_acc_human``, ``disc_acc_machine``, ``disc_accuracy`` (their mean) and
            ``reward_mean``, the mean generator reward of the machine replies (with ``bce``,
            their probability of being human). An ensemble classifies by its mean output.
        """
        src, tgt = self._check_pairs(src, tgt)
        generator = torch.Generator(device=self.device).manual_seed(seed)
        fake = self.sample_replies(src, generator)
        with evaluation_mode(self.discriminators.members):
            human = self.dialogues(src, tgt)  # (N, M, L)
            machine = self.dialogues(src, fake)  # (N, M', L')
            human_acc = float(self.discriminators.says_real(human).float().mean())
            machine_acc = float((~self.discriminators.says_real(machine)).float().mean())
            reward = float(self.discriminators.reward(machine).mean())
        return {
            "disc_acc_human": human_acc,
            "disc_acc_machine": machine_acc,
            "disc_accuracy": (human_acc + machine_acc) / 2,
            "reward_mean": reward,
        }

    # --- the generator -------------------------------------------------------------------

    @torch.no_grad()
    def step_rewards(self, src: Tensor, replies: Tensor) -> Tensor:
        """REGS: the reward of every prefix of each reply, by Monte Carlo search.

        For ``t`` before a reply's last token, ``Q[b, t - 1]`` is the mean reward (with
        ``bce``: probability of being human) of :attr:`n_rollouts` completions of
        ``replies[b, :t]`` sampled from the generator
        (:meth:`~lhyrl.nn.seq2seq.Seq2Seq.sample_continuations`, from :attr:`generator`); at
        the last token (``<eos>``, or the last one of a reply cut at the length limit) it is
        the reward of the whole reply; after it, 0.

        Args:
            src: (B, S) long contexts.
            replies: (B, T) long replies in target form, each with at least one token.

        Returns:
            (B, T) rewards (in [0, 1] with ``bce``).
        """
        batch_size, width = replies.shape
        lengths = (replies != PAD_ID).sum(1)  # (B,) tokens, eos included
        if (lengths < 1).any():
            raise ValueError("every reply needs at least one token")
        contexts = split_turns(src, sep_id=self.sep_id)  # (B, N, L)
        rewards = torch.zeros(batch_size, width, device=replies.device)  # (B, T)
        max_len = max(width, self.chat_model.target_len)
        with evaluation_mode(self.model), evaluation_mode(self.discriminators.members):
            whole = self.discriminators.reward(dialogue_batch(contexts, replies))  # (B,)
            rows = torch.arange(batch_size, device=replies.device)
            rewards[rows, lengths - 1] = whole
            for t in range(1, width):
                alive = (lengths > t).nonzero().squeeze(1)  # (A,) prefixes y_1:t unfinished
                if len(alive) == 0:
                    break
                repeat = alive.repeat_interleave(self.n_rollouts)  # (A * n,)
                completed = self.model.sample_continuations(
                    src[repeat],
                    replies[repeat, :t],
                    max_len=max_len,
                    temperature=self.temperature,
                    generator=self.generator,
                ).tokens  # (A * n, T')
                scores = self.discriminators.reward(dialogue_batch(contexts[repeat], completed))
                rewards[alive, t - 1] = scores.view(len(alive), self.n_rollouts).mean(1)
        return rewards

    def generator_step(self, src: Tensor, tgt: Tensor) -> dict[str, float]:
        """One REGS update on contexts ``src``, then (with teacher forcing) one MLE step on ``tgt``.

        Returns:
            ``pg_loss``, ``reward_mean`` (mean reward of the sampled replies: with ``bce``
            their probability of being human), ``q_mean`` (mean REGS reward over their
            tokens) and ``mle_loss``.
        """
        replies = self.sample_replies(src)  # (B, T)
        rewards = self.step_rewards(src, replies)  # (B, T)
        real = replies != PAD_ID  # (B, T)
        rows = torch.arange(len(replies), device=replies.device)  # (B,)
        baseline = rewards[real].mean()
        advantages = (rewards - baseline).masked_fill(~real, 0.0)  # (B, T)
        with self.training_mode():
            log_probs = self.model.token_log_probs(src, replies)  # (B, T), 0 at padding
            loss = -(advantages * log_probs).sum(1).mean()
        stats = {
            "pg_loss": self.step(loss),
            "reward_mean": float(rewards[rows, real.sum(1) - 1].mean()),
            "q_mean": float(baseline),
        }
        if self.teacher_forcing:
            with self.training_mode():
                mle = self.model.loss(src, tgt)
            stats["mle_loss"] = self.step(mle)
        return stats

    def _batch(self, src: Tensor, tgt: Tensor) -> tuple[Tensor, Tensor]:
        """A batch of :attr:`batch_size` distinct pairs drawn from :attr:`generator`."""
        index = torch.randperm(len(src), generator=self.generator, device=self.device)
        index = index[: self.batch_size]
        return src[index], tgt[index]

    # --- training ------------------------------------------------------------------------

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        self.train(
            *self._learn_pairs(),
            iterations=total,
            **self._learn_schedule(checkpoints),
        )

    def train(
        self,
        src: Tensor,
        tgt: Tensor,
        *,
        iterations: int,
        validation: tuple[Tensor, Tensor] | None = None,
        eval_every: int = 0,
        sample_every: int = 10,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 10,
    ) -> None:
        """Run ``iterations`` adversarial iterations on human pairs ``(src, tgt)``.

        Logs every iteration the means over its steps of ``train/disc_loss``,
        ``train/disc_acc_human``, ``train/disc_acc_machine``, ``train/reward_mean``,
        ``train/q_mean``, ``train/pg_loss`` and ``train/mle_loss``; every ``sample_every``
        iterations greedy replies to a few contexts of ``validation`` (or ``src``) as text
        (``samples/replies``); every ``eval_every`` iterations, with ``validation``, the
        ``eval/*`` measures of :meth:`~DialogueTrainer.evaluate` and
        :meth:`evaluate_discriminator`. After :meth:`~DialogueTrainer.resume`, ``iterations``
        counts the whole run.

        Args:
            src: (N, S) long human contexts.
            tgt: (N, T) long human replies.
            iterations: Iterations to run.
            validation: Held-out ``(src, tgt)``.
            eval_every: Iterations between evaluations (0: never).
            sample_every: Iterations between text samples (0: never).
            checkpoint_dir: If given, a checkpoint goes there every ``checkpoint_every``
                iterations and at the end.
            checkpoint_every: Iterations between checkpoints.
        """
        src, tgt, validation = self._check_train_call(
            src,
            tgt,
            iterations=iterations,
            validation=validation,
            eval_every=eval_every,
            sample_every=sample_every,
            checkpoint_every=checkpoint_every,
        )
        for iteration in self._iterations(iterations, checkpoint_dir, checkpoint_every):
            scale = 1.0 - (iteration - 1) / iterations
            d_stats = [
                self.discriminator_step(*self._batch(src, tgt), noise_scale=scale)
                for _ in range(self.d_steps)
            ]
            self.discriminators.end_epoch()
            g_stats = [self.generator_step(*self._batch(src, tgt)) for _ in range(self.g_steps)]
            self.num_iterations += 1
            for key, value in _mean_stats(d_stats + g_stats).items():
                self.logger.record(f"train/{key}", value)
            self.logger.record("train/iteration", self.num_iterations)
            if sample_every and iteration % sample_every == 0:
                self.log_samples((validation or (src, tgt))[0], 4)
            if validation is not None and eval_every and iteration % eval_every == 0:
                measures = {
                    **self.evaluate(*validation, log=False),
                    **self.evaluate_discriminator(*validation, seed=self.seed),
                }
                for key, value in measures.items():
                    self.logger.record(f"eval/{key}", value)

    # --- files ---------------------------------------------------------------------------

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            **super()._hyperparameters(),
            "discriminator": dataclasses.asdict(self.discriminator.config),
            **self.remedies.settings(self.disc_loss),
            "n_rollouts": self.n_rollouts,
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "teacher_forcing": self.teacher_forcing,
            "disc_lr": self.disc_lr,
            "temperature": self.temperature,
        }

    def _restore_checkpoint_state(
        self, state: Mapping[str, Any], directory: Path, path: Path
    ) -> None:
        # A checkpoint from before the shared discriminator saved no discriminator settings:
        # they were the defaults.
        settings = {**DEFAULT_SETTINGS, **state["hyperparameters"]}
        super()._restore_checkpoint_state({**state, "hyperparameters": settings}, directory, path)

    def _extra_state(self) -> dict[str, Any]:
        return {
            "discriminator": {
                k: v.detach().cpu() for k, v in self.discriminator.state_dict().items()
            },
            "disc_optimizer": self.disc_optimizer.state_dict(),
            "discriminator_state": self.discriminators.extra_state(),
            "num_iterations": self.num_iterations,
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        expected = {"discriminator", "disc_optimizer", "num_iterations"}
        if not expected <= set(state) <= expected | {"discriminator_state"}:
            raise ValueError(
                f"the checkpoint's extra state holds {sorted(state)}, an AdversarialDialogue's "
                f"{sorted(expected | {'discriminator_state'})}"
            )
        self.discriminators.load_extra_state(state.get("discriminator_state"), where="it ")
        self.discriminator.load_state_dict(state["discriminator"])
        try:
            self.disc_optimizer.load_state_dict(state["disc_optimizer"])
        except (ValueError, KeyError) as err:
            raise ValueError(f"the saved discriminator optimizer does not fit: {err}") from err
        self.num_iterations = int(state["num_iterations"])


def _mean_stats(history: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each measure over a list of step results."""
    keys = dict.fromkeys(k for stats in history for k in stats)
    return {
        key: sum(s[key] for s in history if key in s) / sum(key in s for s in history)
        for key in keys
    }
