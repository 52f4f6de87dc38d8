"""Steps per second of lhyrl/Driving-v0 (single and native vector) against highway-env.

Run: ``python benchmarks/env_throughput.py`` (needs ``pip install -e ".[bench]"`` for
highway-env). All three envs are driven by seeded random actions, episodes reset as they end,
and every number comes from this one process, so the ratios compare like with like.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import time
import warnings

import gymnasium as gym
import numpy as np
from common import write_table

import lhyrl  # noqa: F401  (registers lhyrl/ ids)

ACTION_POOL = 4096  # random actions drawn before timing, so sampling them is not timed


class SingleEnvRunner:
    """Steps one env with seeded random actions, resetting as episodes end."""

    def __init__(self, env: gym.Env | gym.vector.VectorEnv, seed: int) -> None:
        self.env = env
        env.action_space.seed(seed)
        env.reset(seed=seed)
        self.actions = [env.action_space.sample() for _ in range(ACTION_POOL)]
        self.steps = 0
        self.seconds = 0.0

    def run(self, seconds: float) -> None:
        env, actions, steps, start = self.env, self.actions, 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            _, _, terminated, truncated, _ = env.step(actions[steps % ACTION_POOL])
            steps += 1
            if terminated or truncated:
                env.reset()
        self.seconds += time.perf_counter() - start
        self.steps += steps


class VectorEnvRunner(SingleEnvRunner):
    """Steps a vector env with seeded random actions (it resets its sub-envs itself)."""

    def run(self, seconds: float) -> None:
        env, actions, steps, start = self.env, self.actions, 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            env.step(actions[steps % ACTION_POOL])
            steps += 1
        self.seconds += time.perf_counter() - start
        self.steps += steps * env.num_envs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time per env, in all")
    parser.add_argument("--rounds", type=int, default=12, help="turns each env gets")
    parser.add_argument("--num-envs", type=int, default=64, help="cars in the vector env")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    try:
        import highway_env  # noqa: F401  (registers highway-fast-v0)
    except ImportError as err:
        raise SystemExit('highway-env is missing: pip install -e ".[bench]"') from err
    warnings.filterwarnings("ignore")
    highway = gym.make("highway-fast-v0")
    config = highway.unwrapped.config
    venv = gym.make_vec(
        "lhyrl/Driving-v0", num_envs=args.num_envs, vectorization_mode="vector_entry_point"
    )
    runners = {
        "highway": SingleEnvRunner(highway, args.seed),
        "single": SingleEnvRunner(gym.make("lhyrl/Driving-v0"), args.seed),
        "vector": VectorEnvRunner(venv, args.seed),
    }
    # Interleave short turns so that a slow or busy spell of the machine hits all three alike.
    for _ in range(args.rounds):
        for runner in runners.values():
            runner.run(args.seconds / args.rounds)
    rates = {name: r.steps / r.seconds for name, r in runners.items()}
    highway_rate, single_rate, vector_rate = rates["highway"], rates["single"], rates["vector"]
    highway_steps, single_steps, vector_steps = (r.steps for r in runners.values())

    lhyrl_cfg = gym.make("lhyrl/Driving-v0").unwrapped.config
    rows = [
        [
            "highway-fast-v0 (highway-env " + importlib.metadata.version("highway-env") + ")",
            f"{config['lanes_count']} lanes, {config['vehicles_count']} vehicles",
            f"{1 / config['policy_frequency']:.1f}",
            f"{highway_steps}",
            f"{highway_rate:,.1f}",
            "1",
        ],
        [
            "lhyrl/Driving-v0, single env",
            f"{lhyrl_cfg.lanes} lanes, {lhyrl_cfg.vehicles} vehicles",
            f"{lhyrl_cfg.dt:.1f}",
            f"{single_steps}",
            f"{single_rate:,.0f}",
            f"{single_rate / highway_rate:,.0f}",
        ],
        [
            f"lhyrl/Driving-v0, native vector env ({args.num_envs} cars), per env-step",
            f"{lhyrl_cfg.lanes} lanes, {lhyrl_cfg.vehicles} vehicles each",
            f"{lhyrl_cfg.dt:.1f}",
            f"{vector_steps}",
            f"{vector_rate:,.0f}",
            f"{vector_rate / highway_rate:,.0f}",
        ],
    ]
    goals = (
        "Goals: single env at least 100 x highway-fast-v0 "
        f"(measured {single_rate / highway_rate:,.0f} x); "
        f"vector env at least 1000 x per env-step (measured {vector_rate / highway_rate:,.0f} x). "
        "Random actions (drawn before timing), resets included, one process; the envs take turns "
        f"({args.rounds} turns, {args.seconds:.0f} s each in all). "
        "highway-fast-v0 simulates 1 s per step (5 substeps), "
        "lhyrl/Driving-v0 0.1 s per step; the ratios are per step, as asked."
    )
    path = write_table(
        "env_throughput",
        "Environment throughput: lhyrl/Driving-v0 vs highway-env highway-fast-v0",
        [
            "env",
            "traffic",
            "simulated s / step",
            "steps measured",
            "steps / s",
            "x highway-fast-v0",
        ],
        rows,
        goals,
    )
    print(path.read_text())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
