"""Helpers shared by the tune tests (a unique module name: test folders share sys.path).

CartPole demonstrations from a linear controller, a small BC search space and fixed keys that
make each BC run take a fraction of a second, and ``lhyrl`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

from lhyrl.data import Demonstrations, collect_episodes, save_npz

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "MPLBACKEND": "Agg", "TQDM_DISABLE": "1", "PYTHONPATH": str(ROOT)}
TINY = {"net_arch": [16], "eval_episodes": 3, "checkpoint_every": 100, "epochs": 4}
"""Fixed keys of a BC run on CartPole that trains in well under a second."""
TINY_FLAGS = ["--net-arch", "16", "--eval-episodes", "3", "--checkpoint-every", "100"]
TINY_FLAGS += ["--epochs", "4"]


def balance(obs: np.ndarray) -> np.ndarray:
    """A linear CartPole controller: push toward the side the pole falls to. (B, 4) -> (B,)."""
    position, velocity, angle, angular_velocity = np.asarray(obs).T
    score = angle + 0.5 * angular_velocity + 0.01 * position + 0.1 * velocity
    return (score > 0).astype(np.int64)


def cartpole_demos(path: Path) -> Path:
    """Four demonstrations of :func:`balance` on CartPole-v1, saved at ``path`` (.npz)."""
    env = gym.make("CartPole-v1")
    episodes = collect_episodes(env, balance, n_episodes=4, seed=0, progress=False)
    demos = Demonstrations(episodes, env.observation_space, env.action_space, env_id="CartPole-v1")
    return save_npz(path, demos)


def write_space(path: Path, params: dict[str, Any], **top: Any) -> Path:
    """A search space file for BC on CartPole."""
    data = {"metric": "normalized_return", "direction": "maximize", "params": params, **top}
    path.write_text(yaml.safe_dump(data))
    return path


LR_BATCH = {
    "learning_rate": {
        "type": "float",
        "low": 1e-3,
        "high": 3e-2,
        "log": True,
        "grid": [3e-3, 3e-2],
    },
    "batch_size": {"type": "categorical", "choices": [32, 64]},
}


def lhyrl(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``lhyrl *args`` in a subprocess from the repository root."""
    out = subprocess.run(
        [sys.executable, "-m", "lhyrl.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=timeout,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"{args} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def eval_metric(run_dir: Path, metric: str = "normalized_return") -> float:
    """A run's final value of ``metric`` from its eval.json."""
    return float(json.loads((run_dir / "eval.json").read_text())["metrics"][metric])
