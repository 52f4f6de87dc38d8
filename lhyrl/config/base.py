"""The machinery of config sections: field docs, types, coercion, YAML files."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import os
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from lhyrl.files import atomic_write_text


class ConfigError(ValueError):
    """A configuration file or value is invalid."""


def check_at_least(section: Any, names: tuple[str, ...], low: int) -> None:
    """Refuse any of the section's fields ``names`` below ``low``."""
    for name in names:
        value = getattr(section, name)
        if value < low:
            raise ConfigError(f"{name} must be at least {low}, got {value}")


def field_docs(cls: type) -> dict[str, str]:
    """Each field's documentation: the string below it in the class body, on one line.

    Fields inherited from a dataclass base (e.g. the discriminator keys) keep its docs.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        tree = ast.parse(inspect.getsource(klass))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, nxt in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
            ):
                docs[node.target.id] = " ".join(str(nxt.value.value).split())
    return docs


def field_types(cls: type) -> dict[str, Any]:
    """Each field's type, with ``X | None`` reduced to ``X``."""
    hints = typing.get_type_hints(cls)
    result = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if isinstance(hint, types.UnionType):
            hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        result[f.name] = hint
    return result


def field_defaults(cls: type) -> dict[str, Any]:
    """Each field's default value."""
    return {
        f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        for f in dataclasses.fields(cls)
    }


def coerce(name: str, value: Any, hint: Any) -> Any:
    """``value`` as the field's type; a clear ConfigError naming the key if it cannot be."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    try:
        if origin is list:
            (item,) = typing.get_args(hint)
            if not isinstance(value, list | tuple):
                raise TypeError
            return [item(v) for v in value]
        if hint is bool or hint is str:
            if not isinstance(value, hint):
                raise TypeError
            return value
        if hint is int and isinstance(value, float) and not value.is_integer():
            raise TypeError
        if hint in (int, float) and isinstance(value, bool | str):
            raise TypeError
        return hint(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"config key {name!r} must be {getattr(hint, '__name__', hint)}, got {value!r}"
        ) from err


def build_section(cls: type, values: dict[str, Any]) -> Any:
    """An instance of the section ``cls`` from (already checked) keys of its own."""
    hints = field_types(cls)
    return cls(**{k: coerce(k, v, hints[k]) for k, v in values.items()})


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping of config values (keys are checked when the config is made)."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    return data


def write_yaml(path: Path, values: dict[str, Any]) -> None:
    """Write ``values`` to ``path`` as YAML, atomically (temp file, then rename)."""
    atomic_write_text(path, yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
