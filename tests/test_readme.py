"""Every code block of the README runs as written, with tiny budgets, so the README cannot drift.

The blocks run in order in one temporary folder: bash blocks in bash (``lhyrl`` and
``python`` are this interpreter's), Python blocks in one shared namespace. Only budgets are
changed, by the substitutions in :data:`TINY`; ``make`` lines (the main job and the test suite
themselves, each tested elsewhere), TensorBoard, optuna-dashboard and the interactive chat are
left out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

TINY: list[tuple[str, str]] = [
    (r"--episodes \d+", "--episodes 4"),
    (r"--epochs \d+", "--epochs 2"),
    (r"--rounds \d+", "--rounds 1"),
    (r"--iterations \d+", "--iterations 2"),
    (r"--total-timesteps \d+", "--total-timesteps 256"),
    (r"--eval-every \d+", "--eval-every 1"),
    (r"--samples-every \d+", "--samples-every 1"),
    (r"n_episodes=50", "n_episodes=2"),
    (r"n_envs=8", "n_envs=2"),
    (r"\.learn\(40,", ".learn(1,"),
    (r"bc_epochs=30", "bc_epochs=1"),
    (r"\.learn\(300_000", ".learn(256"),
    (r"\.learn\(100_000\)", ".learn(64)"),
    (r"num_envs=50", "num_envs=2"),
    (r"--n-trials \d+", "--n-trials 2"),
    # the PostgreSQL example runs on SQLite here (tests/tune runs workers on a real server)
    (r"--storage postgresql://\S+", "--storage sqlite:///tune-standin.db"),
]
"""Budget substitutions (regex, replacement), applied to every block in turn."""

TRAIN_EXTRA: list[tuple[str, str]] = [
    (r"--env lhyrl/SeqGen-v0", "--epochs 2 --train-size 256 --test-size 128 --eval-episodes 64"),
    (r"--algo seqgan --env lhyrl/SeqGen", "--pretrain-discriminator-samples 256 --n-rollouts 2"),
    (r"--env lhyrl/TextGen-v0", "--epochs 2 --eval-episodes 64"),
    (
        r"--algo seqgan --env lhyrl/TextGen",
        "--pretrain-generator-epochs 1 --n-rollouts 2 --pretrain-discriminator-rounds 1 "
        "--discriminator-samples 128",
    ),
    (r"--env lhyrl/Dialogue-v0", "--max-pairs 16 --eval-episodes 4 --eval-envs 4"),
    (r"--algo regs --env lhyrl/Dialogue", "--pretrain-discriminator-steps 2"),
    (r"--env (?!lhyrl/(SeqGen|TextGen|Dialogue))", "--eval-episodes 2 --checkpoint-every 100"),
    (r"--algo (gail|airl)", "--total-timesteps 256 --epochs 2"),
]
"""Flags appended to a ``lhyrl train`` line that matches (the last value of a flag wins)."""

TUNE_EXTRA = (
    "--seeds 1 --pruner none --demo-episodes 2 --eval-episodes 2 --checkpoint-every 100 "
    "--space tiny-space.yaml --no-reevaluate"
)
"""Flags appended to a ``lhyrl tune`` line: one seed a trial, BC on 2 demonstrations, and a
space of BC's keys with 1-2 epochs (the shipped spaces are checked in tests/tune)."""
TINY_SPACE = """metric: normalized_return
params:
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
  epochs: {type: int, low: 1, high: 2}
"""

LEFT_OUT = (
    "make ",
    ".venv/bin/tensorboard",
    "lhyrl chat",
    "python scripts/chat.py",
    "optuna-dashboard",
)


def blocks() -> list[tuple[str, str]]:
    """The README's fenced blocks: (language, code), in order."""
    return re.findall(r"```(\w*)\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def tiny(code: str) -> str:
    """``code`` with tiny budgets."""
    for pattern, replacement in TINY:
        code = re.sub(pattern, replacement, code)
    lines = []
    for line in code.splitlines():
        if line.startswith("lhyrl train --algo") and "--show-config" not in line:
            line = line.split("  #")[0]
            line += "".join(
                f" {extra}" for pattern, extra in TRAIN_EXTRA if re.search(pattern, line)
            )
        if line.startswith("lhyrl tune "):
            line = line.split("  #")[0] + " " + TUNE_EXTRA
        lines.append(line)
    return "\n".join(lines)


def test_the_readme_has_code_blocks() -> None:
    languages = [language for language, _ in blocks()]
    assert languages.count("bash") >= 5 and languages.count("python") >= 3


@pytest.mark.slow
def test_every_readme_code_block_runs(tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}
    prelude = (
        f'lhyrl() {{ "{sys.executable}" -m lhyrl.cli "$@"; }}\n'
        f'python() {{ "{sys.executable}" "$@"; }}\n'
        f"ln -sfn {ROOT / 'scripts'} scripts\n"
        "set -euo pipefail\n"
    )
    namespace: dict[str, object] = {"__name__": "readme"}
    (tmp_path / "tiny-space.yaml").write_text(TINY_SPACE)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for number, (language, code) in enumerate(blocks()):
            code = tiny(code)
            if language == "bash":
                lines = [
                    line
                    for line in code.splitlines()
                    if not line.strip().startswith(LEFT_OUT) and not line.startswith("#")
                ]
                script = prelude + "\n".join(lines)
                out = subprocess.run(
                    ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
                )
                assert out.returncode == 0, f"bash block {number}:\n{script}\n{out.stderr[-3000:]}"
            elif language == "python":
                exec(compile(code, f"README block {number}", "exec"), namespace)
    finally:
        os.chdir(cwd)
