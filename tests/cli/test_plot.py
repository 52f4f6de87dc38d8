"""``lhyrl plot``: learning curves of finished runs, by algorithm, with a band over seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lhyrl.cli import main as lhyrl
from lhyrl.config import make_config
from lhyrl.runs import train_run
from lhyrl.runs.plot import plot_runs, read_curve

torch.set_num_threads(1)

TINY = {
    "env": "lhyrl/SeqGen-v0",
    "oracle": "random",
    "vocab_size": 30,
    "max_length": 8,
    "train_size": 256,
    "test_size": 64,
    "eval_episodes": 128,
    "batch_size": 32,
    "embedding_dim": 16,
    "hidden_dim": 16,
    "epochs": 3,
    "eval_every": 1,
}
"""A small random oracle (as tests/runs/test_sequence_runs.py): a run takes a second or two."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two seeds each of MLE and scheduled sampling, finished."""
    root = tmp_path_factory.mktemp("runs")
    extra = {"mle": {"decay_epochs": 1}, "scheduled-sampling": {"sampling_ramp_epochs": 1}}
    return [
        train_run(
            make_config({**TINY, **extra[algo], "algo": algo, "seed": seed, "runs_dir": str(root)})
        )
        for algo in ("mle", "scheduled-sampling")
        for seed in (0, 1)
    ]


def test_lhyrl_plot_writes_a_png_with_a_legend_naming_both_algorithms(
    runs: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "curves.png"
    assert lhyrl(["plot", *map(str, runs), "--metric", "eval/nll_oracle", "--out", str(out)]) == 0
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (768, 552)  # 6.4 x 4.6 in at 120 dpi
    figure = plot_runs(runs, metric="eval/nll_oracle")
    (ax,) = figure.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["mle (2 seeds)", "scheduled-sampling (2 seeds)"]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "eval/nll_oracle"
    assert ax.get_title() == "lhyrl/SeqGen-v0" and len(ax.collections) == 2  # one band each


def test_the_line_is_the_mean_over_seeds_and_the_band_contains_it(runs: list[Path]) -> None:
    mle = [read_curve(r, "eval/nll_oracle") for r in runs[:2]]
    assert mle[0].x.tolist() == [1.0, 2.0, 3.0] and mle[0].algo == "mle"
    assert not np.allclose(mle[0].y, mle[1].y)  # two seeds, two curves
    figure = plot_runs(runs[:2], metric="eval/nll_oracle", band="std")
    (line,) = figure.axes[0].lines
    assert line.get_ydata() == pytest.approx((mle[0].y + mle[1].y) / 2)
    (band,) = figure.axes[0].collections
    low, high = band.get_paths()[0].vertices[:, 1].min(), band.get_paths()[0].vertices[:, 1].max()
    spread = np.abs(mle[0].y - mle[1].y) / 2  # the std of two values
    assert low == pytest.approx(min((mle[0].y + mle[1].y) / 2 - spread))
    assert high == pytest.approx(max((mle[0].y + mle[1].y) / 2 + spread))


def test_plot_against_a_progress_csv_column_as_svg(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "nll.svg"
    args = ["plot", *map(str, runs[:2]), "--metric", "train/nll", "--x", "train/epoch"]
    assert lhyrl([*args, "--out", str(out)]) == 0
    assert out.read_text().lstrip().startswith("<?xml")


def test_plot_names_a_missing_metric_and_a_bad_output(
    runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lhyrl(["plot", str(runs[0]), "--metric", "eval/return"]) == 2
    err = capsys.readouterr().err
    assert "no scalar 'eval/return'" in err and "eval/nll_oracle" in err
    assert lhyrl(["plot", str(runs[0]), "--metric", "eval/nll_oracle", "--out", "x.jpg"]) == 2
    assert ".png or .svg" in capsys.readouterr().err
    assert lhyrl(["plot", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
