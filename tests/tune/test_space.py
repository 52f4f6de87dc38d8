"""Search spaces: the shipped ones are valid, malformed ones are refused naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lhyrl.config import ALGORITHMS, ConfigError, make_config
from lhyrl.tune.space import decode_choice, encode_choice, load_space, parse_space

ENV_OF_KIND = {
    "control": "lhyrl/Driving-v0",
    "tabular": "lhyrl/GridWorld-v0",
    "sequence": "lhyrl/SeqGen-v0",
    "dialogue": "lhyrl/Dialogue-v0",
}

BC = {
    "metric": "normalized_return",
    "params": {
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "batch_size": {"type": "categorical", "choices": [32, 64]},
    },
}


def space(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load(yaml.safe_dump(BC))
    for key, value in changes.items():
        if key.startswith("param_"):
            data["params"][key[len("param_") :]] = value
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("algo", "kind"), [(a, k) for a, kinds in ALGORITHMS.items() for k in kinds]
)
def test_every_algorithm_ships_a_valid_space_for_every_env_kind(algo: str, kind: str) -> None:
    loaded = load_space(algo, ENV_OF_KIND[kind])
    assert loaded.params and loaded.direction in ("maximize", "minimize")
    assert loaded.grid_size() >= 8  # the grid sampler has a real grid
    for param in loaded.params:  # each grid point is a value the algorithm accepts
        for point in param.grid_points():
            make_config({"algo": algo, "env": ENV_OF_KIND[kind], param.name: decode_choice(point)})


def test_the_issue_names_these_algorithms() -> None:
    for algo in ("bc", "dagger", "gail", "airl", "seqgan", "dialogue-rl"):
        assert load_space(algo, ENV_OF_KIND[next(iter(ALGORITHMS[algo]))]).source.endswith(
            "search.yaml"
        )


def test_mle_picks_the_chat_models_space_on_a_dialogue_env() -> None:
    assert load_space("mle", "lhyrl/Dialogue-v0").metric == "nll"
    assert "dropout" in load_space("mle", "lhyrl/Dialogue-v0").names
    assert load_space("mle", "lhyrl/SeqGen-v0").metric == "nll_test"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (space(param_learning_rat={"type": "float", "low": 0.1, "high": 1}), "learning_rat"),
        (space(param_rounds={"type": "int", "low": 1, "high": 4}), "'rounds'.*dagger"),
        (space(param_epochs={"type": "int", "low": 10, "high": 5}), "'epochs'.*low must be below"),
        (
            space(param_epochs={"type": "int", "low": 1.5, "high": 5}),
            "'epochs'.*low must be an int",
        ),
        (
            space(param_learning_rate={"type": "float", "low": 0, "high": 1, "log": True}),
            "'learning_rate'.*log range needs low > 0",
        ),
        (space(param_batch_size={"type": "categorical", "choices": []}), "'batch_size'.*non-empty"),
        (
            space(param_batch_size={"type": "categorical", "choices": [0, 64]}),
            "'batch_size'.*least 1",
        ),
        (
            space(param_batch_size={"type": "integer", "low": 1, "high": 2}),
            "'batch_size'.*type must",
        ),
        (space(param_batch_size={"type": "int", "low": 1, "high": 9, "lo": 1}), "unknown field"),
        (
            space(param_epochs={"type": "int", "low": 1, "high": 9, "grid": [1, 12]}),
            r"'epochs'.*grid points must be ints in \[1, 9\]",
        ),
        (space(param_seed={"type": "int", "low": 1, "high": 9}), "'seed' cannot be searched"),
        (space(param_epochs=[1, 2]), "'epochs' must be a mapping"),
        (space(direction="up"), "direction must be maximize or minimize"),
        (space(metric=None), "metric must name"),
        (space(params={}), "params must map"),
        (space(fixed={"epochz": 3}), "fixed: .*epochz"),
        (space(fixed={"batch_size": 3}), "both searched and fixed"),
        (space(sampler="tpe"), "unknown top-level key"),
    ],
)
def test_a_malformed_space_is_refused_naming_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_space(data, algo="bc", env="lhyrl/Driving-v0", source="mine.yaml")


def test_the_grid_sampler_needs_grid_points() -> None:
    loaded = parse_space(space(), algo="bc", env="lhyrl/Driving-v0", source="mine.yaml")
    with pytest.raises(ConfigError, match="give learning_rate a grid: list"):
        loaded.grid()
    data = space()
    data["params"]["learning_rate"]["grid"] = [1e-3, 1e-2]
    loaded = parse_space(data, algo="bc", env="lhyrl/Driving-v0", source="mine.yaml")
    assert loaded.grid() == {"learning_rate": [1e-3, 1e-2], "batch_size": [32, 64]}
    assert loaded.grid_size() == 4


def test_a_users_file_is_read_and_list_choices_round_trip(tmp_path: Path) -> None:
    data = space(param_net_arch={"type": "categorical", "choices": [[16], [32, 32]]})
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    loaded = load_space("bc", "CartPole-v1", path)
    assert loaded.source == str(path) and loaded.names[-1] == "net_arch"
    assert [decode_choice(encode_choice(c)) for c in loaded.params[-1].choices] == [[16], [32, 32]]
    with pytest.raises(FileNotFoundError, match="no search space file"):
        load_space("bc", "CartPole-v1", tmp_path / "missing.yaml")


def test_the_fingerprint_follows_the_params() -> None:
    a = parse_space(space(), algo="bc", env="lhyrl/Driving-v0", source="a")
    b = parse_space(space(direction="minimize"), algo="bc", env="lhyrl/Driving-v0", source="b")
    assert (
        a.fingerprint()
        == parse_space(space(), algo="bc", env="CartPole-v1", source="c").fingerprint()
    )
    assert a.fingerprint() != b.fingerprint()
