"""Plain ``.npz`` demonstration files: flat per-step arrays, as many users hold them.

The layout is ``obs``, ``acts``, ``next_obs``, ``dones`` (and optionally ``episode_starts``,
``rewards`` or ``rews``, ``terminated``, ``truncated``, ``env_id``); see :func:`load_npz`.
Nothing is ever unpickled.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from minari.serialization import deserialize_space, serialize_space

from lhyrl.data.dataset import (
    DatasetError,
    Demonstrations,
    _array_shape,
    _check_path_free,
    _last_step_flags,
)
from lhyrl.data.types import Episode
from lhyrl.files import atomic_write

_NPZ_LAYOUT = (
    "an .npz file needs arrays obs (N, *obs_shape), acts (N, *act_shape), "
    "next_obs (N, *obs_shape) and dones (N,) bool, and may add episode_starts (N,) bool, "
    "rewards (N,) (or rews), terminated (N,) bool, truncated (N,) bool and env_id, a string "
    "naming the Gymnasium env (whose spaces the arrays must then fit)"
)


_Fail = Callable[[str], DatasetError]
"""Builds the error for one problem found in one file."""


def save_npz(
    path: str | os.PathLike[str], demos: Demonstrations, *, overwrite: bool = False
) -> Path:
    """Write demonstrations as flat per-step arrays in an ``.npz`` file.

    Besides the arrays :func:`load_npz` reads, the file records both spaces (as JSON) and the
    env id, so :func:`load_demonstrations` gives back the same demonstrations. The file is
    written under a temporary name and renamed into place.

    Args:
        path: The file to write; must end in ``.npz``.
        demos: The demonstrations to write.
        overwrite: Replace an existing file at ``path``.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        FileExistsError: If ``path`` exists and ``overwrite`` is false.
        ValueError: If ``path`` does not end in ``.npz``.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"{path} must end in .npz")
    _check_path_free(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    eps = demos.episodes
    arrays: dict[str, np.ndarray] = {
        "obs": np.concatenate([ep.obs[:-1] for ep in eps]),
        "acts": np.concatenate([ep.acts for ep in eps]),
        "next_obs": np.concatenate([ep.obs[1:] for ep in eps]),
        "dones": np.concatenate([_last_step_flags(len(ep), True) for ep in eps]),
        "episode_starts": np.concatenate([_first_step_flags(len(ep)) for ep in eps]),
        "rewards": np.concatenate([ep.rewards for ep in eps]),
        "terminated": np.concatenate([_last_step_flags(len(ep), ep.terminated) for ep in eps]),
        "truncated": np.concatenate([_last_step_flags(len(ep), ep.truncated) for ep in eps]),
        "observation_space": np.array(serialize_space(demos.observation_space)),
        "action_space": np.array(serialize_space(demos.action_space)),
    }
    if demos.env_id is not None:
        arrays["env_id"] = np.array(demos.env_id)
    with_frames = [ep.frames is not None for ep in eps]
    if any(with_frames):
        if not all(with_frames):
            raise ValueError("some episodes have frames and some do not; save all or none")
        arrays["frames"] = np.concatenate([ep.frames[:-1] for ep in eps])  # type: ignore[index]
        arrays["next_frames"] = np.concatenate([ep.frames[1:] for ep in eps])  # type: ignore[index]

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]

    atomic_write(path, write)
    return path


def _first_step_flags(n_steps: int) -> np.ndarray:
    flags = np.zeros(n_steps, dtype=bool)
    flags[0] = True
    return flags


def load_npz(
    path: str | os.PathLike[str],
    *,
    observation_space: gym.Space | None = None,
    action_space: gym.Space | None = None,
) -> Demonstrations:
    """Import demonstrations from flat per-step arrays in an ``.npz`` file.

    Required arrays, ``N`` steps in all: ``obs (N, *obs_shape)``, ``acts (N, *act_shape)``,
    ``next_obs (N, *obs_shape)``, ``dones (N,)`` (True at the last step of each episode).
    Optional: ``episode_starts (N,)`` (True at the first step of each episode; must agree with
    ``dones``), ``rewards (N,)`` or, as imitation names it, ``rews (N,)`` (zeros when absent),
    ``terminated``/``truncated (N,)`` (read at each episode's last step; without them an
    episode ending in a done counts as terminated), ``env_id`` (a string such as
    ``"CartPole-v1"``), ``observation_space``/``action_space`` as written by
    :func:`save_npz`, and ``frames``/``next_frames (N, H, W, C)`` uint8 (pictures of the
    scene before and after each step, kept as each episode's ``frames``).

    Episodes are split at ``dones``; steps after the last done form a final episode marked
    truncated. Within an episode, ``next_obs[t]`` must equal ``obs[t + 1]``.

    Each space comes from the arguments, else from the file's serialized spaces, else from the
    env ``env_id`` names (made with ``gym.make``; lhyrl's own ids are registered by then), else
    is inferred: integer 1-D ``acts`` give ``Discrete(max + 1)``, anything else a float32
    ``Box(-inf, inf)``; the observation space is a float32 ``Box(-inf, inf)``. An ``env_id``
    that cannot be made is warned about and the spaces are inferred.

    The arrays must fit the spaces: the same shape per step, and for integer spaces
    (``Discrete``, ``MultiDiscrete``, ``MultiBinary``, integer ``Box``) whole numbers inside
    the space. Arrays are then cast to the spaces' dtypes; float ``Box`` bounds are not
    checked (recorded actions may lie outside them; envs such as Pendulum clip them).

    Args:
        path: The ``.npz`` file.
        observation_space: The observation space to validate against, if known.
        action_space: The action space to validate against, if known.

    Returns:
        The demonstrations.

    Raises:
        DatasetError: If the file is unreadable, a key is missing, or an array has the wrong
            length, shape or dtype, non-finite values, or values outside the space; the message
            names the file, the array and the space it was checked against.
    """
    path = Path(path)
    arrays = _read_npz(path)

    def fail(message: str) -> DatasetError:
        return DatasetError(f"{path}: {message}; {_NPZ_LAYOUT}")

    for key in ("obs", "acts", "next_obs", "dones"):
        if key not in arrays:
            raise fail(f"the required array {key!r} is missing (found {sorted(arrays)})")
    n = len(arrays["obs"]) if arrays["obs"].ndim else 0
    if n == 0:
        raise fail("'obs' holds no steps")
    rewards_key = _rewards_key(arrays, fail)
    for key in (
        "acts",
        "next_obs",
        "dones",
        "episode_starts",
        rewards_key,
        "terminated",
        "truncated",
    ):
        _check_length(arrays, key, n, fail)
    for key in ("obs", "acts", "next_obs", rewards_key):
        if key in arrays:
            _check_numeric(arrays[key], key, fail)
    if arrays["next_obs"].shape != arrays["obs"].shape:
        raise fail(
            f"'next_obs' has shape {arrays['next_obs'].shape}, expected the shape of 'obs', "
            f"{arrays['obs'].shape}"
        )
    flags: dict[str, np.ndarray] = {
        key: _as_flags(arrays[key], key, fail)
        for key in ("dones", "episode_starts", "terminated", "truncated")
        if key in arrays
    }
    for key in ("dones", rewards_key):
        if key in arrays and arrays[key].ndim != 1:
            raise fail(f"{key!r} has shape {arrays[key].shape}, expected ({n},)")

    env_id = _stored_env_id(arrays, fail)
    (obs_space, obs_origin), (act_space, act_origin) = _pick_spaces(
        arrays, env_id, path, {"observation": observation_space, "action": action_space}, fail
    )
    obs = _cast_to_space(arrays["obs"], obs_space, "obs", obs_origin, fail)
    next_obs = _cast_to_space(arrays["next_obs"], obs_space, "next_obs", obs_origin, fail)
    acts = _cast_to_space(arrays["acts"], act_space, "acts", act_origin, fail)
    rewards = arrays[rewards_key].astype(np.float32) if rewards_key in arrays else np.zeros(n, "f4")

    dones = flags["dones"]
    ends = [int(end) for end in np.flatnonzero(dones)]
    if not ends or ends[-1] != n - 1:
        ends.append(n - 1)  # a trailing partial episode, kept as truncated
    starts = [0] + [end + 1 for end in ends[:-1]]
    if "episode_starts" in flags:
        expected = np.zeros(n, dtype=bool)
        expected[starts] = True
        disagree = np.flatnonzero(expected != flags["episode_starts"])
        if len(disagree):
            t = int(disagree[0])
            raise fail(
                f"'episode_starts' disagrees with 'dones' at step {t}: episode_starts[{t}] is "
                f"{bool(flags['episode_starts'][t])} but dones says a new episode "
                f"{'starts' if expected[t] else 'does not start'} there"
            )

    frames, next_frames = _frames(arrays, n, fail)
    episodes = []
    for start, end in zip(starts, ends, strict=True):
        seam = np.flatnonzero(
            ~_rows_equal(next_obs[start:end], obs[start + 1 : end + 1])
        )  # (end - start,) steps where the observations do not chain up
        if len(seam):
            t = start + int(seam[0])
            raise fail(
                f"next_obs[{t}] differs from obs[{t + 1}] inside an episode; is a done missing?"
            )
        terminated, truncated = _end_flags(flags, end)
        episode_frames = None
        if frames is not None and next_frames is not None:
            if not np.array_equal(next_frames[start:end], frames[start + 1 : end + 1]):
                raise fail(
                    f"next_frames differ from the frames after them in the episode at {start}"
                )
            episode_frames = np.concatenate([frames[start : end + 1], next_frames[end : end + 1]])
        episodes.append(
            Episode(
                obs=np.concatenate([obs[start : end + 1], next_obs[end : end + 1]]),
                acts=acts[start : end + 1],
                rewards=rewards[start : end + 1],
                terminated=terminated,
                truncated=truncated,
                frames=episode_frames,
            )
        )
    try:
        return Demonstrations(episodes, obs_space, act_space, env_id=env_id)
    except DatasetError as err:
        raise fail(str(err)) from err


def _frames(
    arrays: dict[str, np.ndarray], n: int, fail: _Fail
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The optional ``frames`` and ``next_frames`` arrays, checked: both or neither."""
    if "frames" not in arrays and "next_frames" not in arrays:
        return None, None
    if "frames" not in arrays or "next_frames" not in arrays:
        raise fail("'frames' and 'next_frames' come together; the file has only one of them")
    frames, next_frames = arrays["frames"], arrays["next_frames"]
    for key, array in (("frames", frames), ("next_frames", next_frames)):
        if array.dtype != np.uint8 or array.ndim != 4 or len(array) != n:
            raise fail(f"{key!r} must be ({n}, H, W, C) uint8, got {array.shape} {array.dtype}")
    if next_frames.shape != frames.shape:
        raise fail(f"'next_frames' has shape {next_frames.shape}, 'frames' {frames.shape}")
    return frames, next_frames


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DatasetError(f"{path} does not exist or is not a file; {_NPZ_LAYOUT}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as err:  # zipfile.BadZipFile, OSError, ValueError, EOFError, ...
        raise DatasetError(
            f"{path} is not a readable .npz archive ({type(err).__name__}: {err}); {_NPZ_LAYOUT}"
        ) from err
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DatasetError(f"{path} holds a single .npy array, not an .npz archive; {_NPZ_LAYOUT}")
    try:
        with loaded as npz:
            arrays: dict[str, np.ndarray] = {}
            for key in npz:
                try:
                    arrays[key] = npz[key]
                except ValueError as err:  # object arrays would need unpickling
                    raise DatasetError(
                        f"{path}: array {key!r} cannot be read without unpickling ({err}); "
                        "store plain numeric arrays"
                    ) from err
            return arrays
    except DatasetError:
        raise
    except Exception as err:  # zipfile.BadZipFile, OSError, ValueError, EOFError, ...
        raise DatasetError(
            f"{path} is not a readable .npz archive ({type(err).__name__}: {err}); {_NPZ_LAYOUT}"
        ) from err


def _check_length(arrays: dict[str, np.ndarray], key: str, n: int, fail: _Fail) -> None:
    if key not in arrays:
        return
    length = len(arrays[key]) if arrays[key].ndim else None
    if length != n:
        raise fail(f"{key!r} holds {length} steps but 'obs' holds {n}; they must match")


def _check_numeric(array: np.ndarray, key: str, fail: _Fail) -> None:
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise fail(f"{key!r} has dtype {array.dtype}; expected integers or floats")
    if np.issubdtype(array.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))
        if len(bad):
            raise fail(
                f"{key!r} holds NaN or infinite values ({len(bad)} steps, the first at step "
                f"{int(bad[0])}); expected finite numbers"
            )


def _as_flags(array: np.ndarray, key: str, fail: _Fail) -> np.ndarray:
    if array.ndim != 1:
        raise fail(f"{key!r} has shape {array.shape}, expected one flag per step")
    if array.dtype == np.bool_:
        return array
    numeric = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    if numeric and np.isin(array, (0, 1)).all():
        return array.astype(bool)
    raise fail(f"{key!r} must hold booleans (or 0/1); got dtype {array.dtype}")


def _rewards_key(arrays: dict[str, np.ndarray], fail: _Fail) -> str:
    """The name the file gives its rewards: ``rewards`` or, as imitation has it, ``rews``."""
    if "rewards" in arrays and "rews" in arrays:
        raise fail("both 'rewards' and 'rews' are present; keep one of them")
    return "rews" if "rews" in arrays else "rewards"


def _stored_env_id(arrays: dict[str, np.ndarray], fail: _Fail) -> str | None:
    if "env_id" not in arrays:
        return None
    value = arrays["env_id"]
    if value.size != 1 or value.dtype.kind not in "US":
        raise fail(
            f"'env_id' must hold one string such as 'CartPole-v1'; got shape {value.shape}, "
            f"dtype {value.dtype}"
        )
    item = value.reshape(()).item()
    return item.decode("utf-8", errors="replace") if isinstance(item, bytes) else str(item)


_Picked = tuple[gym.Space, str]
"""A space and where it came from, for error messages."""


def _pick_spaces(
    arrays: dict[str, np.ndarray],
    env_id: str | None,
    path: Path,
    given: dict[str, gym.Space | None],
    fail: _Fail,
) -> tuple[_Picked, _Picked]:
    """The observation and action spaces: given, else stored, else env_id's, else inferred.

    ``given`` maps ``"observation"`` and ``"action"`` to the spaces passed to :func:`load_npz`.
    """
    picked: dict[str, tuple[gym.Space | None, str]] = {}
    for role, space in given.items():
        if space is not None:
            picked[role] = (space, f"the given {role} space")
        else:
            picked[role] = (
                _stored_space(arrays, f"{role}_space", fail),
                f"the file's {role} space",
            )
    if env_id is not None and any(space is None for space, _ in picked.values()):
        env_spaces = _env_spaces(env_id, path)
        if env_spaces is not None:
            for role, space in zip(("observation", "action"), env_spaces, strict=True):
                if picked[role][0] is None:
                    picked[role] = (space, f"the {role} space of {env_id}, the file's env_id")
    obs_space, obs_origin = picked["observation"]
    if obs_space is None:
        obs_space = spaces.Box(-np.inf, np.inf, shape=arrays["obs"].shape[1:])
        obs_origin = "the inferred observation space"
    act_space, act_origin = picked["action"]
    if act_space is None:
        act_space, act_origin = _infer_action_space(arrays["acts"]), "the inferred action space"
    return (obs_space, obs_origin), (act_space, act_origin)


def _env_spaces(env_id: str, path: Path) -> tuple[gym.Space, gym.Space] | None:
    """The spaces of ``gym.make(env_id)``, or None (with a warning) if it cannot be made.

    Importing this module imported :mod:`lhyrl`, so lhyrl's own ids are registered.
    """
    try:
        env = gym.make(env_id)
    except Exception as err:  # unregistered id, missing dependency, failing constructor, ...
        warnings.warn(
            f"{path}: cannot make the env {env_id!r} named by 'env_id' "
            f"({type(err).__name__}: {err}); inferring unbounded spaces from the arrays, "
            "which trainers will refuse as incompatible with the env; pass "
            "observation_space and action_space to load_npz instead",
            UserWarning,
            stacklevel=3,
        )
        return None
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def _stored_space(arrays: dict[str, np.ndarray], key: str, fail: _Fail) -> gym.Space | None:
    if key not in arrays:
        return None
    try:
        text = str(arrays[key].item())
        return deserialize_space(text)
    except Exception as err:  # Minari's deserializer raises assorted errors and asserts
        raise fail(
            f"{key!r} is not a valid serialized space ({type(err).__name__}: {err})"
        ) from err


def _infer_action_space(acts: np.ndarray) -> gym.Space:
    if np.issubdtype(acts.dtype, np.integer) and acts.ndim == 1 and acts.min() >= 0:
        return spaces.Discrete(int(acts.max()) + 1)
    return spaces.Box(-np.inf, np.inf, shape=acts.shape[1:], dtype=np.float32)


def _cast_to_space(
    array: np.ndarray, space: gym.Space, key: str, origin: str, fail: _Fail
) -> np.ndarray:
    """``array`` cast to ``space``'s dtype, once checked to fit ``space`` (from ``origin``)."""
    try:
        shape = _array_shape(space, "observation" if "obs" in key else "action")
    except DatasetError as err:
        raise fail(f"{origin}: {err}") from err
    if array.shape[1:] != shape:
        raise fail(
            f"{key!r} has shape {array.shape[1:]} per step (dtype {array.dtype}) but {space} "
            f"({origin}) has shape {shape}"
        )
    bounds = _integer_bounds(space, shape)
    if bounds is None:
        return array.astype(space.dtype, copy=False)
    if not np.array_equal(array, np.round(array)):
        raise fail(
            f"{key!r} holds numbers that are not whole (dtype {array.dtype}) but {space} "
            f"({origin}) takes integers"
        )
    low, high = bounds
    inside = ((array >= low) & (array <= high)).reshape(len(array), -1).all(axis=1)
    if not inside.all():
        t = int(np.flatnonzero(~inside)[0])
        raise fail(f"{key!r}[{t}] = {array[t]} lies outside {space} ({origin})")
    return array.astype(space.dtype)


def _integer_bounds(
    space: gym.Space, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The lowest and highest values of an integer space; None for float spaces."""
    if isinstance(space, spaces.MultiBinary):
        return np.zeros(shape, np.int64), np.ones(shape, np.int64)
    if isinstance(space, spaces.Discrete):
        return np.asarray(space.start), np.asarray(space.start + space.n - 1)
    if isinstance(space, spaces.MultiDiscrete):
        return np.asarray(space.start), np.asarray(space.start + space.nvec - 1)
    if isinstance(space, spaces.Box) and np.issubdtype(space.dtype, np.integer):
        return space.low, space.high
    return None


def _end_flags(flags: dict[str, np.ndarray], end: int) -> tuple[bool, bool]:
    """``(terminated, truncated)`` of the episode whose last step is ``end``."""
    if not flags["dones"][end]:
        return False, True  # a trailing partial episode
    terminated = flags.get("terminated")
    truncated = flags.get("truncated")
    if terminated is None and truncated is None:
        return True, False
    if truncated is None:
        return bool(terminated[end]), not bool(terminated[end])  # type: ignore[index]
    if terminated is None:
        return not bool(truncated[end]), bool(truncated[end])
    return bool(terminated[end]), bool(truncated[end])


def _rows_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row exact equality of two ``(T, ...)`` arrays, as ``(T,)`` bool."""
    return (a.reshape(len(a), -1) == b.reshape(len(b), -1)).all(axis=1)
