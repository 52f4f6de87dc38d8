from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from lhyrl.agents.checkpoint import (
    atomic_write,
    decode_classes,
    encode_classes,
    numpy_rng_from_tensor,
    numpy_rng_to_tensor,
    space_from_description,
    space_to_description,
)


@pytest.mark.parametrize(
    "space",
    [
        gym.spaces.Box(-1.0, 2.0, (3, 2), np.float32),
        gym.spaces.Box(np.array([-np.inf, 0]), np.array([np.inf, 1]), dtype=np.float64),
        gym.spaces.Box(0, 255, (4, 4, 3), np.uint8),
        gym.spaces.Discrete(5, start=-1),
        gym.spaces.MultiDiscrete([3, 4]),
        gym.spaces.MultiBinary(6),
        gym.spaces.MultiBinary([2, 3]),
    ],
)
def test_space_description_round_trips(space, tmp_path) -> None:
    path = tmp_path / "space.pt"
    torch.save(space_to_description(space), path)
    rebuilt = space_from_description(torch.load(path, weights_only=True))
    assert rebuilt == space
    assert rebuilt.dtype == space.dtype


def test_unsupported_spaces_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot describe a Dict space"):
        space_to_description(gym.spaces.Dict({"a": gym.spaces.Discrete(2)}))
    with pytest.raises(ValueError, match="unknown space type"):
        space_from_description({"type": "Graph"})


def test_classes_are_saved_by_import_path() -> None:
    kwargs = {"activation_fn": torch.nn.ReLU, "net_arch": {"pi": [8], "vf": [8]}, "eps": 1e-5}
    encoded = encode_classes(kwargs)
    assert encoded["activation_fn"] == {"__class__": "torch.nn.modules.activation:ReLU"}
    assert decode_classes(encoded) == kwargs
    with pytest.raises(ValueError, match="plain data"):
        encode_classes({"fn": lambda x: x})
    with pytest.raises(ValueError, match="cannot be imported"):
        decode_classes({"__class__": "no_such_module:Thing"})


def test_numpy_generator_state_round_trips_as_a_tensor() -> None:
    rng = np.random.default_rng(7)
    rng.random(3)
    saved = numpy_rng_to_tensor(rng)
    expected = rng.random(5)
    other = np.random.default_rng(0)
    numpy_rng_from_tensor(other, saved)
    np.testing.assert_array_equal(other.random(5), expected)


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def failing(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, failing)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
