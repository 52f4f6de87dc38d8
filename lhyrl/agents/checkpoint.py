"""File helpers shared by the agents: plain-data spaces, RNG states as tensors.

Everything an agent writes to disk goes through this module so that every file holds only
tensors and Python primitives (loadable with ``torch.load(weights_only=True)``) and is
replaced atomically: a reader sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lhyrl.data.spaces import space_from_description, space_to_description
from lhyrl.files import atomic_write

__all__ = [
    "atomic_write",
    "begin_progress",
    "decode_classes",
    "encode_classes",
    "numpy_rng_from_tensor",
    "numpy_rng_to_tensor",
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


# --- progress counters of a train call -----------------------------------------------------


def begin_progress(pending: Mapping[str, int] | None, start: Mapping[str, int]) -> dict[str, int]:
    """The counters a ``train`` call starts from: ``pending`` after a resume, else ``start``.

    Raises:
        ValueError: If the restored counters lack one of ``start``'s keys (the checkpoint was
            written by another ``train`` method).
    """
    if pending is None:
        return dict(start)
    missing = set(start) - set(pending)
    if missing:
        raise ValueError(
            f"the resumed checkpoint lacks the progress counters {sorted(missing)}; "
            "was it written by another train method?"
        )
    return dict(pending)
