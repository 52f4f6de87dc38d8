"""Li et al.'s (2016) mutual-information stage: policy gradient toward informative replies.

Replies of a maximum-likelihood chat model are generic: "i am a computer ." fits many
contexts, so it is likely under every one of them. Li et al. (2016, section 4.1) therefore
do not start dialogue RL from the MLE model directly. They first train it by policy gradient
to maximise the mutual information between a reply and the turn it answers, scored by the
MLE model itself (forward) and by a backward model of the turn given the reply. A reply
that could answer anything tells the backward model little about the turn, and scores low.

:class:`DialogueMMI` samples a list of candidate replies for each context and rewards each
candidate ``a`` with::

    m(a) = forward_weight * (1/N_a) log p_forward(a | context) + (1/N_q) log p_backward(q | a)

``q`` being the context's last turn (:func:`lhyrl.rewards.dialogue.semantic_coherence`,
which is also the env's semantic-coherence term). The baseline of a candidate is the mean
reward of the other candidates for the same context (leave-one-out), so that how hard a
turn is to predict, which varies far more between contexts than between replies, cancels
out. The loss is::

    -mean[(m(a) - b(a)) * log pi(a | context)] + mle_weight * MLE(batch of human pairs)

The result initialises :class:`~lhyrl.agents.dialogue.rl.DialoguePG`, as in Li et al.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from stable_baselines3.common.logger import Logger
from torch import Tensor

from lhyrl.agents.dialogue.adversarial import split_turns
from lhyrl.agents.dialogue.base import DialogueTrainer
from lhyrl.agents.trainer import Checkpoints
from lhyrl.data.dialogue import SEP_ID, TURN_SEPARATOR
from lhyrl.nn.chat_model import ChatModel
from lhyrl.nn.seq2seq import Seq2Seq
from lhyrl.rewards.dialogue import semantic_coherence

__all__ = ["DialogueMMI"]


class DialogueMMI(DialogueTrainer):
    """Policy gradient on the mutual information between replies and contexts (Li et al. 2016).

    Every iteration draws :attr:`contexts_per_step` human pairs (without replacement), samples
    :attr:`candidates` replies to each context at ``temperature``, and takes one gradient step
    on the loss of the module docstring. The reward models are frozen and only scored (in
    evaluation mode, without gradients).

    Args:
        chat_model: The model to train, initialised by MLE (trained in place).
        forward_model: The model of replies given contexts that scores ``log p(a | context)``
            (e.g. a frozen copy of the MLE model, or the env's user model).
        backward_model: The model of a turn given the reply to it (``lhyrl/Dialogue-v0``'s
            backward model); it reads the chat model's replies.
        forward_weight: Weight of the forward term (1: the env's semantic coherence; 0:
            only the backward term, how much the reply tells of the turn it answers).
        candidates: Replies sampled per context; at least 2 (the baseline is the others').
        contexts_per_step: Contexts per gradient step.
        mle_weight: Weight of a teacher-forced MLE term on :attr:`batch_size` human pairs
            (0: none).
        temperature: Sampling temperature of the candidates.
        learning_rate: Adam's learning rate.
        grad_clip: Largest global gradient norm of a step.
        batch_size: Human pairs per MLE term.
        seed: Seeds :attr:`~DialogueTrainer.generator`, the only source of randomness.
        logger: An SB3 logger; ``None`` records nothing.
    """

    learn_unit = "iterations"

    def __init__(
        self,
        *,
        chat_model: ChatModel,
        forward_model: Seq2Seq,
        backward_model: Seq2Seq,
        forward_weight: float = 1.0,
        candidates: int = 8,
        contexts_per_step: int = 8,
        mle_weight: float = 0.0,
        temperature: float = 1.0,
        learning_rate: float = 1e-3,
        grad_clip: float = 5.0,
        batch_size: int = 32,
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
        for name, model in (("forward_model", forward_model), ("backward_model", backward_model)):
            if not isinstance(model, Seq2Seq):
                raise TypeError(f"{name} must be a Seq2Seq, got {type(model).__name__}")
            if model is self.model:
                raise ValueError(f"{name} must not be the model being trained; pass a copy")
        vocab = self.model.config.vocab_size
        sizes = {
            "forward_model": (forward_model.config.vocab_size, forward_model.config.vocab_size),
            "backward_model": (
                backward_model.config.vocab_size,
                backward_model.config.target_vocabulary,
            ),
        }
        for name, (read, written) in sizes.items():
            if read != vocab or written != vocab:
                raise ValueError(
                    f"{name} must read and write the chat model's {vocab}-token vocabulary, "
                    f"got {read} and {written} tokens"
                )
        if forward_weight < 0:
            raise ValueError(f"forward_weight must be non-negative, got {forward_weight}")
        if candidates < 2:
            raise ValueError(
                f"candidates must be at least 2 (each one's baseline is the others' mean reward), "
                f"got {candidates}"
            )
        if contexts_per_step < 1:
            raise ValueError(f"contexts_per_step must be at least 1, got {contexts_per_step}")
        if mle_weight < 0:
            raise ValueError(f"mle_weight must be non-negative, got {mle_weight}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.forward_model = forward_model.to(self.device)
        self.backward_model = backward_model.to(self.device)
        self.forward_weight = float(forward_weight)
        self.candidates = int(candidates)
        self.contexts_per_step = int(contexts_per_step)
        self.mle_weight = float(mle_weight)
        self.temperature = float(temperature)
        self.sep_id = chat_model.vocabulary.stoi.get(TURN_SEPARATOR, SEP_ID)
        self.num_iterations = 0
        """Iterations (gradient steps on the MMI loss) so far, over every ``train`` call."""

    def rewards(self, src: Tensor, replies: Tensor) -> Tensor:
        """The mutual-information reward ``m`` (B,) of replies (B, T) to contexts (B, S)."""
        queries = split_turns(src, sep_id=self.sep_id)[:, -1]  # (B, L): the last turns
        return semantic_coherence(
            self.forward_model,
            self.backward_model,
            context=src,
            query=queries,
            reply=replies,
            forward_weight=self.forward_weight,
        )

    def train_iteration(self, src: Tensor, tgt: Tensor) -> dict[str, float]:
        """One gradient step on candidates for :attr:`contexts_per_step` contexts of ``src``.

        Args:
            src: (N, S) long human contexts.
            tgt: (N, T) long human replies (for the MLE term).

        Returns:
            ``reward_mean``, ``reward_std_within`` (the spread of a context's candidates),
            ``pg_loss``, ``loss`` and, with ``mle_weight``, ``mle_loss``.
        """
        k, n = self.candidates, self.contexts_per_step
        order = torch.randperm(len(src), generator=self.generator, device=self.device)
        contexts = src[order[:n]].repeat_interleave(k, 0)  # (C * K, S), K rows per context
        replies = self.chat_model.generate(
            contexts, decoding="sample", temperature=self.temperature, generator=self.generator
        ).tokens  # (C * K, T)
        rewards = self.rewards(contexts, replies).view(-1, k)  # (C, K)
        others = (rewards.sum(1, keepdim=True) - rewards) / (k - 1)  # (C, K)
        advantages = (rewards - others).reshape(-1)  # (C * K,)
        stats = {
            "reward_mean": float(rewards.mean()),
            "reward_std_within": float(rewards.std(1).mean()),
        }
        with self.training_mode():
            log_probs = self.model.token_log_probs(contexts, replies).sum(1)  # (C * K,)
            pg_loss = -(advantages * log_probs).mean()
            loss = pg_loss
            if self.mle_weight > 0:
                index = torch.randint(
                    0, len(src), (self.batch_size,), generator=self.generator, device=self.device
                )
                mle_loss = self.model.loss(src[index], tgt[index])
                loss = loss + self.mle_weight * mle_loss
                stats["mle_loss"] = float(mle_loss.detach())
        stats["pg_loss"] = float(pg_loss.detach())
        stats["loss"] = self.step(loss)
        self.num_iterations += 1
        return stats

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
        sample_every: int = 50,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 50,
    ) -> None:
        """Run ``iterations`` iterations of :meth:`train_iteration` on human pairs.

        Logs every iteration ``train/reward_mean``, ``train/reward_std_within``,
        ``train/pg_loss``, ``train/loss`` (and ``train/mle_loss``); every ``sample_every``
        iterations greedy replies to a few contexts of ``validation`` (or ``src``) as text;
        every ``eval_every`` iterations, with ``validation``, the ``eval/*`` measures of
        :meth:`~DialogueTrainer.evaluate`. After :meth:`~DialogueTrainer.resume`,
        ``iterations`` counts the whole run.

        Args:
            src: (N, S) long human contexts (at least :attr:`contexts_per_step`).
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
        if len(src) < self.contexts_per_step:
            raise ValueError(
                f"training data: {len(src)} pairs, fewer than contexts_per_step "
                f"({self.contexts_per_step})"
            )
        for iteration in self._iterations(iterations, checkpoint_dir, checkpoint_every):
            for key, value in self.train_iteration(src, tgt).items():
                self.logger.record(f"train/{key}", value)
            self.logger.record("train/iteration", self.num_iterations)
            if sample_every and iteration % sample_every == 0:
                self.log_samples((validation or (src, tgt))[0], 4)
            if validation is not None and eval_every and iteration % eval_every == 0:
                for key, value in self.evaluate(*validation, log=False).items():
                    self.logger.record(f"eval/{key}", value)

    # --- files ---------------------------------------------------------------------------

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            **super()._hyperparameters(),
            "forward_weight": self.forward_weight,
            "candidates": self.candidates,
            "contexts_per_step": self.contexts_per_step,
            "mle_weight": self.mle_weight,
            "temperature": self.temperature,
        }

    def _extra_state(self) -> dict[str, Any]:
        return {"num_iterations": self.num_iterations}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        if set(state) != {"num_iterations"}:
            raise ValueError(
                f"the checkpoint's extra state holds {sorted(state)}, a DialogueMMI's "
                "['num_iterations']"
            )
        self.num_iterations = int(state["num_iterations"])
