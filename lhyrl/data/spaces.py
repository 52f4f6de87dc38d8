"""Spaces as plain data (dicts of strings, numbers and lists), for files that must not pickle.

Agent files, checkpoints and reward-network files describe their spaces with
:func:`space_to_description` and rebuild them with :func:`space_from_description`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["space_from_description", "space_to_description"]


def space_to_description(space: gym.Space[Any]) -> dict[str, Any]:
    """Describe a space as plain data (no pickled gymnasium objects).

    Supports ``Box``, ``Discrete``, ``MultiDiscrete`` and ``MultiBinary``, the spaces an SB3
    ``ActorCriticPolicy`` handles.

    Args:
        space: The space to describe.

    Returns:
        A dict of strings, numbers and (nested) lists.

    Raises:
        ValueError: For any other kind of space.
    """
    if isinstance(space, gym.spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": np.dtype(space.dtype).name,
            "low": space.low.tolist(),
            "high": space.high.tolist(),
        }
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {
            "type": "MultiDiscrete",
            "nvec": space.nvec.tolist(),
            "start": space.start.tolist(),
            "dtype": np.dtype(space.dtype).name,
        }
    if isinstance(space, gym.spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}  # an int or a list
    raise ValueError(
        f"cannot describe a {type(space).__name__} space; agents support Box, Discrete, "
        "MultiDiscrete and MultiBinary"
    )


def space_from_description(desc: Mapping[str, Any]) -> gym.Space[Any]:
    """Rebuild a space from :func:`space_to_description`'s output.

    Args:
        desc: The description.

    Returns:
        An equal space.

    Raises:
        ValueError: If the description is not one this module writes.
    """
    kind = desc.get("type")
    try:
        if kind == "Box":
            dtype = np.dtype(desc["dtype"])
            return gym.spaces.Box(
                low=np.asarray(desc["low"], dtype=dtype),
                high=np.asarray(desc["high"], dtype=dtype),
                shape=tuple(desc["shape"]),
                dtype=dtype,
            )
        if kind == "Discrete":
            return gym.spaces.Discrete(int(desc["n"]), start=int(desc["start"]))
        if kind == "MultiDiscrete":
            return gym.spaces.MultiDiscrete(
                np.asarray(desc["nvec"]),
                dtype=np.dtype(desc["dtype"]),
                start=np.asarray(desc["start"]),
            )
        if kind == "MultiBinary":
            n = desc["n"]
            return gym.spaces.MultiBinary(n if isinstance(n, int) else list(n))
    except (KeyError, TypeError) as err:
        raise ValueError(f"malformed {kind} space description {dict(desc)!r}: {err!r}") from err
    raise ValueError(f"unknown space type {kind!r} in description {dict(desc)!r}")
