"""Run directories: unique even for runs of one config started in the same second."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lhyrl.config import make_config
from lhyrl.runs import common


def test_runs_started_in_the_same_second_get_their_own_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.time, "strftime", lambda fmt: "20261204-120000")
    config = make_config({"algo": "bc", "env": "CartPole-v1", "runs_dir": str(tmp_path / "r")})
    with ThreadPoolExecutor(8) as pool:  # concurrent, as parallel benchmark workers are
        made = list(pool.map(lambda _: common.new_run_dir(config), range(8)))
    assert len(set(made)) == 8 and all(p.is_dir() for p in made)
    first = tmp_path / "r" / "CartPole-v1__bc__0__20261204-120000"
    assert first in made and first.with_name(first.name + "-8") in made
