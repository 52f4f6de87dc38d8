"""Helpers shared by the run-layer tests (imported by the test files; a unique module name).

``killed_after_first_checkpoint`` starts ``lhyrl train`` in a subprocess and SIGKILLs it once
its first checkpoint is on disk, as a crash or an out-of-memory kill would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def lhyrl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``lhyrl *args`` in a subprocess from the repo root; with ``check`` it must pass."""
    out = subprocess.run(
        [sys.executable, "-m", "lhyrl.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"{args} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def only_run(runs: Path) -> Path:
    """The one run directory inside ``runs``."""
    (run_dir,) = list(runs.iterdir())
    return run_dir


def killed_after_first_checkpoint(
    args: list[str], runs: Path, env: dict[str, str] | None = None
) -> Path:
    """Start ``lhyrl train *args``, SIGKILL it once its first checkpoint exists; the run folder."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lhyrl.cli", "train", *args, "--runs-dir", str(runs)],
        cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while not list(runs.glob("*/checkpoints/checkpoint.pt")):
            assert proc.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    run_dir = only_run(runs)
    assert not (run_dir / "eval.json").exists(), "killed too late: the run had finished"
    return run_dir
