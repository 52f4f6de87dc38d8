"""The one trainer contract every lhyrl algorithm implements, in the manner of SB3's BaseAlgorithm.

:class:`Trainer` is the root of all thirteen algorithms (BC, DAgger, GAIL, AIRL, MaxEnt IRL,
the sequence trainers MLE, scheduled sampling, PG-BLEU and SeqGAN, and the dialogue trainers
MLE, MMI, dialogue RL and REGS). It owns what they share:

* **seeding**: ``seed`` is kept as :attr:`Trainer.seed`; each family draws all of its
  randomness from generators seeded by it;
* **the device**: :func:`resolve_device` turns ``auto|cpu|cuda|cuda:N|mps`` (or a
  :class:`torch.device`) into a device, the same way everywhere, and refuses anything else;
* **the logger**: an SB3 :class:`~stable_baselines3.common.logger.Logger` (``None`` records
  nothing), with keys ``train/*``, ``eval/*``, ``rollout/*``;
* **the learn loop's bookkeeping**: :meth:`Trainer.learn` ``(total, callback)`` counts in
  the algorithm's own unit (:attr:`Trainer.learn_unit`: epochs, rounds, env steps or
  iterations), calls the callback after each unit, and checkpoints every few units;
* **checkpoints**: one versioned file, ``checkpoint.pt``, written atomically and read with
  ``torch.load(weights_only=True)``. :meth:`Trainer.save_checkpoint` writes the header, the
  progress counters of the running loop and the algorithm's state; :meth:`Trainer.resume`
  checks the header and restores them, so that the same ``learn`` call finishes an
  interrupted run as if it had never stopped.

An algorithm fills in :meth:`Trainer._learn` (its loop, which calls
:meth:`Trainer._unit_done` after each unit), :meth:`Trainer._checkpoint_state` and
:meth:`Trainer._restore_checkpoint_state`.
"""

from __future__ import annotations

import abc
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypedDict, TypeVar

import torch
from stable_baselines3.common.logger import Logger

from lhyrl.files import atomic_write

__all__ = [
    "CHECKPOINT_FILE",
    "CHECKPOINT_FORMAT_VERSION",
    "DEVICE_CHOICES",
    "Checkpoints",
    "LearnCallback",
    "StopLearning",
    "Trainer",
    "null_logger",
    "read_checkpoint",
    "read_trainer_file",
    "resolve_device",
]

CHECKPOINT_FILE = "checkpoint.pt"
"""Name of the checkpoint file inside a checkpoint directory, for every algorithm."""

CHECKPOINT_FORMAT_VERSION = 2
"""Version of the checkpoint layout; bumped whenever the layout changes."""

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
"""What :func:`resolve_device` accepts (besides a :class:`torch.device`)."""

_CHECKPOINT_KEYS = ("format_version", "trainer_class", "progress", "state")

LearnCallback = Callable[["Trainer", int], "bool | None"]
"""Called as ``callback(trainer, done)`` after each unit of :meth:`Trainer.learn`, with the
units done so far in the run; returning ``False`` stops the loop after that unit."""

TrainerT = TypeVar("TrainerT", bound="Trainer")


class Checkpoints(TypedDict):
    """Where and how often a learn loop checkpoints: the keywords every ``train`` takes."""

    checkpoint_dir: str | os.PathLike[str] | None
    checkpoint_every: int


class StopLearning(Exception):  # noqa: N818 (a signal, not an error)
    """Raised inside a learn loop when its callback asks to stop (returns ``False``)."""


def null_logger() -> Logger:
    """An SB3 logger that records nothing anywhere."""
    return Logger(folder=None, output_formats=[])


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``auto|cpu|cuda|cuda:N|mps`` (or a :class:`torch.device`) into a device.

    ``auto`` is CUDA when available, else the CPU. A device this machine lacks is refused,
    never silently replaced.

    Args:
        device: The name, or a device.

    Returns:
        The device.

    Raises:
        ValueError: For any other name, or a device that is not available here.
    """
    if isinstance(device, torch.device):
        resolved = device
    elif isinstance(device, str):
        name = device.strip().lower()
        if name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", name):
            raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}; got {device!r}")
        resolved = torch.device(name)
    else:
        raise ValueError(
            f"device must be one of {', '.join(DEVICE_CHOICES)} or a torch.device; "
            f"got {type(device).__name__}"
        )
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {str(resolved)!r}: this machine (or this torch build) has no CUDA "
                "device; use 'cpu' or 'auto'"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {str(resolved)!r}: there are only {torch.cuda.device_count()} CUDA "
                "device(s)"
            )
    elif resolved.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("device 'mps': no Apple GPU is available here; use 'cpu' or 'auto'")
    elif resolved.type != "cpu":
        raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}; got {device!r}")
    return resolved


def read_trainer_file(
    path: str | os.PathLike[str], keys: tuple[str, ...], *, what: str
) -> dict[str, Any]:
    """``torch.load(weights_only=True)`` an lhyrl file, every failure a clear ValueError.

    Args:
        path: The file.
        keys: Entries it must hold.
        what: What the file is, for the messages (``"checkpoint"``, ``"agent file"``).

    Returns:
        The file's data.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: As ``torch.load`` raises them.
        ValueError: If the file is unreadable (corrupted, truncated, not lhyrl's) or lacks
            one of ``keys``.
    """
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as err:
        raise ValueError(
            f"{path} is not a readable lhyrl {what} (corrupted, truncated, or not written by "
            f"lhyrl): {type(err).__name__}: {err}"
        ) from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not an lhyrl {what}: it holds a {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"{path} is not an lhyrl {what}: it lacks the entries {missing}")
    return data


def check_format_version(
    data: Mapping[str, Any], version: int, path: str | os.PathLike[str]
) -> None:
    """Refuse a file whose ``format_version`` is not ``version``, saying which is newer."""
    found = data["format_version"]
    if found != version:
        newer = isinstance(found, int) and found > version
        raise ValueError(
            f"{path} has format version {found}; this lhyrl reads format version {version}"
            + (" (the file is newer: upgrade lhyrl)" if newer else "")
        )


def read_checkpoint(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``directory/checkpoint.pt`` and check its layout and format version.

    Raises:
        FileNotFoundError: If ``directory`` holds no checkpoint.
        ValueError: If the checkpoint is unreadable or of another format version.
    """
    path = Path(directory) / CHECKPOINT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint to resume: {path} does not exist")
    data = read_trainer_file(path, _CHECKPOINT_KEYS, what="checkpoint")
    check_format_version(data, CHECKPOINT_FORMAT_VERSION, path)
    return data


class Trainer(abc.ABC):
    """The root of every lhyrl algorithm: seed, device, logger, learn loop, checkpoints.

    Args:
        seed: The run's seed; the algorithm's generators are seeded from it.
        device: ``auto|cpu|cuda|cuda:N|mps`` or a :class:`torch.device` (see
            :func:`resolve_device`).
        logger: An SB3 logger; ``None`` records nothing.
    """

    learn_unit: ClassVar[str] = "epochs"
    """What ``learn(total)`` counts: ``"epochs"``, ``"rounds"``, ``"env steps"`` or
    ``"iterations"``."""

    def __init__(
        self,
        *,
        seed: int = 0,
        device: str | torch.device = "auto",
        logger: Logger | None = None,
    ) -> None:
        self.seed = int(seed)
        self.device = resolve_device(device)
        self.logger = logger if logger is not None else null_logger()
        self.num_updates = 0
        """Gradient steps taken so far."""
        self._progress: dict[str, int] = {}
        """Counters of the running loop; what a checkpoint saves as its progress."""
        self._pending_progress: dict[str, int] | None = None
        self._callback: LearnCallback | None = None

    # --- the learn contract -------------------------------------------------------------

    def learn(
        self: TrainerT,
        total: int,
        callback: LearnCallback | None = None,
        *,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1,
    ) -> TrainerT:
        """Train until ``total`` units (:attr:`learn_unit`) are done in the whole run.

        After :meth:`resume`, the same call does only the units the interrupted run had left.

        Args:
            total: Units of the whole run (epochs, rounds, env steps or iterations; see the
                algorithm's :attr:`learn_unit`).
            callback: Called as ``callback(trainer, done)`` after each unit; ``False`` stops.
            checkpoint_dir: Where to write ``checkpoint.pt`` every ``checkpoint_every`` units
                and at the end; ``None`` writes none.
            checkpoint_every: Units between checkpoints (for GAIL/AIRL: rounds).

        Returns:
            The trainer.

        Raises:
            ValueError: If ``total`` is negative or ``checkpoint_every`` below 1.
        """
        if int(total) < 0:
            raise ValueError(f"total must be at least 0 {self.learn_unit}, got {total}")
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
        self._callback = callback
        try:
            checkpoints = Checkpoints(
                checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every
            )
            self._learn(int(total), checkpoints)
        except StopLearning:
            if checkpoint_dir is not None:
                self.save_checkpoint(checkpoint_dir)
        finally:
            self._callback = None
        return self

    @abc.abstractmethod
    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        """The algorithm's loop up to ``total`` units; calls :meth:`_unit_done` after each.

        ``checkpoints`` are the ``checkpoint_dir`` and ``checkpoint_every`` keyword arguments
        of the algorithm's ``train``.
        """

    @property
    def learn_progress(self) -> int:
        """Units of :meth:`learn` done so far in this run (what callbacks receive)."""
        return self._learn_progress()

    def _learn_progress(self) -> int:
        return self.num_updates

    def _unit_done(self, done: int | None = None) -> None:
        """Report a finished unit (``done`` units so far) to :meth:`learn`'s callback.

        Raises:
            StopLearning: If the callback returned ``False``; :meth:`learn` ends there,
                writing a checkpoint when it writes checkpoints.
        """
        callback = self._callback
        if (
            callback is not None
            and callback(self, self._learn_progress() if done is None else done) is False
        ):
            raise StopLearning

    # --- progress of the running loop ---------------------------------------------------

    def _begin_progress(self, **start: int) -> dict[str, int]:
        """Counters for a loop: the restored ones after :meth:`resume`, else ``start``.

        A loop counts in the returned dict (it is what a checkpoint saves), so that a resumed
        loop with the same arguments does only the remaining work.

        Raises:
            ValueError: If the restored counters lack one of ``start``'s keys (the checkpoint
                was written by another loop).
        """
        if self._pending_progress is None:
            self._progress = dict(start)
        else:
            missing = set(start) - set(self._pending_progress)
            if missing:
                raise ValueError(
                    f"the resumed checkpoint lacks the progress counters {sorted(missing)}; "
                    "was it written by another training method?"
                )
            self._progress = dict(self._pending_progress)
        self._pending_progress = None
        return self._progress

    # --- checkpoints --------------------------------------------------------------------

    @abc.abstractmethod
    def _checkpoint_state(self, directory: Path) -> dict[str, Any]:
        """The algorithm's state for a checkpoint: tensors and plain data only.

        May write side files into ``directory`` (e.g. DAgger's per-round episodes).
        """

    @abc.abstractmethod
    def _restore_checkpoint_state(
        self, state: Mapping[str, Any], directory: Path, path: Path
    ) -> None:
        """Restore what :meth:`_checkpoint_state` returned (``path``: the file, for messages)."""

    def save_checkpoint(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``directory/checkpoint.pt`` atomically, for :meth:`resume`.

        Args:
            directory: The checkpoint directory; created if missing.

        Returns:
            The checkpoint file's path.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        data = {
            "format_version": CHECKPOINT_FORMAT_VERSION,
            "trainer_class": type(self).__name__,
            "progress": dict(self._progress),
            "state": self._checkpoint_state(directory),
        }
        return atomic_write(directory / CHECKPOINT_FILE, lambda tmp: torch.save(data, tmp))

    def resume(self, directory: str | os.PathLike[str]) -> None:
        """Restore a checkpoint so that the next ``learn`` (or ``train``) continues the run.

        Build the trainer as the interrupted run did, call ``resume``, then make the same
        call as before: its budget counts the whole run, so only the rest is done.

        Args:
            directory: A directory written by :meth:`save_checkpoint`.

        Raises:
            FileNotFoundError: If ``directory`` holds no checkpoint.
            ValueError: If the checkpoint is unreadable, of another format version, of
                another algorithm, or does not fit this trainer.
        """
        directory = Path(directory)
        path = directory / CHECKPOINT_FILE
        data = read_checkpoint(directory)
        ours = type(self).__name__
        if data["trainer_class"] != ours:
            raise ValueError(
                f"{path} is a checkpoint of a {data['trainer_class']} trainer, not of a {ours}; "
                f"resume it with {data['trainer_class']}"
            )
        self._restore_checkpoint_state(data["state"], directory, path)
        self._pending_progress = {k: int(v) for k, v in data["progress"].items()}
        self._progress = dict(self._pending_progress)

    def _maybe_checkpoint(
        self, checkpoint_dir: str | os.PathLike[str] | None, checkpoint_every: int
    ) -> None:
        """Checkpoint when the units done are a multiple of ``checkpoint_every``."""
        if checkpoint_dir is not None and self._learn_progress() % checkpoint_every == 0:
            self.save_checkpoint(checkpoint_dir)
