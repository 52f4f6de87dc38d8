"""Maximum-likelihood training of a chat model: teacher-forced cross-entropy on (context, reply).

The first stage of Li et al. (2016) and Li et al. (2017): the seq2seq model is fitted to
human replies, and the policy-gradient and adversarial trainers start from it.
"""

from __future__ import annotations

import os

from torch import Tensor

from lhyrl.agents.checkpoint import check_checkpoint_every
from lhyrl.agents.dialogue.base import DialogueTrainer
from lhyrl.agents.trainer import Checkpoints

__all__ = ["DialogueMLE"]


class DialogueMLE(DialogueTrainer):
    """Teacher-forced maximum likelihood on (context, reply) pairs.

    Each epoch visits every pair once, in an order drawn from :attr:`generator`, in batches
    of :attr:`batch_size` (the last one smaller); each batch is one step on the mean
    cross-entropy per reply token (:meth:`lhyrl.nn.seq2seq.Seq2Seq.loss`).

    ``learn(total)`` counts epochs.

    Args:
        **kwargs: See :class:`~lhyrl.agents.dialogue.base.DialogueTrainer`.
    """

    learn_unit = "epochs"

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        self.train(
            *self._learn_pairs(),
            epochs=total,
            **self._learn_schedule(checkpoints),
        )

    def train_epoch(self, src: Tensor, tgt: Tensor) -> float:
        """One epoch over ``(src, tgt)``; returns the mean loss of its steps."""
        src, tgt = self._check_pairs(src, tgt, "training data")
        losses = []
        for index in self._batch_indices(len(src)):
            with self.training_mode():
                loss = self.model.loss(src[index], tgt[index])
            losses.append(self.step(loss))
        return sum(losses) / len(losses)

    def train(
        self,
        src: Tensor,
        tgt: Tensor,
        *,
        epochs: int,
        validation: tuple[Tensor, Tensor] | None = None,
        eval_every: int = 1,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1,
    ) -> None:
        """Run ``epochs`` epochs of teacher-forced MLE on contexts ``src`` and replies ``tgt``.

        Logs ``train/loss`` (mean over the epoch's steps) and ``train/epoch`` every epoch;
        every ``eval_every`` epochs, with ``validation``, the ``eval/*`` metrics of
        :meth:`~DialogueTrainer.evaluate` and a few replies as text (``samples/replies``).
        After :meth:`~DialogueTrainer.resume`, ``epochs`` counts the whole run: a run of 10
        epochs resumed from a checkpoint written after epoch 4 trains epochs 5 to 10.

        Args:
            src: (N, S) long contexts.
            tgt: (N, T) long replies: tokens, ``eos``, padding.
            epochs: Epochs to run.
            validation: Held-out ``(src, tgt)`` for ``eval/*``.
            eval_every: Epochs between evaluations (0: never).
            checkpoint_dir: If given, a checkpoint goes there whenever
                :attr:`~DialogueTrainer.num_epochs` is a multiple of ``checkpoint_every``,
                and at the end.
            checkpoint_every: Epochs between checkpoints.
        """
        if epochs < 0:
            raise ValueError(f"epochs must be non-negative, got {epochs}")
        if eval_every < 0:
            raise ValueError(f"eval_every must be non-negative, got {eval_every}")
        check_checkpoint_every(checkpoint_every)
        src, tgt = self._check_pairs(src, tgt, "training data")
        if validation is not None:
            validation = self._check_pairs(*validation, "validation")
        progress = self._begin_progress(epoch=0)
        while progress["epoch"] < epochs:
            loss = self.train_epoch(src, tgt)
            progress["epoch"] += 1
            self.logger.record("train/loss", loss)
            self.logger.record("train/learning_rate", self.learning_rate)
            self._end_epoch(validation, eval_every)
            self._maybe_checkpoint(checkpoint_dir, checkpoint_every)
        if checkpoint_dir is not None:
            self.save_checkpoint(checkpoint_dir)
