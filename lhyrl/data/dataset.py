"""Demonstrations in memory and on disk as Minari datasets (hdf5); ``.npz`` is in ``npz.py``.

A Minari dataset is a directory whose name is its dataset id, ``<name>-v<version>``::

    <name>-vN/data/metadata.json     # spaces, counts, provenance (JSON)
    <name>-vN/data/main_data.hdf5    # one group per episode: observations, actions, rewards, ...

so the folder holding it can serve as Minari's own datasets root (``MINARI_DATASETS_PATH``):
``minari.load_dataset("<name>-vN")`` and ``minari list local`` find it there.

An ``.npz`` file holds flat per-step arrays (see :func:`load_npz`). Nothing is ever unpickled.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import minari
import numpy as np
from gymnasium import spaces
from minari.data_collector import EpisodeBuffer
from minari.serialization import deserialize_space

from lhyrl.data.types import Episode, Transitions

_MINARI_LAYOUT = (
    "a Minari dataset is a directory <name>-v<N> holding data/metadata.json and "
    "data/main_data.hdf5, as written by lhyrl.data.save_demonstrations"
)

_DATASET_NAME = re.compile(r"[-\w]+")
"""What Minari allows in a dataset's name (``minari.dataset.minari_dataset.DATASET_NAME_RE``)."""

_VERSIONED = re.compile(r".+-v\d+")
"""A dataset folder name that ends in its version, as Minari's ids must."""


class DatasetError(ValueError):
    """A dataset file is missing, unreadable, corrupted or malformed."""


class DatasetMismatchError(DatasetError):
    """A dataset's observation or action space differs from the env's."""


# --------------------------------------------------------------------------------------------
# Spaces
# --------------------------------------------------------------------------------------------


def spaces_equal(a: gym.Space, b: gym.Space) -> bool:
    """Whether two spaces describe the same set: same type, shape, dtype, bounds and sizes.

    Unlike ``==`` on Box, bounds must match exactly (``inf`` equals ``inf``), and the dtypes
    must be identical.
    """
    if type(a) is not type(b) or a.shape != b.shape or a.dtype != b.dtype:
        return False
    if isinstance(a, spaces.Box):
        assert isinstance(b, spaces.Box)
        return np.array_equal(a.low, b.low) and np.array_equal(a.high, b.high)
    if isinstance(a, spaces.Discrete):
        assert isinstance(b, spaces.Discrete)
        return int(a.n) == int(b.n) and int(a.start) == int(b.start)
    if isinstance(a, spaces.MultiDiscrete):
        assert isinstance(b, spaces.MultiDiscrete)
        return np.array_equal(a.nvec, b.nvec) and np.array_equal(a.start, b.start)
    return bool(a == b)


def _array_shape(space: gym.Space, role: str) -> tuple[int, ...]:
    if space.shape is None or isinstance(space, spaces.Dict | spaces.Tuple | spaces.Text):
        raise DatasetError(
            f"unsupported {role} space {space}: lhyrl demonstrations need array spaces "
            "(Box, Discrete, MultiDiscrete or MultiBinary)"
        )
    return space.shape


# --------------------------------------------------------------------------------------------
# Demonstrations
# --------------------------------------------------------------------------------------------


@dataclass
class Demonstrations:
    """Episodes of demonstrations together with the spaces they live in.

    Attributes:
        episodes: The episodes, each with at least one step.
        observation_space: The (single-env) observation space of every ``episode.obs``.
        action_space: The (single-env) action space of every ``episode.acts``.
        env_id: The Gymnasium id of the env that produced them, if known.
    """

    episodes: list[Episode]
    observation_space: gym.Space
    action_space: gym.Space
    env_id: str | None = None

    def __post_init__(self) -> None:
        if not self.episodes:
            raise DatasetError("demonstrations need at least one episode; got none")
        obs_shape = _array_shape(self.observation_space, "observation")
        act_shape = _array_shape(self.action_space, "action")
        for i, ep in enumerate(self.episodes):
            if not isinstance(ep, Episode):
                raise DatasetError(f"episode {i} is a {type(ep).__name__}, not an Episode")
            if len(ep) == 0:
                raise DatasetError(f"episode {i} has no steps")
            if ep.obs.shape[1:] != obs_shape:
                raise DatasetError(
                    f"episode {i} has observations of shape {ep.obs.shape[1:]} per step; the "
                    f"observation space {self.observation_space} has shape {obs_shape}"
                )
            if ep.acts.shape[1:] != act_shape:
                raise DatasetError(
                    f"episode {i} has actions of shape {ep.acts.shape[1:]} per step; the "
                    f"action space {self.action_space} has shape {act_shape}"
                )

    @property
    def n_episodes(self) -> int:
        """The number of episodes."""
        return len(self.episodes)

    @property
    def n_steps(self) -> int:
        """The total number of steps (transitions) over all episodes."""
        return sum(len(ep) for ep in self.episodes)

    @property
    def mean_return(self) -> float:
        """The mean undiscounted episode return."""
        return float(np.mean([ep.episode_return for ep in self.episodes]))

    def transitions(self) -> Transitions:
        """All steps of all episodes as one flat batch of transitions."""
        return Transitions.from_episodes(self.episodes)

    def check_compatible(
        self, env_or_spaces: gym.Env | gym.vector.VectorEnv | tuple[gym.Space, gym.Space]
    ) -> None:
        """Check that these demonstrations fit an env.

        Args:
            env_or_spaces: A Gymnasium env, a vector env (its single-env spaces are used), or an
                ``(observation_space, action_space)`` pair.

        Raises:
            DatasetMismatchError: If either space differs; the message shows both pairs.
            TypeError: If ``env_or_spaces`` is none of the accepted kinds.
        """
        if isinstance(env_or_spaces, gym.vector.VectorEnv):
            obs_space = env_or_spaces.single_observation_space
            act_space = env_or_spaces.single_action_space
        elif isinstance(env_or_spaces, gym.Env):
            obs_space, act_space = env_or_spaces.observation_space, env_or_spaces.action_space
        elif (
            isinstance(env_or_spaces, tuple)
            and len(env_or_spaces) == 2
            and all(isinstance(s, gym.Space) for s in env_or_spaces)
        ):
            obs_space, act_space = env_or_spaces
        else:
            raise TypeError(
                "check_compatible takes a gym.Env, a gym.vector.VectorEnv or an "
                f"(observation_space, action_space) tuple; got {type(env_or_spaces).__name__}"
            )
        obs_ok = spaces_equal(self.observation_space, obs_space)
        act_ok = spaces_equal(self.action_space, act_space)
        if obs_ok and act_ok:
            return
        differing = {
            (False, True): "observation space differs",
            (True, False): "action space differs",
            (False, False): "observation and action spaces differ",
        }[(obs_ok, act_ok)]
        raise DatasetMismatchError(
            f"the dataset's {differing} from the env's:\n"
            f"  observation space: dataset {self.observation_space}, env {obs_space}\n"
            f"  action space:      dataset {self.action_space}, env {act_space}"
        )


# --------------------------------------------------------------------------------------------
# Minari datasets
# --------------------------------------------------------------------------------------------


def _dataset_dir(path: Path) -> Path:
    """The directory :func:`save_demonstrations` writes for ``path``: ``<name>-v<N>``.

    A Minari dataset's directory name is its dataset id, so that the folder above it works as
    a Minari datasets root. A name ending in ``-v<N>`` is kept; any other gets ``-v0``.
    """
    if not _DATASET_NAME.fullmatch(path.name):
        raise ValueError(
            f"{path} cannot be a Minari dataset: its folder name {path.name!r} is the dataset "
            "id, which may hold only letters, digits, '-' and '_', and ends in a version -v<N> "
            "(-v0 is added when missing); e.g. runs/demos/driving (written to "
            "runs/demos/driving-v0) or runs/demos/driving-v1"
        )
    return path if _VERSIONED.fullmatch(path.name) else path.with_name(f"{path.name}-v0")


def _versions_of(path: Path) -> list[Path]:
    """The existing directories ``<path>-v<N>``, lowest version first."""
    if not path.parent.is_dir():
        return []
    pattern = re.compile(re.escape(path.name) + r"-v(\d+)")
    found = [
        (int(match.group(1)), entry)
        for entry in path.parent.iterdir()
        if (match := pattern.fullmatch(entry.name)) and entry.is_dir()
    ]
    return [entry for _, entry in sorted(found)]


def _resolve_dataset_dir(path: Path) -> Path:
    """The dataset directory a path names, as :func:`load_demonstrations` reads it.

    A name without a version names its only versioned directory (``runs/demos/driving`` reads
    ``runs/demos/driving-v0``), so the path given to :func:`save_demonstrations` loads too. A
    directory of that very name (written before datasets were versioned) is read as it is,
    unless versioned ones exist beside it too.
    """
    if path.name == "data" or _VERSIONED.fullmatch(path.name):
        return path
    versions = _versions_of(path)
    if not versions:
        return path
    names = ", ".join(str(v) for v in versions)
    if path.exists():
        raise DatasetError(
            f"{path} is ambiguous: both it and {names} exist; give the path of the one to read"
        )
    if len(versions) > 1:
        raise DatasetError(
            f"{path} does not exist and several versions of it do ({names}); give the path of "
            "the one to read"
        )
    return versions[0]


@contextlib.contextmanager
def _minari_datasets_root(root: Path) -> Iterator[None]:
    """Point Minari's datasets root (``MINARI_DATASETS_PATH``) at ``root`` for a while.

    Minari reads the variable whenever it resolves a dataset path, so this is not thread-safe.
    """
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def _is_registered(env_id: str) -> bool:
    return env_id in gym.envs.registry


_OVERWRITE = "pass overwrite=True (lhyrl demos --overwrite) to replace it"


def _check_path_free(path: Path, *, overwrite: bool) -> None:
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise FileExistsError(f"{path} already exists; {_OVERWRITE}")


def check_demonstrations_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Where demonstrations saved at ``path`` would go, refusing a taken place up front.

    Call it before recording, so that a name already in use fails at once rather than after
    every episode has been run. ``.npz`` paths are files (:func:`save_npz`); anything else a
    Minari dataset directory (:func:`save_demonstrations`, which may append ``-v0``).

    Raises:
        FileExistsError: If the target (or, for a dataset, an unversioned ``path`` that would
            shadow it) exists and ``overwrite`` is false.
        ValueError: If ``path`` cannot name a Minari dataset.
    """
    given = Path(path).absolute()
    if given.suffix == ".npz":
        _check_path_free(given, overwrite=overwrite)
        return given
    target = _dataset_dir(given)
    _check_path_free(target, overwrite=overwrite)
    if given != target and (given.exists() or given.is_symlink()) and not overwrite:
        raise FileExistsError(
            f"{given} already exists; the dataset would go to {target}, but loading {given} "
            f"would still read the old one; {_OVERWRITE}, or name a version such as "
            f"{given.name}-v1"
        )
    return target


def _replace_path(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, replacing whatever is at ``dst``; each rename is atomic."""
    if not (dst.exists() or dst.is_symlink()):
        os.replace(src, dst)
        return
    old = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f".{dst.name}.old-"))
    os.replace(dst, old / "old")
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


def save_demonstrations(
    path: str | os.PathLike[str],
    demos: Demonstrations,
    *,
    algorithm_name: str | None = None,
    author: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write demonstrations as a Minari dataset (hdf5) directory at ``path``.

    The directory's name is the dataset's Minari id, so it holds only letters, digits, ``-``
    and ``_`` and ends in a version ``-v<N>``: ``-v0`` is appended to a ``path`` without one,
    and the directory actually written is returned. With ``MINARI_DATASETS_PATH`` pointing at
    its parent, ``minari.load_dataset("<name>-v<N>")`` and ``minari list local`` find the
    dataset; :func:`load_demonstrations` reads it from either path.

    The dataset is written into a temporary directory next to ``path`` and renamed into place
    once complete, so ``path`` never holds a half-written dataset. No env is built and no
    reference scores are computed; the env's spec is recorded when ``demos.env_id`` is
    registered with Gymnasium.

    Args:
        path: The dataset directory to create, such as ``runs/demos/driving`` (written to
            ``runs/demos/driving-v0``) or ``runs/demos/driving-v1``; it must not end in
            ``.npz``.
        demos: The demonstrations to write.
        algorithm_name: Recorded in the dataset's metadata, e.g. ``"PPO expert"``.
        author: Recorded in the dataset's metadata.
        overwrite: Replace an existing file or directory at the dataset directory, and remove
            one at an unversioned ``path`` (such as a dataset written before lhyrl versioned
            them), which would otherwise shadow the new one when loaded by that path.

    Returns:
        The dataset directory written, ``path`` or ``path`` with ``-v0`` appended.

    Raises:
        FileExistsError: If the dataset directory, or an unversioned ``path``, exists and
            ``overwrite`` is false.
        ValueError: If ``path`` ends in ``.npz`` (use :func:`save_npz`) or its name cannot be a
            Minari dataset id, or the episodes carry frames (kept in ``.npz`` files only).
    """
    given = Path(path).absolute()  # Minari mangles relative dataset roots
    if given.suffix == ".npz":
        raise ValueError(f"{given} ends in .npz; use save_npz to write an .npz file")
    if any(ep.frames is not None for ep in demos.episodes):
        raise ValueError(
            f"{given}: these demonstrations carry frames, which lhyrl keeps in .npz files only; "
            "save them to a path ending in .npz"
        )
    path = check_demonstrations_path(given, overwrite=overwrite)
    shadowing = given if given != path and (given.exists() or given.is_symlink()) else None
    path.parent.mkdir(parents=True, exist_ok=True)

    buffers = [
        EpisodeBuffer(
            observations=ep.obs,
            actions=ep.acts,
            rewards=np.asarray(ep.rewards),
            terminations=_last_step_flags(len(ep), ep.terminated),
            truncations=_last_step_flags(len(ep), ep.truncated),
        )
        for ep in demos.episodes
    ]
    dataset_id = path.name
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        with _minari_datasets_root(staging), warnings.catch_warnings():
            # Minari warns about every piece of metadata left out (permalink, email, ...).
            warnings.simplefilter("ignore", UserWarning)
            dataset = minari.create_dataset_from_buffers(
                dataset_id=dataset_id,
                buffer=buffers,
                env=None,  # a str or EnvSpec would make Minari build the env
                observation_space=demos.observation_space,
                action_space=demos.action_space,
                algorithm_name=algorithm_name,
                author=author,
                description="demonstrations written by lhyrl.data.save_demonstrations",
                data_format="hdf5",
                jpeg_encoding=False,  # keep image observations lossless
            )
        extra: dict[str, Any] = {}
        if demos.env_id is not None:
            extra["lhyrl_env_id"] = demos.env_id
            if _is_registered(demos.env_id):
                # A spec whose kwargs hold callables cannot be written as JSON; skip it then.
                with contextlib.suppress(TypeError, ValueError):
                    extra["env_spec"] = gym.spec(demos.env_id).to_json()
        if extra:
            dataset.storage.update_metadata(extra)
        _replace_path(staging / dataset_id, path)
        if shadowing is not None:
            _remove_path(shadowing)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _last_step_flags(n_steps: int, flag: bool) -> np.ndarray:
    flags = np.zeros(n_steps, dtype=bool)
    flags[-1] = flag
    return flags


def load_demonstrations(path: str | os.PathLike[str]) -> Demonstrations:
    """Read demonstrations from a Minari dataset directory or an ``.npz`` file.

    Args:
        path: A directory written by :func:`save_demonstrations` (or any Minari dataset with
            array spaces: the dataset's own directory or its ``data/`` folder), the path given
            to :func:`save_demonstrations` (``runs/demos/driving`` reads the only
            ``runs/demos/driving-v<N>``), or an ``.npz`` file (read by :func:`load_npz`).

    Returns:
        The demonstrations, with the spaces stored in the dataset.

    Raises:
        DatasetError: If a file is missing, unreadable, corrupted or malformed; the message
            names the file.
    """
    path = Path(path).absolute()
    if path.suffix == ".npz":
        from lhyrl.data.npz import load_npz  # npz builds on this module

        return load_npz(path)
    path = _resolve_dataset_dir(path)
    if not path.exists():
        raise DatasetError(f"{path} does not exist; {_MINARI_LAYOUT}")
    if not path.is_dir():
        raise DatasetError(f"{path} is neither an .npz file nor a directory; {_MINARI_LAYOUT}")
    data_dir = path / "data" if (path / "data").is_dir() else path
    metadata_file = data_dir / "metadata.json"
    if not metadata_file.is_file():
        raise DatasetError(f"{metadata_file} is missing; {_MINARI_LAYOUT}")
    try:
        metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{metadata_file} is not valid JSON ({err}); {_MINARI_LAYOUT}") from err
    if not isinstance(metadata, dict):
        raise DatasetError(f"{metadata_file} does not hold a JSON object; {_MINARI_LAYOUT}")
    _check_minari_metadata(metadata, metadata_file)
    data_format = metadata.get("data_format")
    main_file = data_dir / "main_data.hdf5"
    if data_format == "hdf5" and not main_file.is_file():
        raise DatasetError(f"{main_file} is missing; {_MINARI_LAYOUT}")
    try:
        dataset = minari.MinariDataset(data_dir)
    except Exception as err:  # Minari raises assorted errors (and asserts) on bad metadata
        raise DatasetError(
            f"{metadata_file} is not valid Minari metadata ({type(err).__name__}: {err}); "
            f"{_MINARI_LAYOUT}"
        ) from err
    data_file = main_file if data_format == "hdf5" else data_dir
    try:
        episodes = [_episode_from_minari(ep) for ep in dataset.iterate_episodes()]
    except DatasetError as err:
        raise DatasetError(f"{data_file}: {err}") from err
    except Exception as err:  # h5py raises OSError, KeyError, ... on truncated/corrupted files
        raise DatasetError(
            f"{data_file} is corrupted or unreadable ({type(err).__name__}: {err}); "
            f"{_MINARI_LAYOUT}"
        ) from err
    n_steps = sum(len(ep) for ep in episodes)
    if n_steps != metadata.get("total_steps", n_steps):
        raise DatasetError(
            f"{metadata_file} announces {metadata.get('total_episodes')} episodes of "
            f"{metadata.get('total_steps')} steps in all, but they hold {n_steps} steps; "
            "the metadata or the data is corrupted"
        )
    env_id = metadata.get("lhyrl_env_id")
    if env_id is None and dataset.spec.env_spec is not None:
        env_id = dataset.spec.env_spec.id
    try:
        return Demonstrations(
            episodes=episodes,
            observation_space=dataset.observation_space,
            action_space=dataset.action_space,
            env_id=env_id if isinstance(env_id, str) else None,
        )
    except DatasetError as err:
        raise DatasetError(f"{path}: {err}") from err


_METADATA_TYPES: dict[str, type | tuple[type, ...]] = {
    "dataset_id": str,
    "minari_version": str,
    "data_format": str,
    "total_episodes": int,
    "total_steps": int,
}


def _check_minari_metadata(metadata: dict[str, Any], metadata_file: Path) -> None:
    """Check the metadata keys Minari relies on, for clearer errors than Minari's asserts."""
    for key, kind in _METADATA_TYPES.items():
        if not isinstance(metadata.get(key), kind):
            raise DatasetError(
                f"{metadata_file} lacks a valid {key!r} (got {metadata.get(key)!r}); "
                f"{_MINARI_LAYOUT}"
            )
    for key in ("observation_space", "action_space"):
        if key not in metadata:
            continue  # Minari then rebuilds the space from the env spec
        try:
            deserialize_space(metadata[key])
        except Exception as err:  # Minari's deserializer raises assorted errors and asserts
            raise DatasetError(
                f"{metadata_file} holds no valid {key!r} ({type(err).__name__}: {err}); "
                f"{_MINARI_LAYOUT}"
            ) from err


def _episode_from_minari(ep: minari.EpisodeData) -> Episode:
    if not all(isinstance(x, np.ndarray) for x in (ep.observations, ep.actions)):
        raise DatasetError(
            f"episode {ep.id} holds dict/tuple observations or actions; lhyrl demonstrations "
            "need array spaces"
        )
    try:
        return Episode(
            obs=ep.observations,
            acts=ep.actions,
            rewards=np.asarray(ep.rewards, dtype=np.float32),
            terminated=bool(ep.terminations[-1]) if len(ep.terminations) else False,
            truncated=bool(ep.truncations[-1]) if len(ep.truncations) else False,
        )
    except ValueError as err:
        raise DatasetError(f"episode {ep.id} is malformed: {err}") from err


__all__ = [
    "DatasetError",
    "DatasetMismatchError",
    "Demonstrations",
    "load_demonstrations",
    "save_demonstrations",
    "spaces_equal",
]
