"""The base of the sequence-generation trainers, and the two teacher-forcing ones: MLE and SS.

Sequence generation as reinforcement learning (SeqGAN, Yu et al. 2017, and its baselines)
trains a :class:`~lhyrl.nn.recurrent.SequenceGenerator` as a policy whose state is the prefix
and whose action is the next token. :class:`SequenceTrainer` owns what every such trainer
shares, in the manner of Stable-Baselines3's base class: the generator and its optimizer, the
one seeded :class:`torch.Generator` all randomness comes from, the SB3 logger (``train/*``,
``eval/*`` keys, sampled sequences as text), evaluation by NLL-oracle and NLL-test,
and saving. Subclasses write ``train``.

* :class:`MLE` — teacher-forced maximum likelihood (cross-entropy on real sequences).
* :class:`ScheduledSampling` — MLE where each input token is, with a probability that grows
  over training, the model's own sample instead of the ground truth (Bengio et al. 2015).

Files hold only tensors and Python primitives, are written atomically, and are read with
``torch.load(weights_only=True)``; a file of another trainer class, format version or model
size is refused with a message naming what differs. Every ``train`` takes ``checkpoint_dir``
and ``checkpoint_every``: it then writes ``checkpoint_dir/checkpoint.pt`` (models, optimizers,
the RNG, the counters and the progress of the ``train`` call) every few epochs and at its end,
and :meth:`SequenceTrainer.resume` on a freshly built trainer followed by the same ``train``
call finishes an interrupted run exactly as if it had never stopped.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import torch
from stable_baselines3.common.logger import Logger
from torch import Tensor, nn

from lhyrl.agents.checkpoint import check_checkpoint_every as _check_checkpointing
from lhyrl.agents.checkpoint import (
    check_same_settings,
    read_versioned_file,
    seeded_global_rng,
)
from lhyrl.agents.trainer import CHECKPOINT_FILE, Checkpoints, Trainer
from lhyrl.files import atomic_write
from lhyrl.metrics.sequences import nll_oracle, nll_test
from lhyrl.nn.recurrent import RecurrentConfig, SequenceGenerator, sample_categorical

__all__ = [
    "CHECKPOINT_FILE",
    "MLE",
    "SEQUENCE_FORMAT_VERSION",
    "SamplingSchedule",
    "ScheduledSampling",
    "SequenceTrainer",
]

SEQUENCE_FORMAT_VERSION = 1
"""Version of the sequence-trainer file layout; bumped whenever the layout changes."""

_FILE_KEYS = ("format_version", "trainer_class", "kwargs", "configs", "modules", "optimizers")
_TEXT_ONLY = ("stdout", "log", "json", "csv")  # SB3 formats that should not print text samples

TrainerT = TypeVar("TrainerT", bound="SequenceTrainer")


def _as_data(data: Tensor, seq_len: int, batch_size: int) -> Tensor:
    """Check real sequences: (N, T) long with T = ``seq_len`` and at least one full batch."""
    data = torch.as_tensor(data, dtype=torch.long)
    if data.dim() != 2 or data.shape[1] != seq_len:
        raise ValueError(f"data must be (N, {seq_len}) tokens, got shape {tuple(data.shape)}")
    if data.shape[0] < batch_size:
        raise ValueError(f"data has {data.shape[0]} sequences, fewer than one batch ({batch_size})")
    return data


def _read_trainer_file(path: str | os.PathLike[str], trainer_class: str) -> dict[str, Any]:
    """Read a trainer file or checkpoint (weights only) and check its header."""
    data = read_versioned_file(
        path,
        _FILE_KEYS,
        format_version=SEQUENCE_FORMAT_VERSION,
        unreadable="a readable lhyrl trainer file",
        kind="an lhyrl trainer file",
    )
    if data["trainer_class"] != trainer_class:
        raise ValueError(
            f"{path} holds a {data['trainer_class']} trainer, not a {trainer_class}; load it "
            f"with {data['trainer_class']}.load"
        )
    return data


class SequenceTrainer(Trainer):
    """Base of the trainers of a token generator: generator, RNG, logger, evaluation, files.

    Args:
        vocab_size: Number of tokens V.
        seq_len: Tokens per sequence T (fixed: the SeqGAN protocol has no EOS).
        generator_config: Sizes of the generator; ``None`` for SeqGAN's one-layer LSTM with
            embedding and state of size 32. Its ``vocab_size`` must equal ``vocab_size``.
        start_token: The first input of every sequence; an ordinary token, never scored.
        batch_size: Sequences per gradient step.
        learning_rate: Adam's learning rate for the generator (SeqGAN's code uses 0.01).
        grad_clip: Largest global gradient norm of a generator step; ``None`` for no clipping.
        oracle: A reference model; when given, :meth:`evaluate` reports NLL-oracle.
        eval_samples: Samples scored by the oracle in :meth:`evaluate`.
        init_std: Draw every generator parameter from N(0, init_std^2), as SeqGAN's code
            does (0.1); ``None`` keeps PyTorch's default initialisation.
        seed: Seeds the weights and :attr:`rng`, the only source of randomness.
        device: ``auto|cpu|cuda|cuda:N|mps``: where the models live.
        logger: An SB3 logger; ``None`` records nothing.
        decode: Turns a sampled sequence of token ids into text for the ``train/samples``
            summary (e.g. a vocabulary's detokenizer); ``None`` writes the ids. Not saved.
        data: Real sequences (N, T) that :meth:`learn` trains on (``train`` takes them as
            its argument instead). Not saved.
        test_data: Held-out sequences (N', T) for ``eval/nll_test`` during :meth:`learn`.
        eval_every: Epochs between evaluations during :meth:`learn` (0: never).
        log_text_every: Epochs between logged samples during :meth:`learn` (0: never).
    """

    learn_unit = "epochs"

    def __init__(
        self,
        *,
        vocab_size: int,
        seq_len: int,
        generator_config: RecurrentConfig | None = None,
        start_token: int = 0,
        batch_size: int = 64,
        learning_rate: float = 1e-2,
        grad_clip: float | None = 5.0,
        oracle: SequenceGenerator | None = None,
        eval_samples: int = 2048,
        init_std: float | None = 0.1,
        seed: int = 0,
        device: str | torch.device = "auto",
        logger: Logger | None = None,
        decode: Callable[[Sequence[int]], str] | None = None,
        data: Tensor | None = None,
        test_data: Tensor | None = None,
        eval_every: int = 1,
        log_text_every: int = 10,
    ) -> None:
        super().__init__(seed=seed, device=device, logger=logger)
        if generator_config is None:
            generator_config = RecurrentConfig(vocab_size=vocab_size)
        if generator_config.vocab_size != vocab_size:
            raise ValueError(
                f"generator_config.vocab_size={generator_config.vocab_size} differs from "
                f"vocab_size={vocab_size}"
            )
        if not 0 <= start_token < vocab_size:
            raise ValueError(f"start_token {start_token} is not a token in 0 .. {vocab_size - 1}")
        self.vocab_size = int(vocab_size)
        self.seq_len = int(seq_len)
        self.start_token = int(start_token)
        self.batch_size = int(batch_size)
        self.learning_rate = float(learning_rate)
        self.grad_clip = grad_clip
        self.eval_samples = int(eval_samples)
        self.decode = decode
        self.data = data
        self.test_data = test_data
        self.eval_every = int(eval_every)
        self.log_text_every = int(log_text_every)
        self.oracle = oracle.to(self.device).eval() if oracle is not None else None
        self.rng = torch.Generator(device=self.device).manual_seed(self.seed)
        """The one source of randomness: sampling, shuffling, rollouts."""
        self.generator_config = generator_config
        self.init_std = init_std
        self.generator = self._seeded(lambda: self._new_generator(generator_config), 0)
        self.optimizer = torch.optim.Adam(self.generator.parameters(), lr=self.learning_rate)
        self.num_epochs = 0
        """Training epochs (MLE pretraining and adversarial epochs alike) completed so far."""
        self._logged_hyperparameters = False

    def _new_generator(self, config: RecurrentConfig) -> SequenceGenerator:
        model = SequenceGenerator(config)
        if self.init_std is not None:
            with torch.no_grad():
                for parameter in model.parameters():
                    parameter.normal_(0.0, self.init_std)
        return model

    @contextlib.contextmanager
    def _global_rng_from_own(self, active: bool = True) -> Iterator[None]:
        """Run a block whose draws from PyTorch's global RNG (dropout) come from :attr:`rng`.

        Dropout layers cannot take a :class:`torch.Generator`; inside this block the global
        RNG is forked and seeded by one draw of :attr:`rng`, so training stays a function of
        the seed (and resumes exactly) while the caller's global RNG is left as it was.

        Args:
            active: When false (no dropout in the models used), draw nothing and do nothing.
        """
        if not active:
            yield
            return
        with seeded_global_rng(self.rng, self.device):
            yield

    @property
    def _generator_has_dropout(self) -> bool:
        config = self.generator_config
        return config.dropout > 0 and config.num_layers > 1

    def _seeded(self, build: Any, offset: int) -> Any:
        """Build a module with weights drawn from ``seed + offset``, leaving global RNGs alone."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + offset)
            return build().to(self.device)

    # --- sampling and evaluation --------------------------------------------------------

    def sample(self, n: int, *, temperature: float = 1.0) -> Tensor:
        """Draw ``n`` sequences from the generator: (n, T) long tokens."""
        self.generator.eval()
        return self.generator.sample(
            n,
            self.seq_len,
            start_token=self.start_token,
            generator=self.rng,
            temperature=temperature,
        )

    def evaluate(self, *, test_data: Tensor | None = None, log: bool = True) -> dict[str, float]:
        """NLL-oracle of :attr:`eval_samples` fresh samples (if an oracle is set) and NLL-test.

        Args:
            test_data: (N, T) held-out real sequences for NLL-test, or ``None``.
            log: Record ``eval/nll_oracle`` and ``eval/nll_test`` at :attr:`num_updates`.

        Returns:
            The metrics computed, in nats per token, keyed ``nll_oracle`` and ``nll_test``.
        """
        result: dict[str, float] = {}
        if self.oracle is not None:
            samples = self.sample(self.eval_samples)  # (S, T)
            result["nll_oracle"] = nll_oracle(self.oracle, samples, start_token=self.start_token)
        if test_data is not None:
            result["nll_test"] = nll_test(
                self.generator, test_data.to(self.device), start_token=self.start_token
            )
        if log and result:
            for key, value in result.items():
                self.logger.record(f"eval/{key}", value)
            self.logger.dump(step=self.num_updates)
        return result

    def log_samples(self, n: int = 4) -> None:
        """Record ``n`` sampled sequences as a text summary ``train/samples``."""
        decode = self.decode or (lambda row: " ".join(map(str, row)))
        text = "\n\n".join(decode(row) for row in self.sample(n).tolist())
        self.logger.record("train/samples", text, exclude=_TEXT_ONLY)

    def _end_epoch(self, log_text_every: int, test_data: Tensor | None, eval_every: int) -> None:
        """Count an epoch; evaluate and log samples on the chosen epochs; dump the logger."""
        if not self._logged_hyperparameters:  # once per trainer, as a Markdown table
            rows = [
                f"| {k} | {v} |" for k, v in {**self._trainer_kwargs(), **self._configs()}.items()
            ]
            table = "\n".join(["| hyperparameter | value |", "|---|---|", *rows])
            self.logger.record("hyperparameters", table, exclude=_TEXT_ONLY)
            self._logged_hyperparameters = True
        self.num_epochs += 1
        self.logger.record("train/epoch", self.num_epochs)
        if log_text_every > 0 and self.num_epochs % log_text_every == 0:
            self.log_samples()
        if eval_every > 0 and self.num_epochs % eval_every == 0:
            self.evaluate(test_data=test_data)  # dumps
        else:
            self.logger.dump(step=self.num_updates)
        self._unit_done()

    def _learn_progress(self) -> int:
        return self.num_epochs

    def _learn_data(self) -> Tensor:
        """The ``data`` given at construction, which :meth:`learn` trains on."""
        if self.data is None:
            raise RuntimeError(f"{type(self).__name__}.learn needs data= at construction")
        return self.data

    def _learn_schedule(self, checkpoints: Checkpoints) -> dict[str, Any]:
        """The keyword arguments of evaluation, samples and checkpoints that ``train`` takes."""
        return {
            "test_data": self.test_data,
            "eval_every": self.eval_every,
            "log_text_every": self.log_text_every,
            **checkpoints,
        }

    # --- generator steps ----------------------------------------------------------------

    def _generator_step(self, loss: Tensor, optimizer: torch.optim.Optimizer | None = None) -> None:
        """Backpropagate ``loss``, clip, and step ``optimizer`` (default: :attr:`optimizer`)."""
        optimizer = optimizer if optimizer is not None else self.optimizer
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.generator.parameters(), self.grad_clip)
        optimizer.step()
        self.num_updates += 1

    def _batches(self, data: Tensor) -> list[Tensor]:
        """Full shuffled batches of ``data`` (a trailing partial batch is dropped)."""
        order = torch.randperm(len(data), generator=self.rng, device=self.device)
        full = len(data) // self.batch_size * self.batch_size
        return list(data[order[:full]].split(self.batch_size))

    def teacher_forced_loss(self, batch: Tensor) -> Tensor:
        """Mean cross-entropy of ``batch`` (B, T) given its true prefixes (= mean NLL per token)."""
        inputs = torch.cat([batch.new_full((len(batch), 1), self.start_token), batch[:, :-1]], 1)
        logits, _ = self.generator(inputs)  # (B, T, V)
        # cross_entropy's fused kernel is about 1.5 x faster than gather + logsumexp here.
        return nn.functional.cross_entropy(logits.flatten(0, 1), batch.flatten())

    def mle_epoch(self, data: Tensor) -> float:
        """One epoch of teacher-forced cross-entropy over ``data``; returns the mean loss."""
        data = _as_data(data, self.seq_len, self.batch_size).to(self.device)
        self.generator.train()
        losses = []
        with self._global_rng_from_own(self._generator_has_dropout):
            for batch in self._batches(data):  # (B, T)
                loss = self.teacher_forced_loss(batch)
                self._generator_step(loss)
                losses.append(loss.detach())
        mean = float(torch.stack(losses).mean())
        self.logger.record("train/nll", mean)
        return mean

    def load_generator_weights(self, source: SequenceGenerator) -> None:
        """Start from another generator's weights (e.g. an MLE-pretrained one).

        The optimizer's moments are reset; subclasses also reset what depends on the
        generator (SeqGAN's rollout network).
        """
        self.generator.load_state_dict(source.state_dict())
        self.optimizer = torch.optim.Adam(self.generator.parameters(), lr=self.learning_rate)

    @abc.abstractmethod
    def train(self, data: Tensor, *args: Any, **kwargs: Any) -> None:
        """Train the generator on real sequences ``data`` (N, T); see the subclass."""

    # --- files --------------------------------------------------------------------------

    def _trainer_kwargs(self) -> dict[str, Any]:
        """Constructor kwargs (plain data) that :meth:`load` passes back; subclasses extend."""
        return {
            "vocab_size": self.vocab_size,
            "seq_len": self.seq_len,
            "start_token": self.start_token,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "grad_clip": self.grad_clip,
            "eval_samples": self.eval_samples,
            "init_std": self.init_std,
            "seed": self.seed,
        }

    def _configs(self) -> dict[str, Any]:
        """Model configs as plain dicts, keyed by constructor argument."""
        return {"generator_config": dataclasses.asdict(self.generator_config)}

    @classmethod
    def _configs_from_data(cls, configs: Mapping[str, Any]) -> dict[str, Any]:
        return {"generator_config": RecurrentConfig(**configs["generator_config"])}

    def _modules(self) -> dict[str, nn.Module]:
        """The modules a file holds; subclasses add theirs."""
        return {"generator": self.generator}

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.optimizer}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the models, optimizers, RNG state and hyperparameters to one file, atomically.

        Args:
            path: The file to write (conventionally ``*.pt``).

        Returns:
            The path written.
        """
        data = self._file_data()
        return atomic_write(path, lambda tmp: torch.save(data, tmp))

    def _file_data(self) -> dict[str, Any]:
        """Everything :meth:`save` writes: plain data and tensors only."""
        return {
            "format_version": SEQUENCE_FORMAT_VERSION,
            "trainer_class": type(self).__name__,
            "kwargs": self._trainer_kwargs(),
            "configs": self._configs(),
            "modules": {
                name: {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
                for name, m in self._modules().items()
            },
            "optimizers": {name: opt.state_dict() for name, opt in self._optimizers().items()},
            "rng": self.rng.get_state(),
            "counters": {"num_updates": self.num_updates, "num_epochs": self.num_epochs},
        }

    @classmethod
    def load(
        cls: type[TrainerT],
        path: str | os.PathLike[str],
        *,
        oracle: SequenceGenerator | None = None,
        device: str | torch.device = "cpu",
        logger: Logger | None = None,
        decode: Callable[[Sequence[int]], str] | None = None,
    ) -> TrainerT:
        """Rebuild a trainer from a file written by :meth:`save`, ready to continue training.

        Raises:
            ValueError: If the file is unreadable, of another format version or trainer
                class, or its weights do not fit the saved sizes.
        """
        data = _read_trainer_file(path, cls.__name__)
        trainer = cls(
            **data["kwargs"],
            **cls._configs_from_data(data["configs"]),
            oracle=oracle,
            device=device,
            logger=logger,
            decode=decode,
        )
        trainer._restore_state(data, path)
        return trainer

    def _restore_state(self, data: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
        """Load the modules, optimizers, RNG and counters of a file's ``data`` into this trainer."""
        for name, module in self._modules().items():
            try:
                module.load_state_dict(data["modules"][name])
            except (RuntimeError, KeyError) as err:
                raise ValueError(f"{path}: the saved {name} does not fit: {err}") from err
        for name, opt in self._optimizers().items():
            if name in data["optimizers"]:
                try:
                    opt.load_state_dict(data["optimizers"][name])
                except (ValueError, KeyError) as err:
                    raise ValueError(
                        f"{path}: the saved {name} optimizer does not fit: {err}"
                    ) from err
        self.rng.set_state(data["rng"])
        self.num_updates = int(data["counters"]["num_updates"])
        self.num_epochs = int(data["counters"]["num_epochs"])

    # --- checkpoints --------------------------------------------------------------------

    def _checkpoint_state(self, directory: Path) -> dict[str, Any]:
        """What :meth:`save` writes: models, optimizers, RNG state, counters, settings."""
        return self._file_data()

    def _restore_checkpoint_state(
        self, state: Mapping[str, Any], directory: Path, path: Path
    ) -> None:
        ours = {**self._trainer_kwargs(), **self._configs()}
        check_same_settings(path, ours, {**state["kwargs"], **state["configs"]})
        self._restore_state(state, path)


class MLE(SequenceTrainer):
    """Maximum likelihood: teacher-forced cross-entropy on real sequences.

    ``learn(total)`` runs ``total`` epochs over ``data``, the last ``decay_epochs`` of them
    at ``learning_rate * decay_factor``.

    Args:
        decay_epochs: Final epochs of :meth:`learn` at the decayed learning rate.
        decay_factor: Multiplier of the learning rate in those epochs.
        **kwargs: See :class:`SequenceTrainer`.
    """

    def __init__(self, *, decay_epochs: int = 0, decay_factor: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if decay_epochs < 0 or decay_factor <= 0:
            raise ValueError(
                f"need decay_epochs >= 0 and decay_factor > 0, got {decay_epochs}, {decay_factor}"
            )
        self.decay_epochs = int(decay_epochs)
        self.decay_factor = float(decay_factor)

    def _trainer_kwargs(self) -> dict[str, Any]:
        extra = {"decay_epochs": self.decay_epochs, "decay_factor": self.decay_factor}
        return {**super()._trainer_kwargs(), **extra}

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        self.train(
            self._learn_data(),
            n_epochs=total,
            decay_epochs=min(self.decay_epochs, total),
            decay_factor=self.decay_factor,
            **self._learn_schedule(checkpoints),
        )

    def train(
        self,
        data: Tensor,
        *,
        n_epochs: int,
        decay_epochs: int = 0,
        decay_factor: float = 0.1,
        test_data: Tensor | None = None,
        eval_every: int = 1,
        log_text_every: int = 10,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1,
    ) -> None:
        """Run ``n_epochs`` epochs over ``data`` (N, T), the last ``decay_epochs`` at a lower rate.

        A step decay: epochs ``1 .. n_epochs - decay_epochs`` use :attr:`learning_rate`, the
        rest ``learning_rate * decay_factor`` (the optimizer's moments are kept). Adam at a
        constant rate ends on a noisy iterate; a few final epochs at a tenth of it settle the
        generator (on SeqGAN's synthetic task, NLL-oracle plateaus near 9.02 at a constant
        0.01, and 40 epochs at 0.01 then 10 at 0.001 reach 8.99). The rate of each epoch
        follows from its index, so a resumed run follows the same schedule.
        After :meth:`~SequenceTrainer.resume`, ``n_epochs`` counts the whole run: a run of 10
        epochs resumed from a checkpoint written after epoch 4 trains epochs 5 to 10.

        Args:
            data: Real sequences.
            n_epochs: Epochs to run.
            decay_epochs: Final epochs at the decayed learning rate (0: constant rate).
            decay_factor: Multiplier of the learning rate in those epochs.
            test_data: Held-out sequences for ``eval/nll_test``.
            eval_every: Evaluate every this many epochs (0: never).
            log_text_every: Log sampled sequences every this many epochs (0: never).
            checkpoint_dir: If given, a checkpoint goes there whenever :attr:`num_epochs` is a
                multiple of ``checkpoint_every``, and at the end.
            checkpoint_every: Epochs between checkpoints.
        """
        _check_checkpointing(checkpoint_every)
        if not 0 <= decay_epochs <= n_epochs or decay_factor <= 0:
            raise ValueError(
                f"need 0 <= decay_epochs <= n_epochs and decay_factor > 0, got decay_epochs="
                f"{decay_epochs}, n_epochs={n_epochs}, decay_factor={decay_factor}"
            )
        progress = self._begin_progress(epoch=0)
        while progress["epoch"] < n_epochs:
            decayed = progress["epoch"] >= n_epochs - decay_epochs
            learning_rate = self.learning_rate * (decay_factor if decayed else 1.0)
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate
            self.mle_epoch(data)
            progress["epoch"] += 1
            self.logger.record("train/learning_rate", learning_rate)
            self._end_epoch(log_text_every, test_data, eval_every)
            self._maybe_checkpoint(checkpoint_dir, checkpoint_every)
        if checkpoint_dir is not None:
            self.save_checkpoint(checkpoint_dir)


@dataclasses.dataclass(frozen=True)
class SamplingSchedule:
    """Probability of feeding the model's own token, as a function of training progress.

    Bengio et al. (2015) decay the probability ``eps`` of feeding the ground truth; this
    schedule gives ``1 - eps``, capped at ``max_probability``:

    * ``"linear"``: ``max_probability * min(1, epoch / ramp_epochs)``;
    * ``"inverse_sigmoid"``: ``1 - k / (k + exp(epoch / k))`` with ``k = ramp_epochs``
      (``k >= 1``), which is ``1 / (k + 1)`` at epoch 0 and approaches 1.

    Attributes:
        kind: ``"linear"`` or ``"inverse_sigmoid"``.
        max_probability: Upper bound of the probability.
        ramp_epochs: Epochs of the linear ramp, or the inverse sigmoid's ``k``.
    """

    kind: Literal["linear", "inverse_sigmoid"] = "linear"
    max_probability: float = 0.25
    ramp_epochs: float = 20.0

    def __post_init__(self) -> None:
        if self.kind not in ("linear", "inverse_sigmoid"):
            raise ValueError(f"kind must be 'linear' or 'inverse_sigmoid', got {self.kind!r}")
        if not 0.0 <= self.max_probability <= 1.0:
            raise ValueError(f"max_probability must lie in [0, 1], got {self.max_probability}")
        if self.ramp_epochs <= 0 or (self.kind == "inverse_sigmoid" and self.ramp_epochs < 1):
            raise ValueError(
                f"ramp_epochs must be positive (>= 1 for inverse_sigmoid), got {self.ramp_epochs}"
            )

    def __call__(self, epoch: float) -> float:
        """The probability of sampling at (possibly fractional) ``epoch``."""
        if self.kind == "linear":
            p = self.max_probability * min(1.0, max(0.0, epoch) / self.ramp_epochs)
        else:
            k = self.ramp_epochs
            p = 1.0 - k / (k + math.exp(min(max(0.0, epoch) / k, 700.0)))
        return min(p, self.max_probability)


class ScheduledSampling(SequenceTrainer):
    """Scheduled sampling (Bengio et al. 2015): MLE that sometimes feeds its own samples.

    At each position of each sequence, the input is the model's token sampled from its previous
    output with probability ``schedule(epoch)``, else the ground-truth token; the loss is the
    cross-entropy against the ground truth. The run over time is sequential (an input depends
    on the previous output); every step is one tensor operation over the batch.

    Args:
        schedule: The probability of feeding a sampled token.
        **kwargs: See :class:`SequenceTrainer`.
    """

    def __init__(
        self, *, schedule: SamplingSchedule | Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if schedule is None:
            schedule = SamplingSchedule()
        elif isinstance(schedule, Mapping):  # as saved in a file
            schedule = SamplingSchedule(**schedule)
        self.schedule = schedule

    def _trainer_kwargs(self) -> dict[str, Any]:
        return {**super()._trainer_kwargs(), "schedule": dataclasses.asdict(self.schedule)}

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        self.train(
            self._learn_data(),
            n_epochs=total,
            **self._learn_schedule(checkpoints),
        )

    def scheduled_loss(self, batch: Tensor, probability: float) -> Tensor:
        """Cross-entropy of ``batch`` (B, T) with inputs mixed from the model's own samples."""
        model = self.generator
        targets = batch  # (B, T)
        token = batch.new_full((batch.shape[0],), self.start_token)  # (B,)
        state = None
        logits_steps = []
        for t in range(self.seq_len):
            out, state = model.rnn(model.embedding(token.unsqueeze(1)), state)  # (B, 1, H)
            logits = model.out(out.squeeze(1))  # (B, V)
            logits_steps.append(logits)
            if t + 1 < self.seq_len:
                own = sample_categorical(logits.detach(), self.rng)  # (B,)
                use_own = torch.rand(len(own), generator=self.rng, device=own.device) < probability
                token = torch.where(use_own, own, targets[:, t])  # (B,)
        logits_all = torch.stack(logits_steps, 1)  # (B, T, V)
        return nn.functional.cross_entropy(logits_all.flatten(0, 1), targets.flatten())

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
        """Run ``n_epochs`` epochs; the schedule is read at the start of each epoch.

        The schedule's epoch is :attr:`num_epochs` (set it to 0 to start the ramp at the
        end of an MLE pretraining). After :meth:`~SequenceTrainer.resume`, ``n_epochs``
        counts the whole run.

        Args:
            data: Real sequences (N, T).
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
        progress = self._begin_progress(epoch=0)
        while progress["epoch"] < n_epochs:
            probability = self.schedule(self.num_epochs)
            self.generator.train()
            losses = []
            with self._global_rng_from_own(self._generator_has_dropout):
                for batch in self._batches(data):  # (B, T)
                    loss = self.scheduled_loss(batch, probability)
                    self._generator_step(loss)
                    losses.append(loss.detach())
            progress["epoch"] += 1
            self.logger.record("train/nll", float(torch.stack(losses).mean()))
            self.logger.record("train/sampling_probability", probability)
            self._end_epoch(log_text_every, test_data, eval_every)
            self._maybe_checkpoint(checkpoint_dir, checkpoint_every)
        if checkpoint_dir is not None:
            self.save_checkpoint(checkpoint_dir)
