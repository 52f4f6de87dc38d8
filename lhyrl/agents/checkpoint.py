"""File helpers shared by the agents: plain-data spaces, RNG states as tensors, checkpoints.

Everything an agent writes to disk goes through this module so that every file holds only
tensors and Python primitives (loadable with ``torch.load(weights_only=True)``) and is
replaced atomically: a reader sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from lhyrl.agents.trainer import CHECKPOINT_FILE
from lhyrl.data.spaces import space_from_description, space_to_description
from lhyrl.files import atomic_write

__all__ = [
    "CHECKPOINT_FILE",
    "atomic_write",
    "check_checkpoint_every",
    "check_same_settings",
    "decode_classes",
    "encode_classes",
    "numpy_rng_from_tensor",
    "numpy_rng_to_tensor",
    "read_versioned_file",
    "seeded_global_rng",
    "space_from_description",
    "space_to_description",
]


_CLASS_KEY = "__class__"


# --- classes inside constructor kwargs ---------------------------------------------------


def encode_classes(value: Any) -> Any:
    """Turn constructor kwargs into plain data: classes become ``{"__class__": "module:qualname"}``.

    Args:
        value: A kwargs value: a class, a primitive, or a list/tuple/dict of those.

    Returns:
        The same structure with every class replaced by its import path.

    Raises:
        ValueError: If something else (a function, an object, a local class) is inside.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, type):
        name = f"{value.__module__}:{value.__qualname__}"
        if "<locals>" in value.__qualname__:
            raise ValueError(f"cannot save the local class {name}; define it at module level")
        return {_CLASS_KEY: name}
    if isinstance(value, (list, tuple)):
        return type(value)(encode_classes(v) for v in value)
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"cannot save a dict with non-string keys: {value!r}")
        return {k: encode_classes(v) for k, v in value.items()}
    raise ValueError(
        f"cannot save {value!r} ({type(value).__name__}) as plain data; policy kwargs may hold "
        "numbers, strings, classes, and lists/dicts of those"
    )


def decode_classes(value: Any) -> Any:
    """Inverse of :func:`encode_classes`: import each ``{"__class__": ...}`` entry.

    Args:
        value: Output of :func:`encode_classes`.

    Returns:
        The structure with classes restored.

    Raises:
        ValueError: If a named class cannot be imported or is not a class.
    """
    if isinstance(value, (list, tuple)):
        return type(value)(decode_classes(v) for v in value)
    if isinstance(value, Mapping):
        if set(value) == {_CLASS_KEY}:
            return _import_class(str(value[_CLASS_KEY]))
        return {k: decode_classes(v) for k, v in value.items()}
    return value


def _import_class(name: str) -> type:
    module_name, _, qualname = name.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"the file names the class {name}, which cannot be imported") from err
    if not isinstance(obj, type):
        raise ValueError(f"the file names {name} as a class, but it is a {type(obj).__name__}")
    return obj


# --- numpy Generator state as a tensor ---------------------------------------------------


def numpy_rng_to_tensor(rng: np.random.Generator) -> torch.Tensor:
    """Encode a PCG64 ``numpy.random.Generator``'s state as a ``uint8`` tensor.

    Args:
        rng: A generator from ``np.random.default_rng``.

    Returns:
        A 1-D ``uint8`` tensor of 37 bytes.

    Raises:
        ValueError: If the generator is not PCG64-based.
    """
    state = rng.bit_generator.state
    if state.get("bit_generator") != "PCG64":
        raise ValueError(f"only PCG64 generators can be saved, not {state.get('bit_generator')}")
    raw = (
        int(state["state"]["state"]).to_bytes(16, "little")
        + int(state["state"]["inc"]).to_bytes(16, "little")
        + int(state["has_uint32"]).to_bytes(1, "little")
        + int(state["uinteger"]).to_bytes(4, "little")
    )
    return torch.tensor(list(raw), dtype=torch.uint8)


def numpy_rng_from_tensor(rng: np.random.Generator, encoded: torch.Tensor) -> None:
    """Restore the state :func:`numpy_rng_to_tensor` encoded into ``rng`` (in place).

    Args:
        rng: A PCG64 generator to overwrite.
        encoded: The tensor from :func:`numpy_rng_to_tensor`.
    """
    raw = bytes(encoded.to(torch.uint8).tolist())
    if len(raw) != 37:
        raise ValueError(f"a saved numpy generator state has 37 bytes, not {len(raw)}")
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {
            "state": int.from_bytes(raw[0:16], "little"),
            "inc": int.from_bytes(raw[16:32], "little"),
        },
        "has_uint32": raw[32],
        "uinteger": int.from_bytes(raw[33:37], "little"),
    }


# --- checks -----------------------------------------------------------------------------


def check_checkpoint_every(checkpoint_every: int) -> None:
    """Refuse a ``checkpoint_every`` below 1."""
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be at least 1, got {checkpoint_every}")


# --- trainer files -------------------------------------------------------------------------


def read_versioned_file(
    path: str | os.PathLike[str],
    keys: tuple[str, ...],
    *,
    format_version: int,
    unreadable: str,
    kind: str,
) -> dict[str, Any]:
    """``torch.load(weights_only=True)`` a trainer file; check its entries and format version.

    Args:
        path: The file.
        keys: Entries the file must hold (``"format_version"`` among them).
        format_version: The version this lhyrl reads.
        unreadable: Ends ``"{path} is not ..."`` when the file cannot be loaded
            (e.g. ``"a readable lhyrl trainer file"``).
        kind: Ends ``"{path} is not ..."`` when entries are missing
            (e.g. ``"an lhyrl trainer file"``).

    Returns:
        The file's data.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: As ``torch.load`` raises them.
        ValueError: If the file is unreadable, lacks an entry or has another format version.
    """
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as err:
        raise ValueError(f"{path} is not {unreadable}: {err}") from err
    missing = [k for k in keys if not isinstance(data, dict) or k not in data]
    if missing:
        raise ValueError(f"{path} is not {kind}: it lacks {missing}")
    if data["format_version"] != format_version:
        raise ValueError(
            f"{path} has format version {data['format_version']}; this lhyrl reads "
            f"version {format_version}"
        )
    return dict(data)


def check_same_settings(
    path: str | os.PathLike[str],
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    *,
    what: str = "hyperparameters",
) -> None:
    """Refuse to resume a checkpoint written with other settings than the trainer's own.

    Args:
        path: The checkpoint (named in the message).
        ours: The resuming trainer's settings (plain data).
        theirs: The checkpoint's.
        what: What the settings are called in the message.

    Raises:
        ValueError: Naming every setting that differs, with both values.
    """
    differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
    if differ:
        detail = ", ".join(f"{k}: {theirs.get(k)!r} vs {ours.get(k)!r}" for k in differ)
        raise ValueError(
            f"{path} was written by a trainer with other {what} ({detail}); "
            "build the trainer as the interrupted run did"
        )


# --- dropout drawn from a trainer's own RNG --------------------------------------------------


@contextlib.contextmanager
def seeded_global_rng(generator: torch.Generator, device: torch.device) -> Iterator[None]:
    """Run a block whose draws from PyTorch's global RNG (dropout) come from ``generator``.

    Dropout layers cannot take a :class:`torch.Generator`; inside this block the global RNG
    (of the CPU, and of ``device`` if it is a GPU) is forked and seeded by one draw of
    ``generator``, so training stays a function of the trainer's seed (and resumes exactly)
    while the caller's global RNG is left as it was.
    """
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=device))
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
