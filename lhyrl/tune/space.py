"""Search spaces: which config keys a study samples, over which ranges, and what it scores.

A search space is a YAML file::

    metric: normalized_return      # an eval/* scalar of the algorithm's runs
    direction: maximize            # or minimize
    params:                        # config keys to sample (flat, as in a --config file)
      learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true,
                      grid: [1.0e-4, 1.0e-3, 1.0e-2]}
      epochs: {type: int, low: 10, high: 60, grid: [10, 30, 60]}
      batch_size: {type: categorical, choices: [32, 64, 256]}
      net_arch: {type: categorical, choices: [[64, 64], [256, 256]]}
    fixed:                         # config keys every trial sets (flags override them)
      eval_episodes: 20

Each algorithm ships one beside its presets (``lhyrl/presets/<algo>/search.yaml``; mle's chat
model ``search-dialogue.yaml``); ``--space
FILE`` reads a user's own. Every value a parameter can take (its bounds, grid points and
choices) is checked by building the algorithm's config with it, so an unknown key, a key the
algorithm does not read or a value it refuses is an error naming the key. The grid sampler
takes its points from ``grid:`` lists and categorical choices.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from importlib import resources
from typing import Any

from lhyrl.config import ALGORITHMS, ConfigError, env_kind, make_config, read_yaml

DIRECTIONS = ("maximize", "minimize")
TYPES = ("float", "int", "categorical")
NOT_SEARCHABLE = ("algo", "env", "seed", "runs_dir", "preset")
"""Keys a study sets itself (seed: per run) or that name the run rather than tune it."""
_PARAM_FIELDS = {
    "float": {"type", "low", "high", "log", "step", "grid"},
    "int": {"type", "low", "high", "log", "step", "grid"},
    "categorical": {"type", "choices"},
}
SPACE_FILE = "search.yaml"


@dataclass(frozen=True, kw_only=True)
class Param:
    """One sampled config key: its type and range (or choices), and its grid points."""

    name: str
    type: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()
    grid: tuple[Any, ...] = ()
    """Points of the grid sampler (categorical: every choice)."""

    def suggest(self, trial: Any) -> Any:
        """Sample the value of this key for an Optuna trial (a config value)."""
        if self.type == "float":
            return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)
        if self.type == "int":
            return trial.suggest_int(
                self.name, self.low, self.high, log=self.log, step=self.step or 1
            )
        labels = [encode_choice(c) for c in self.choices]
        return decode_choice(trial.suggest_categorical(self.name, labels))

    def grid_points(self) -> list[Any]:
        """The grid sampler's points for this key, as Optuna stores them."""
        if self.type == "categorical":
            return [encode_choice(c) for c in self.choices]
        return list(self.grid)

    def values(self) -> list[Any]:
        """Every value to check: bounds, grid points, choices."""
        if self.type == "categorical":
            return list(self.choices)
        return [self.low, self.high, *self.grid]


@dataclass(frozen=True, kw_only=True)
class SearchSpace:
    """A study's metric, its direction, the keys it samples and the keys it fixes."""

    metric: str
    direction: str
    params: tuple[Param, ...]
    fixed: dict[str, Any]
    source: str
    """Where the space came from (a file path or the shipped resource)."""

    @property
    def names(self) -> list[str]:
        """The sampled keys, in file order."""
        return [p.name for p in self.params]

    def suggest(self, trial: Any) -> dict[str, Any]:
        """The config values of one trial, sampled key by key."""
        return {p.name: p.suggest(trial) for p in self.params}

    def grid(self) -> dict[str, list[Any]]:
        """The grid sampler's search space.

        Raises:
            ConfigError: If a float or int key has no ``grid:`` list.
        """
        missing = [p.name for p in self.params if p.type != "categorical" and not p.grid]
        if missing:
            raise ConfigError(
                f"the grid sampler takes its points from the search space ({self.source}): "
                f"give {', '.join(missing)} a grid: list of values"
            )
        return {p.name: p.grid_points() for p in self.params}

    def grid_size(self) -> int:
        """How many points the grid has."""
        return math.prod(len(points) for points in self.grid().values())

    def fingerprint(self) -> str:
        """A short hash of the metric, direction and params (a resumed study must match it)."""
        data = {
            "metric": self.metric,
            "direction": self.direction,
            "params": [vars(p) for p in self.params],
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[
            :16
        ]


def encode_choice(value: Any) -> Any:
    """A categorical choice as Optuna can store it: lists become their JSON text."""
    return json.dumps(value) if isinstance(value, list | tuple) else value


def decode_choice(value: Any) -> Any:
    """The config value of a stored categorical choice (JSON text of a list back to a list)."""
    if isinstance(value, str) and value.startswith("["):
        return json.loads(value)
    return value


def shipped_space(algo: str, kind: str | None = None) -> Any:
    """The search space shipped for ``algo`` (a resource of ``lhyrl.presets``), or None.

    ``<algo>/search-<kind>.yaml`` serves envs of that kind (mle's chat model on a dialogue
    env), ``<algo>/search.yaml`` the others.
    """
    folder = resources.files("lhyrl.presets").joinpath(algo)
    for name in ([f"search-{kind}.yaml"] if kind else []) + [SPACE_FILE]:
        path = folder.joinpath(name)
        if path.is_file():
            return path
    return None


def load_space(algo: str, env: str, path: str | os.PathLike[str] | None = None) -> SearchSpace:
    """Read and check a search space: ``path``, or the one shipped for ``algo``.

    Raises:
        ConfigError: If no space is shipped for ``algo`` and no ``path`` is given, or the file
            is malformed: the message names the key and what is expected.
        FileNotFoundError: If ``path`` does not exist.
    """
    if path is None:
        shipped = shipped_space(algo, env_kind(env)) if algo in ALGORITHMS else None
        if shipped is None:
            having = sorted(a for a in ALGORITHMS if shipped_space(a) is not None)
            raise ConfigError(
                f"no search space is shipped for {algo} (only for {', '.join(having)}): "
                "pass your own with --space FILE"
            )
        with resources.as_file(shipped) as file:
            data = read_yaml(file)
        source = f"lhyrl/presets/{algo}/{shipped.name}"
    else:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no search space file at {path}")
        data = read_yaml(path)
        source = str(path)
    return parse_space(data, algo=algo, env=env, source=source)


def parse_space(data: dict[str, Any], *, algo: str, env: str, source: str) -> SearchSpace:
    """Check a search space's mapping against ``algo`` on ``env``.

    Raises:
        ConfigError: Naming the key that is wrong and what is expected.
    """
    unknown = sorted(set(data) - {"metric", "direction", "params", "fixed"})
    if unknown:
        raise ConfigError(
            f"search space {source}: unknown top-level key(s) {unknown}; expected metric, "
            "direction, params and fixed"
        )
    metric = data.get("metric")
    if not isinstance(metric, str) or not metric:
        raise ConfigError(
            f"search space {source}: metric must name an eval scalar (e.g. normalized_return)"
        )
    direction = data.get("direction", "maximize")
    if direction not in DIRECTIONS:
        raise ConfigError(
            f"search space {source}: direction must be maximize or minimize, got {direction!r}"
        )
    fixed = data.get("fixed") or {}
    if not isinstance(fixed, dict):
        raise ConfigError(f"search space {source}: fixed must be a mapping of config keys")
    params_data = data.get("params")
    if not isinstance(params_data, dict) or not params_data:
        raise ConfigError(
            f"search space {source}: params must map at least one config key to its range"
        )
    params = tuple(_param(name, spec, source) for name, spec in params_data.items())
    _check_against_config(params, fixed, algo=algo, env=env, source=source)
    return SearchSpace(
        metric=metric, direction=direction, params=params, fixed=dict(fixed), source=source
    )


def _param(name: str, spec: Any, source: str) -> Param:
    where = f"search space {source}: param {name!r}"
    if name in NOT_SEARCHABLE:
        raise ConfigError(
            f"{where} cannot be searched (the study sets {', '.join(NOT_SEARCHABLE)})"
        )
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a mapping such as {{type: float, low: 0.1, high: 1}}")
    kind = spec.get("type")
    if kind not in TYPES:
        raise ConfigError(f"{where}: type must be one of {', '.join(TYPES)}, got {kind!r}")
    extra = sorted(set(spec) - _PARAM_FIELDS[kind])
    if extra:
        raise ConfigError(
            f"{where}: unknown field(s) {extra} for type {kind}; expected "
            f"{sorted(_PARAM_FIELDS[kind])}"
        )
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: choices must be a non-empty list")
        labels = [encode_choice(c) for c in choices]
        if len(set(map(json.dumps, labels))) != len(labels):
            raise ConfigError(f"{where}: choices must differ, got {choices}")
        for choice in choices:
            if isinstance(choice, dict) or (
                isinstance(choice, list) and any(isinstance(v, dict | list) for v in choice)
            ):
                raise ConfigError(f"{where}: choices must be numbers, strings or flat lists")
        return Param(name=name, type=kind, choices=tuple(choices))
    number = int if kind == "int" else (int, float)
    low: Any = spec.get("low")
    high: Any = spec.get("high")
    for key, value in (("low", low), ("high", high)):
        if not isinstance(value, number) or isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be {'an int' if kind == 'int' else 'a number'}")
    if not low < high:
        raise ConfigError(f"{where}: low must be below high, got low={low}, high={high}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log must be true or false")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0, got low={low}")
    step = spec.get("step")
    if step is not None:
        if not isinstance(step, number) or isinstance(step, bool) or step <= 0:
            raise ConfigError(f"{where}: step must be a positive {kind}")
        if log and kind == "float":
            raise ConfigError(f"{where}: a float range takes log or step, not both")
    grid = spec.get("grid", [])
    if not isinstance(grid, list):
        raise ConfigError(f"{where}: grid must be a list of values")
    for point in grid:
        if not isinstance(point, number) or isinstance(point, bool) or not low <= point <= high:
            raise ConfigError(
                f"{where}: grid points must be {kind}s in [{low}, {high}], got {point!r}"
            )
    if len(set(grid)) != len(grid):
        raise ConfigError(f"{where}: grid points must differ, got {grid}")
    return Param(
        name=name,
        type=kind,
        low=low,
        high=high,
        log=log,
        step=step,
        grid=tuple(float(g) if kind == "float" else g for g in grid),
    )


def _check_against_config(
    params: tuple[Param, ...], fixed: dict[str, Any], *, algo: str, env: str, source: str
) -> None:
    """Build the algorithm's config with every value each key can take; errors name the key."""
    base = {"algo": algo, "env": env}
    searched = {p.name for p in params}
    both = sorted(searched & set(fixed))
    if both:
        raise ConfigError(f"search space {source}: {both} are both searched and fixed")
    try:
        make_config({**base, **fixed})
    except ConfigError as err:
        raise ConfigError(f"search space {source}: fixed: {err}") from err
    for param in params:
        for value in param.values():
            try:
                make_config({**base, **fixed, param.name: value})
            except ConfigError as err:
                raise ConfigError(f"search space {source}: param {param.name!r}: {err}") from err
