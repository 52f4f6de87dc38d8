"""The base of the dialogue trainers: a chat model, its optimizer, one RNG, logging and files.

Li et al. (2016, "Deep Reinforcement Learning for Dialogue Generation") and Li et al. (2017,
"Adversarial Learning for Neural Dialogue Generation") start from a seq2seq chat model
trained by maximum likelihood and go on training it with policy gradients (rewarded by
hand-made terms or by a discriminator). :class:`DialogueTrainer` owns what all of these
share, in the manner of Stable-Baselines3's base class:

- the :class:`~lhyrl.nn.chat_model.ChatModel` and an Adam optimizer on its weights;
- :attr:`~DialogueTrainer.generator`, the one seeded :class:`torch.Generator` every random
  draw comes from (shuffling, sampled replies, and, through
  :meth:`~DialogueTrainer.training_mode`, dropout);
- :meth:`~DialogueTrainer.step`, one clipped gradient step;
- :meth:`~DialogueTrainer.evaluate`: per-token NLL of references, and of the model's own
  replies distinct-1 / distinct-2 (Li et al. 2016a), BLEU against the references and mean
  length, logged to an SB3 logger as ``eval/*``; :meth:`~DialogueTrainer.log_samples` writes
  "context -> reply" text summaries;
- :meth:`~DialogueTrainer.save` (the chat-model file ``lhyrl chat`` reads) and
  :meth:`~DialogueTrainer.save_checkpoint` / :meth:`~DialogueTrainer.resume` (atomic,
  ``weights_only``, bit-exact: model, optimizer, RNG, counters, progress of the running
  ``train`` call, and whatever a subclass adds through :meth:`~DialogueTrainer._extra_state`).

A subclass writes ``train``: compute a loss inside ``with self.training_mode():``, pass it
to :meth:`~DialogueTrainer.step`, count its progress in the dict
:meth:`~DialogueTrainer._begin_progress` returns, and call
:meth:`~DialogueTrainer._end_epoch` and :meth:`~DialogueTrainer._maybe_checkpoint`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.logger import Logger
from torch import Tensor, nn

from lhyrl.agents.checkpoint import (
    check_checkpoint_every,
    check_same_settings,
    seeded_global_rng,
)
from lhyrl.agents.trainer import CHECKPOINT_FILE, Checkpoints, Trainer
from lhyrl.data.text import EOS_ID, PAD_ID, Language, Vocabulary
from lhyrl.metrics.sequences import distinct_n, self_bleu
from lhyrl.nn.chat_model import ChatModel, ChatModelError, Decoding
from lhyrl.nn.seq2seq import Seq2Seq, Seq2SeqConfig

__all__ = [
    "CHECKPOINT_FILE",
    "DialogueTrainer",
    "new_chat_model",
    "paired_bleu",
    "reply_tokens",
]

_TEXT_ONLY = ("stdout", "log", "json", "csv")  # SB3 formats that cannot show text summaries

SELF_BLEU_REPLIES = 200
"""Replies whose self-BLEU-4 an evaluation reports (a random subset, seed 0; about 1 s)."""


def new_chat_model(
    *,
    config: Seq2SeqConfig,
    vocabulary: Vocabulary,
    language: Language,
    source_len: int,
    target_len: int,
    context_turns: int = 1,
    seed: int,
) -> ChatModel:
    """A freshly initialised chat model whose weights depend on ``seed`` only.

    PyTorch's global RNG is forked, seeded with ``seed`` for the initialisation, and left as
    it was.

    Args:
        config: Sizes of the seq2seq model; ``config.vocab_size`` must be ``len(vocabulary)``.
        vocabulary: Token ids of contexts and replies.
        language: ``"english"`` (words) or ``"chinese"`` (characters).
        source_len: Source tokens S the model reads.
        target_len: Most tokens per reply T, ``eos`` included.
        context_turns: Turns of history in a context.
        seed: Seeds the initial weights.

    Returns:
        The model, in evaluation mode.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Seq2Seq(config)
    model.eval()
    return ChatModel(model, vocabulary, language, source_len, target_len, context_turns)


def reply_tokens(tokens: Tensor) -> list[list[int]]:
    """Each row's tokens before its first ``eos`` or ``pad``: (B, T) → B lists of ids."""
    out = []
    for row in tokens.tolist():
        ids = []
        for token in row:
            if token in (EOS_ID, PAD_ID):
                break
            ids.append(token)
        out.append(ids)
    return out


def paired_bleu(
    candidates: Sequence[Sequence[int]], references: Sequence[Sequence[int]], n: int = 4
) -> float:
    """Corpus BLEU-n of each candidate against its own reference (Papineni et al. 2002).

    The clipped n-gram matches and the n-gram counts of all pairs are pooled before the
    precisions are taken, so a short reply does not zero the score; orders that no candidate
    is long enough to have are left out of the geometric mean (an "effective order"), and an
    order with no match counts as 0.1 match (Chen & Cherry's smoothing 1). The brevity
    penalty compares the total lengths.

    Args:
        candidates: Generated replies, as token ids.
        references: The reference reply of each candidate.
        n: Highest n-gram order.

    Returns:
        BLEU-n in [0, 1]; 1 when every candidate equals its reference, 0 when no candidate
        has a token.
    """
    if len(candidates) != len(references) or not candidates:
        raise ValueError(
            f"paired_bleu needs as many references as candidates (at least one), got "
            f"{len(candidates)} and {len(references)}"
        )
    if n < 1:
        raise ValueError(f"BLEU order n must be at least 1, got {n}")
    matches, totals = [0] * n, [0] * n
    for candidate, reference in zip(candidates, references, strict=True):
        for order in range(1, n + 1):
            ours = Counter(_ngrams(candidate, order))
            theirs = Counter(_ngrams(reference, order))
            matches[order - 1] += sum(min(c, theirs[g]) for g, c in ours.items())
            totals[order - 1] += sum(ours.values())
    length = sum(map(len, candidates))
    if length == 0:
        return 0.0
    logs = [math.log((m if m else 0.1) / t) for m, t in zip(matches, totals, strict=True) if t]
    reference_length = sum(map(len, references))
    brevity = 1.0 if length > reference_length else math.exp(1.0 - reference_length / length)
    return brevity * math.exp(sum(logs) / len(logs))


def _ngrams(tokens: Sequence[int], n: int) -> list[tuple[int, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


class DialogueTrainer(Trainer):
    """Base of the dialogue trainers: model, optimizer, RNG, evaluation, logging, checkpoints.

    :meth:`learn` trains on the human pairs given to :meth:`set_learn_data`; its unit is
    the subclass's :attr:`learn_unit` (epochs for MLE, iterations for the others).

    Args:
        chat_model: The model to train (trained in place).
        learning_rate: Adam's learning rate.
        grad_clip: Largest global gradient norm of a step.
        batch_size: Pairs (or dialogues) per gradient step.
        seed: Seeds :attr:`generator`, the only source of randomness.
        logger: An SB3 logger; ``None`` records nothing.
    """

    def __init__(
        self,
        *,
        chat_model: ChatModel,
        learning_rate: float = 1e-3,
        grad_clip: float = 5.0,
        batch_size: int = 64,
        seed: int = 0,
        logger: Logger | None = None,
    ) -> None:
        if not isinstance(chat_model, ChatModel):
            raise TypeError(f"chat_model must be a ChatModel, got {type(chat_model).__name__}")
        if learning_rate <= 0 or not math.isfinite(learning_rate):
            raise ValueError(f"learning_rate must be positive, got {learning_rate}")
        if grad_clip <= 0:
            raise ValueError(f"grad_clip must be positive, got {grad_clip}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        device = next(chat_model.model.parameters()).device
        super().__init__(seed=seed, device=device, logger=logger)
        self.chat_model = chat_model
        self.model: Seq2Seq = chat_model.model
        self.learning_rate = float(learning_rate)
        self.grad_clip = float(grad_clip)
        self.batch_size = int(batch_size)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.learning_rate)
        self.generator = torch.Generator(device=self.device).manual_seed(self.seed)
        """The one source of randomness: shuffling, sampled replies, dropout."""
        self.num_epochs = 0
        """Training epochs completed so far (by every ``train`` call)."""
        self._logged_hyperparameters = False
        self._learn_train: tuple[Tensor, Tensor] | None = None
        self._learn_validation: tuple[Tensor, Tensor] | None = None
        self._learn_eval_every = 0

    def set_learn_data(
        self,
        train: tuple[Tensor, Tensor] | None,
        *,
        validation: tuple[Tensor, Tensor] | None = None,
        eval_every: int = 0,
    ) -> None:
        """The human ``(src, tgt)`` pairs :meth:`learn` trains on (dialogue RL: its MLE term).

        Args:
            train: Training pairs, or ``None`` (dialogue RL without an MLE term).
            validation: Held-out pairs for ``eval/*``.
            eval_every: Units of :meth:`learn` between evaluations (0: never).
        """
        if eval_every < 0:
            raise ValueError(f"eval_every must be non-negative, got {eval_every}")
        self._learn_train = train
        self._learn_validation = validation
        self._learn_eval_every = int(eval_every)

    def _learn_schedule(self, checkpoints: Checkpoints) -> dict[str, Any]:
        """The keyword arguments of validation and checkpoints that ``train`` takes.

        An iteration-counting ``train`` logs no text samples of its own under :meth:`learn`
        (``sample_every=0``): what a learn shows is its callback's choice, as the run layer's
        ``samples_every`` is, so every algorithm logs samples on one schedule.
        """
        schedule: dict[str, Any] = {
            "validation": self._learn_validation,
            "eval_every": self._learn_eval_every,
            **checkpoints,
        }
        if self.learn_unit == "iterations":
            schedule["sample_every"] = 0
        return schedule

    def _learn_pairs(self) -> tuple[Tensor, Tensor]:
        if self._learn_train is None:
            raise RuntimeError(
                f"{type(self).__name__}.learn needs training pairs: call set_learn_data first"
            )
        return self._learn_train

    def _learn_progress(self) -> int:
        if self.learn_unit == "iterations":
            return self._progress.get("iteration", 0)
        return self.num_epochs

    # --- steps ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def training_mode(self) -> Iterator[None]:
        """Run a block in training mode, its dropout drawn from :attr:`generator`.

        Dropout layers cannot take a :class:`torch.Generator`; inside this block PyTorch's
        global RNG is forked and seeded by one draw of :attr:`generator` (none when the model
        has no dropout), so training is a function of the seed and resumes exactly, while the
        caller's global RNG is left as it was. The model's mode is restored afterwards.
        """
        with self._module_training(self.model, self.model.config.dropout):
            yield

    @contextlib.contextmanager
    def _module_training(self, module: nn.Module, dropout: float) -> Iterator[None]:
        """:meth:`training_mode` for any module (e.g. a discriminator) of the given dropout."""
        was_training = module.training
        module.train()
        try:
            if dropout == 0.0:
                yield
                return
            with seeded_global_rng(self.generator, self.device):
                yield
        finally:
            module.train(was_training)

    def step(self, loss: Tensor) -> float:
        """One gradient step on ``loss``: zero the gradients, backpropagate, clip, update.

        Args:
            loss: A scalar computed from :attr:`model`'s weights.

        Returns:
            The loss value.

        Raises:
            ValueError: If ``loss`` is not a finite scalar.
        """
        if loss.dim() != 0:
            raise ValueError(f"loss must be a scalar, got shape {tuple(loss.shape)}")
        value = float(loss.detach())
        if not math.isfinite(value):
            raise ValueError(f"the loss is {value}; lower the learning rate or check the data")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        self.num_updates += 1
        return value

    def _batch_indices(self, n: int) -> list[Tensor]:
        """A shuffled split of ``0 .. n - 1`` into batches of :attr:`batch_size` (last smaller)."""
        order = torch.randperm(n, generator=self.generator, device=self.device)
        return list(order.split(self.batch_size))

    def _check_pairs(self, src: Tensor, tgt: Tensor, name: str = "data") -> tuple[Tensor, Tensor]:
        """Check a ``(src, tgt)`` batch of pairs and move it to :attr:`device`."""
        if not isinstance(src, Tensor) or not isinstance(tgt, Tensor):
            raise TypeError(f"{name}: src and tgt must be tensors")
        if src.dim() != 2 or tgt.dim() != 2 or src.dtype != torch.long or tgt.dtype != torch.long:
            raise ValueError(
                f"{name}: src and tgt must be 2-d long tensors, got {src.dtype} "
                f"{tuple(src.shape)} and {tgt.dtype} {tuple(tgt.shape)}"
            )
        if len(src) != len(tgt) or len(src) == 0:
            raise ValueError(
                f"{name}: src and tgt need the same, positive number of rows, got "
                f"{len(src)} and {len(tgt)}"
            )
        vocab = self.model.config.vocab_size
        for tokens, which in ((src, "src"), (tgt, "tgt")):
            if tokens.min() < 0 or tokens.max() >= vocab:
                raise ValueError(f"{name}: {which} has token ids outside 0 .. {vocab - 1}")
        if (src[:, 0] == self.model.config.pad_id).any():
            raise ValueError(f"{name}: some src rows are empty (start with <pad>)")
        return src.to(self.device), tgt.to(self.device)

    def _check_train_call(
        self,
        src: Tensor,
        tgt: Tensor,
        *,
        iterations: int,
        validation: tuple[Tensor, Tensor] | None,
        eval_every: int,
        sample_every: int,
        checkpoint_every: int,
    ) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor] | None]:
        """Check the arguments of an iteration-counting ``train(src, tgt, ...)`` on human pairs.

        Returns:
            ``src``, ``tgt`` and ``validation`` checked and on :attr:`device`.
        """
        if iterations < 0:
            raise ValueError(f"iterations must be non-negative, got {iterations}")
        if eval_every < 0 or sample_every < 0:
            raise ValueError("eval_every and sample_every must be non-negative")
        check_checkpoint_every(checkpoint_every)
        src, tgt = self._check_pairs(src, tgt, "training data")
        if validation is not None:
            validation = self._check_pairs(*validation, "validation")
        return src, tgt, validation

    # --- evaluation ----------------------------------------------------------------------

    @torch.no_grad()
    def nll(self, src: Tensor, tgt: Tensor, *, batch_size: int = 256) -> float:
        """Mean negative log-likelihood per reference token (``eos`` included, padding not).

        Args:
            src: (N, S) long contexts.
            tgt: (N, T) long reference replies.
            batch_size: Pairs scored at once.

        Returns:
            Nats per token.
        """
        src, tgt = self._check_pairs(src, tgt)
        was_training = self.model.training
        self.model.eval()
        total, count = 0.0, 0
        try:
            for start in range(0, len(src), batch_size):
                s, t = src[start : start + batch_size], tgt[start : start + batch_size]
                total -= float(self.model.token_log_probs(s, t).sum())
                count += int((t != self.model.config.pad_id).sum())
        finally:
            self.model.train(was_training)
        return total / max(count, 1)

    def generate(self, src: Tensor, *, decoding: Decoding = "greedy", beam_size: int = 4) -> Tensor:
        """Replies (N, T') to contexts (N, S); sampling draws from :attr:`generator`."""
        return self.chat_model.generate(
            src.to(self.device), decoding=decoding, beam_size=beam_size, generator=self.generator
        ).tokens

    def evaluate(
        self,
        src: Tensor,
        tgt: Tensor,
        *,
        prefix: str = "eval",
        decoding: Decoding = "greedy",
        log: bool = True,
    ) -> dict[str, float]:
        """Score the model on held-out pairs: likelihood of the references, quality of replies.

        Args:
            src: (N, S) long contexts.
            tgt: (N, T) long reference replies.
            prefix: Logger key prefix (``eval``, ``test``, ...).
            decoding: How the model replies: ``"greedy"``, ``"beam"`` or ``"sample"``.
            log: Record the metrics as ``{prefix}/<name>`` and dump the logger at
                :attr:`num_updates`.

        Returns:
            ``nll`` (nats per reference token), ``distinct_1`` and ``distinct_2`` (distinct
            n-grams over all n-grams of all replies), ``bleu`` (:func:`paired_bleu` of the
            replies against the references) and ``reply_length`` (mean tokens before
            ``eos``), ``self_bleu_4`` (self-BLEU-4 of up to :data:`SELF_BLEU_REPLIES` replies,
            Zhu et al. 2018: high when the model gives every context the same reply).
        """
        src, tgt = self._check_pairs(src, tgt)
        replies = reply_tokens(self.generate(src, decoding=decoding))
        references = reply_tokens(tgt)
        result = {
            "nll": self.nll(src, tgt),
            "distinct_1": distinct_n(replies, 1),
            "distinct_2": distinct_n(replies, 2),
            "bleu": paired_bleu(replies, references),
            "reply_length": sum(map(len, replies)) / len(replies),
            # Diversity across contexts: the same dull reply to everything scores near 1.
            "self_bleu_4": (
                self_bleu([r or [EOS_ID] for r in replies], 4, max_samples=SELF_BLEU_REPLIES)
                if len(replies) > 1
                else 0.0
            ),
        }
        if log:
            for key, value in result.items():
                self.logger.record(f"{prefix}/{key}", value)
            self.logger.dump(step=self.num_updates)
        return result

    def sample_texts(
        self, src: Tensor, n: int = 4, *, decoding: Decoding = "greedy"
    ) -> list[tuple[str, str]]:
        """``(context, reply)`` texts of the first ``n`` contexts of ``src``."""
        rows = src[:n].to(self.device)
        replies = self.generate(rows, decoding=decoding)
        return [
            (self.chat_model.decode_text(context), self.chat_model.decode_text(reply))
            for context, reply in zip(rows, replies, strict=True)
        ]

    def log_samples(
        self,
        src: Tensor,
        n: int = 4,
        key: str = "samples/replies",
        *,
        decoding: Decoding = "greedy",
    ) -> str:
        """Record the replies to the first ``n`` contexts of ``src`` as a text summary.

        The text (one ``context -> reply`` paragraph per pair) is recorded for the formats
        that show text (TensorBoard); it is written at the logger's next ``dump`` (e.g. that
        of :meth:`evaluate`).

        Returns:
            The text recorded.
        """
        pairs = self.sample_texts(src, n, decoding=decoding)
        text = "\n\n".join(f"{context} -> {reply}" for context, reply in pairs)
        self.logger.record(key, text, exclude=_TEXT_ONLY)
        return text

    def _hyperparameters(self) -> dict[str, Any]:
        """Plain-data settings a checkpoint must match; subclasses extend."""
        return {
            "learning_rate": self.learning_rate,
            "grad_clip": self.grad_clip,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "model": dataclasses.asdict(self.model.config),
            "language": self.chat_model.language,
            "source_len": self.chat_model.source_len,
            "target_len": self.chat_model.target_len,
            "context_turns": self.chat_model.context_turns,
        }

    def log_hyperparameters(self) -> None:
        """Record the hyperparameters once per trainer, as a Markdown table (text only)."""
        if self._logged_hyperparameters:
            return
        rows = [f"| {k} | {v} |" for k, v in self._hyperparameters().items()]
        table = "\n".join(["| hyperparameter | value |", "|---|---|", *rows])
        self.logger.record("hyperparameters", table, exclude=_TEXT_ONLY)
        self._logged_hyperparameters = True

    def _end_epoch(
        self,
        validation: tuple[Tensor, Tensor] | None,
        eval_every: int,
        samples: int = 4,
    ) -> None:
        """Count an epoch; on evaluation epochs score and sample ``validation``; dump the logger."""
        self.log_hyperparameters()
        self.num_epochs += 1
        self.logger.record("train/epoch", self.num_epochs)
        if validation is not None and eval_every > 0 and self.num_epochs % eval_every == 0:
            if samples > 0:
                self.log_samples(validation[0], samples)
            self.evaluate(*validation)  # dumps
        else:
            self.logger.dump(step=self.num_updates)
        self._unit_done()

    def _iterations(
        self,
        iterations: int,
        checkpoint_dir: str | os.PathLike[str] | None,
        checkpoint_every: int,
    ) -> Iterator[int]:
        """The loop of an iteration-counting ``train``: yields the numbers of the iterations to run.

        Logs the hyperparameters once, then, after :meth:`~DialogueTrainer.resume`, starts from
        the restored count. After each iteration (the body of the caller's ``for``) it counts
        it, dumps the logger at :attr:`num_updates` and checkpoints every
        ``checkpoint_every`` iterations; it checkpoints again at the end.
        """
        self.log_hyperparameters()
        progress = self._begin_progress(iteration=0)
        while progress["iteration"] < iterations:
            yield progress["iteration"] + 1
            progress["iteration"] += 1
            self.logger.dump(step=self.num_updates)
            if checkpoint_dir is not None and progress["iteration"] % checkpoint_every == 0:
                self.save_checkpoint(checkpoint_dir)
            self._unit_done()
        if checkpoint_dir is not None:
            self.save_checkpoint(checkpoint_dir)

    # --- files ---------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the chat model (what ``lhyrl chat`` and the dialogue env read), atomically."""
        return self.chat_model.save(path)

    def _extra_state(self) -> dict[str, Any]:
        """What a subclass adds to a checkpoint: tensors and plain data (e.g. a critic)."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_extra_state` saved; called by :meth:`resume`."""
        if state:
            raise ValueError(
                f"the checkpoint holds extra state {sorted(state)} that "
                f"{type(self).__name__} does not read"
            )

    def _checkpoint_state(self, directory: Path) -> dict[str, Any]:
        """The chat model, the optimizer's and :attr:`generator`'s states, counters, extras."""
        return {
            "hyperparameters": self._hyperparameters(),
            "chat_model": self.chat_model.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "counters": {"num_updates": self.num_updates, "num_epochs": self.num_epochs},
            "extra": self._extra_state(),
        }

    def _restore_checkpoint_state(
        self, state: Mapping[str, Any], directory: Path, path: Path
    ) -> None:
        check_same_settings(
            path, self._hyperparameters(), dict(state["hyperparameters"]), what="settings"
        )
        try:
            saved = ChatModel.from_dict(state["chat_model"], where=str(path))
        except ChatModelError as err:
            raise ValueError(str(err)) from err
        if saved.vocabulary != self.chat_model.vocabulary:
            raise ValueError(f"{path} was written for another vocabulary")
        self.model.load_state_dict(saved.model.state_dict())
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError) as err:
            raise ValueError(f"{path}: the saved optimizer does not fit: {err}") from err
        self.generator.set_state(state["generator"])
        self.num_updates = int(state["counters"]["num_updates"])
        self.num_epochs = int(state["counters"]["num_epochs"])
        self._load_extra_state(dict(state["extra"]))
