"""Torch threads against speed: BC, GAIL and SeqGAN steps per second at 1 and 2 threads.

    python benchmarks/threads.py                 # about 6 minutes
    python benchmarks/threads.py --seconds 5     # a quicker, noisier table

Why lhyrl's commands default to ``--threads 1``. Each cell is measured in a fresh worker
process (``--worker``) that sets its torch threads, warms up, then counts steps for
``--seconds``. The two thread counts alternate, ``--rounds`` times, so a change in the
machine's background load hits both alike. The same cells run again while a busy-loop process
(pure Python, one core) competes for the CPU, as on a laptop or a shared CI runner.

Models, at the sizes the benchmarks train:

- BC: gradient steps of the 256-256 MLP policy on lhyrl/Driving-v0 demonstrations (batch 256);
- GAIL: env steps of ``GAIL.learn`` on lhyrl/Driving-v0 (8 envs, the class defaults: PPO with
  256-256 networks, discriminator updates included);
- SeqGAN: the LSTM generator of the oracle task (embedding and state 32, 5,000 tokens):
  maximum-likelihood steps on batches of 64 x 20 tokens (the pretraining, the bulk of the
  row), and Monte Carlo rollouts of the adversarial phase (64 sequences x 16 rollouts per
  step).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import RESULTS, write_table

MODELS = ("bc", "gail", "seqgan-mle", "seqgan-rollouts")
UNITS = {
    "bc": "gradient steps",
    "gail": "env steps",
    "seqgan-mle": "MLE steps",
    "seqgan-rollouts": "rollout steps",
}


def measure(model: str, seconds: float) -> float:
    """Steps per second of one model in this process (its threads already set)."""
    import gymnasium as gym
    import torch

    import lhyrl  # noqa: F401  (registers the ids)

    if model in ("bc", "gail"):
        from lhyrl.agents import BC, GAIL
        from lhyrl.data import Demonstrations, collect_episodes
        from lhyrl.experts import DrivingExpert

        env = gym.make_vec("lhyrl/Driving-v0", num_envs=8)
        episodes = collect_episodes(env, DrivingExpert(env), n_episodes=4, seed=0, progress=False)
        demos = Demonstrations(
            episodes=episodes,
            observation_space=env.single_observation_space,
            action_space=env.single_action_space,
        )
        if model == "bc":
            bc = BC(
                observation_space=demos.observation_space,
                action_space=demos.action_space,
                demonstrations=demos,
                seed=0,
                batch_size=256,
            )
            batches = max(1, demos.n_steps // 256)
            bc.learn(1)  # warm-up; learn(total) trains on to ``total`` epochs of the run
            start, epochs = time.perf_counter(), 0
            while time.perf_counter() - start < seconds:
                epochs += 1
                bc.learn(1 + epochs)
            return epochs * batches / (time.perf_counter() - start)
        from stable_baselines3.common.env_util import make_vec_env

        gail = GAIL(demonstrations=demos, venv=make_vec_env("lhyrl/Driving-v0", n_envs=8, seed=0))
        chunk = 8 * 256  # one PPO rollout of the default generator
        gail.learn(chunk)  # warm-up; learn(total) trains on to ``total`` env steps of the run
        start, steps = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            steps += chunk
            gail.learn(chunk + steps)
        return steps / (time.perf_counter() - start)

    from lhyrl.nn.recurrent import RecurrentConfig, SequenceGenerator

    torch.manual_seed(0)
    generator = SequenceGenerator(RecurrentConfig(vocab_size=5000, embedding_dim=32, hidden_dim=32))
    rng = torch.Generator().manual_seed(0)
    data = torch.randint(0, 5000, (64, 20), generator=rng)
    if model == "seqgan-mle":
        optimizer = torch.optim.Adam(generator.parameters(), lr=0.01)

        def step() -> None:
            loss = -generator.log_prob(data, start_token=0).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    else:

        @torch.no_grad()
        def step() -> None:
            generator.monte_carlo_completions(data, n_rollouts=16, start_token=0, generator=rng)

    step()  # warm-up
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps / (time.perf_counter() - start)


def run_worker(model: str, threads: int, seconds: float) -> float:
    """One measurement in a fresh process with ``threads`` torch threads."""
    env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            model,
            "--threads",
            str(threads),
            "--seconds",
            str(seconds),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{model} at {threads} threads failed:\n{out.stderr[-2000:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["steps_per_second"])


def busy_loop() -> subprocess.Popen[bytes]:
    """A process that keeps one core busy until killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per cell")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of 1 and 2 threads")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--worker", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import torch

        torch.set_num_threads(args.threads)
        print(json.dumps({"steps_per_second": measure(args.worker, args.seconds)}))
        return

    cells: dict[tuple[str, str, int], list[float]] = {}
    for load in ("none", "one busy core"):
        loader = busy_loop() if load != "none" else None
        try:
            for model in args.models:
                for _ in range(args.rounds):
                    for threads in (1, 2):
                        rate = run_worker(model, threads, args.seconds)
                        cells.setdefault((load, model, threads), []).append(rate)
                        print(
                            f"{load:>14} {model:>16} {threads} threads: {rate:,.1f}/s", flush=True
                        )
        finally:
            if loader is not None:
                loader.kill()
                loader.wait()
    rows: list[list[str]] = []
    record: dict[str, Any] = {}
    for load in ("none", "one busy core"):
        for model in args.models:
            one = float(np.mean(cells[(load, model, 1)]))
            two = float(np.mean(cells[(load, model, 2)]))
            record[f"{load}/{model}"] = {"1": one, "2": two}
            rows.append(
                [
                    model,
                    UNITS[model],
                    "another process on one core" if load != "none" else "no extra load",
                    f"{one:,.1f}",
                    f"{two:,.1f}",
                    f"{two / one:.2f}x",
                ]
            )
    notes = f"""
Steps per second, mean of {args.rounds} alternating measurements of {args.seconds:g} s each in
fresh processes. "2 threads / 1": above 1 means the second thread pays. The busy loop is a
pure-Python `while True` process. Load average (1 min) as the table was written:
{os.getloadavg()[0]:.2f} (other jobs on the machine count as load too; the 1- and 2-thread
cells alternate so they share it).
The models and units are in the script's docstring. lhyrl's commands take `--threads N` and
default to 1: on this table's evidence, the model sizes lhyrl trains gain little or lose from a
second thread, and lose most when another process wants a core.
"""
    (RESULTS / "threads.json").write_text(json.dumps(record, indent=1))
    print(
        write_table(
            "threads",
            "Torch threads: steps per second at 1 and 2 threads",
            ["model", "unit", "load", "1 thread", "2 threads", "2 threads / 1"],
            rows,
            notes,
        ).read_text()
    )


if __name__ == "__main__":
    main()
