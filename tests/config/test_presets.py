"""Every shipped preset is a valid config of its algorithm and env, and is what make_config uses."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from lhyrl.config import make_config, preset_file


def _presets() -> list[tuple[str, str]]:
    root = resources.files("lhyrl.presets")
    found = []
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name.startswith("_"):
            continue
        for file in folder.iterdir():
            if file.name.endswith(".yaml") and not file.name.startswith("search"):
                stem = file.name.removesuffix(".yaml")
                env = "lhyrl/" + stem.removeprefix("lhyrl-") if stem.startswith("lhyrl-") else stem
                found.append((folder.name, env))
    return sorted(found)


@pytest.mark.parametrize(("algo", "env"), _presets())
def test_a_shipped_preset_sets_its_keys(algo: str, env: str) -> None:
    preset = yaml.safe_load(preset_file(algo, env).read_text(encoding="utf-8"))
    config = make_config({"algo": algo, "env": env}).to_dict()
    for key, value in preset.items():
        assert config[key] == value, f"{algo}/{env}: {key}"


def test_the_presets_are_found() -> None:
    assert ("gail", "Pendulum-v1") in _presets() and ("seqgan", "lhyrl/SeqGen-v0") in _presets()
