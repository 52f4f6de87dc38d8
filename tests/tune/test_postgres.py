"""Many workers on one PostgreSQL study: every trial recorded once; a killed worker's retried.

The workers are ``lhyrl tune`` processes, each with its own study folder (as on separate
machines), sharing the study through a real PostgreSQL server (conftest.py starts it).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from tune_helpers import ENV, LR_BATCH, ROOT, TINY_FLAGS, cartpole_demos, write_space

from lhyrl.tune.study import quiet_optuna

COMPLETE, FAIL = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cartpole_demos(tmp_path_factory.mktemp("demos") / "cartpole.npz")


def worker(url: str, name: str, folder: Path, demos: Path, *extra: str) -> subprocess.Popen[str]:
    """A ``lhyrl tune`` worker on the study ``name`` at ``url``."""
    space = write_space(folder.parent / f"{folder.name}.yaml", LR_BATCH)
    args = ["tune", "--algo", "bc", "--env", "CartPole-v1", "--demos", str(demos), *TINY_FLAGS]
    args += ["--space", str(space), "--sampler", "random", "--pruner", "none", "--seeds", "1"]
    args += ["--storage", url, "--study-name", name, "--study-dir", str(folder), *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "lhyrl.cli", *args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(proc: subprocess.Popen[str], timeout: float = 240) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    with quiet_optuna():
        return optuna.load_study(study_name=name, storage=url).trials


def trial_folders(*folders: Path) -> list[str]:
    """The trial folders the workers made, across their study folders."""
    return sorted(
        d.name for f in folders if (f / "trials").is_dir() for d in (f / "trials").iterdir()
    )


def test_two_workers_share_a_study_and_record_every_trial_once(
    postgres_url: str, demos: Path, tmp_path: Path
) -> None:
    folders = [tmp_path / "machine-a", tmp_path / "machine-b"]
    procs = [
        worker(
            postgres_url,
            "shared",
            folder,
            demos,
            "--n-trials",
            "6",
            "--epochs",
            "8",
            "--no-reevaluate",
        )
        for folder in folders
    ]
    outputs = [finished(p) for p in procs]
    recorded = trials(postgres_url, "shared")
    assert [t.state for t in recorded] == [COMPLETE] * 6  # the total asked for, no surplus
    assert [t.number for t in recorded] == list(range(6))
    # Each trial was trained once, by one worker: its folder is on exactly one machine.
    assert trial_folders(*folders) == [f"{n:04d}" for n in range(6)]
    assert all(trial_folders(folder) for folder in folders), "one worker ran no trial"
    for trial in recorded:
        (run,) = trial.user_attrs["run_dirs"]
        assert sum((folder / run / "eval.json").is_file() for folder in folders) == 1
    assert all("study shared (postgresql://lhyrl@" in out for out in outputs)


def test_a_killed_workers_trial_is_failed_and_retried_by_another(
    postgres_url: str, demos: Path, tmp_path: Path
) -> None:
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    slow = ["--epochs", "20", "--checkpoint-every", "1", "--heartbeat", "1", "--n-trials", "3"]
    killed = worker(postgres_url, "killed", a, demos, *slow, "--no-reevaluate")
    deadline = time.monotonic() + 120
    try:  # SIGKILL mid-trial: once trial 1's run has its first checkpoint
        while not list(a.glob("trials/0001/*/checkpoints/checkpoint.pt")):
            assert killed.poll() is None, killed.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "trial 1 wrote no checkpoint within 120 s"
            time.sleep(0.005)
        os.kill(killed.pid, signal.SIGKILL)
    finally:
        killed.wait()
    (run,) = a.glob("trials/0001/*")
    assert not (run / "eval.json").exists(), "killed too late: the trial had finished"
    # Another worker resumes the study by name; the dead trial goes stale after two missed
    # heartbeats, is marked FAIL, and its parameters are queued again and trained.
    out = finished(worker(postgres_url, "killed", b, demos, *slow, "--no-reevaluate"))
    recorded = trials(postgres_url, "killed")
    states = {t.number: t.state for t in recorded}
    assert states[1] == FAIL and sum(s == COMPLETE for s in states.values()) == 3
    assert [s for s in states.values() if s not in (COMPLETE, FAIL)] == []
    (retry,) = [
        t
        for t in recorded
        if optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == 1
    ]
    assert retry.state == COMPLETE and retry.params == recorded[1].params
    assert (b / "best.yaml").is_file() and "3 complete, 1 fail" in out
    assert list(itertools.chain(b.glob(f"trials/{retry.number:04d}/*/eval.json")))
