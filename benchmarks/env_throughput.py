"""Steps and simulated seconds per second of lhyrl/Driving-v0 against highway-env.

Run: ``python benchmarks/env_throughput.py`` (needs ``pip install -e ".[bench]"`` for
highway-env; about 5 minutes with the defaults). Every env is driven by seeded random actions
(drawn before timing), episodes reset as they end, and every number comes from this one
process, the envs taking short turns in rounds, so a slow or busy spell of the machine hits
them all alike and the ratios compare like with like.

highway-env's ``highway-fast-v0`` simulates 1 s per step; ``lhyrl/Driving-v0`` 0.1 s, or 1 s
with ``decision_every=10`` (the action held for 10 simulator steps). The script writes
``benchmarks/results/env_throughput.md`` (per-step and per-simulated-second tables, the native
vector env's batch-size curve, the same single-env comparison with and without a busy-loop
process loading a core, the top of a cProfile of the simulator, and each goal met or missed)
and ``benchmarks/results/env_throughput.png`` (the batch-size curve).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.metadata
import io
import os
import pstats
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from common import RESULTS, write_table

import lhyrl  # noqa: F401  (registers lhyrl/ ids)

ACTION_POOL = 4096  # random actions drawn before timing, so sampling them is not timed
VECTOR_POOL_VALUES = 1 << 18  # for vector envs: about this many action numbers in the pool
DRIVING_STEPS_30S = 300  # Driving-v0's registered limit: 30 s at 0.1 s per step
GOALS = {  # x highway-fast-v0
    "single_per_second": 30.0,
    "vector_per_second": 500.0,
    "best_batch_per_second": 2000.0,
    "single_per_step": 100.0,
}


@dataclass
class Runner:
    """Steps one env (single or native vector) with seeded random actions, in timed turns.

    Attributes:
        label: Name in the tables.
        env: The env; a single env is reset when its episode ends, a vector env resets itself.
        sim_seconds: Simulated seconds per step of each (sub-)environment.
        steps: Env-steps taken (a vector env's step counts once per sub-environment).
        seconds: Wall-clock seconds spent stepping.
        episodes: Episodes that ended while timed.
    """

    label: str
    env: Any
    sim_seconds: float
    seed: int = 0
    steps: int = 0
    seconds: float = 0.0
    episodes: int = 0
    actions: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.vector = isinstance(self.env, gym.vector.VectorEnv)
        self.num_envs = self.env.num_envs if self.vector else 1
        self.env.action_space.seed(self.seed)
        self.env.reset(seed=self.seed)
        size = self.env.action_space.sample().size
        pool = max(8, min(ACTION_POOL, VECTOR_POOL_VALUES // size))
        self.actions = [self.env.action_space.sample() for _ in range(pool)]
        self.run(0.2, timed=False)  # warm up: the compiled kernels load on the first step

    def run(self, seconds: float, timed: bool = True) -> None:
        """Step for about ``seconds`` of wall-clock time."""
        env, actions, pool = self.env, self.actions, len(self.actions)
        steps = episodes = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            _, _, terminated, truncated, _ = env.step(actions[steps % pool])
            steps += 1
            if self.vector:
                episodes += int(np.count_nonzero(terminated | truncated))
            elif terminated or truncated:
                episodes += 1
                env.reset()
        if timed:
            self.seconds += time.perf_counter() - start
            self.steps += steps * self.num_envs
            self.episodes += episodes

    @property
    def steps_per_second(self) -> float:
        """Env-steps per wall-clock second."""
        return self.steps / self.seconds

    @property
    def sim_per_second(self) -> float:
        """Simulated seconds per wall-clock second, over all sub-environments."""
        return self.steps_per_second * self.sim_seconds

    @property
    def episode_seconds(self) -> float:
        """Mean simulated length of an episode (random actions)."""
        return self.steps * self.sim_seconds / max(self.episodes, 1)


def driving(decision_every: int) -> gym.Env:
    """Driving-v0 with a 30 s time limit whatever ``decision_every`` is."""
    return gym.make(
        "lhyrl/Driving-v0",
        decision_every=decision_every,
        max_episode_steps=DRIVING_STEPS_30S // decision_every,
    )


def driving_vec(num_envs: int, decision_every: int) -> gym.vector.VectorEnv:
    """The native vector env of Driving-v0, 30 s episodes."""
    return gym.make_vec(
        "lhyrl/Driving-v0",
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        decision_every=decision_every,
        max_episode_steps=DRIVING_STEPS_30S // decision_every,
    )


def interleave(runners: list[Runner], seconds: float, rounds: int) -> None:
    """Give every runner ``seconds`` in all, in ``rounds`` turns each, round-robin."""
    for _ in range(rounds):
        for runner in runners:
            runner.run(seconds / rounds)


def busy_loop() -> subprocess.Popen[bytes]:
    """Start a process that keeps one core busy until it is terminated."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def load_comparison(seconds: float, rounds: int, seed: int) -> list[dict[str, Any]]:
    """Per-step highway-fast-v0 vs Driving-v0 with and without a busy-loop process.

    Rounds alternate between the two conditions; in each, both envs take a turn.
    """
    conditions = {"no busy loop": False, "busy-loop process on one core": True}
    runners = {
        name: (
            Runner("highway", gym.make("highway-fast-v0"), 1.0, seed),
            Runner("single", driving(1), 0.1, seed),
        )
        for name in conditions
    }
    cpu = dict.fromkeys(conditions, 0.0)
    wall = dict.fromkeys(conditions, 0.0)
    load: dict[str, list[float]] = {name: [] for name in conditions}
    for _ in range(rounds):
        for name, loaded in conditions.items():
            process = busy_loop() if loaded else None
            try:
                time.sleep(0.2 if loaded else 0.0)  # let it get going
                cpu_start, wall_start = time.process_time(), time.perf_counter()
                for runner in runners[name]:
                    runner.run(seconds / rounds)
                cpu[name] += time.process_time() - cpu_start
                wall[name] += time.perf_counter() - wall_start
                load[name].append(os.getloadavg()[0])
            finally:
                if process is not None:
                    process.terminate()
                    process.wait()
    rows = []
    for name in conditions:
        highway, single = runners[name]
        rows.append(
            {
                "condition": name,
                "highway": highway.steps_per_second,
                "single": single.steps_per_second,
                "ratio": single.steps_per_second / highway.steps_per_second,
                "cpu_share": cpu[name] / wall[name],
                "load": float(np.mean(load[name])),
            }
        )
    return rows


def profile_top(run: Any, seconds: float, top: int) -> tuple[str, float]:
    """cProfile ``run(seconds)``; the ``top`` entries by own time as a Markdown table."""
    profiler = cProfile.Profile()
    profiler.enable()
    run(seconds)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]  # type: ignore[attr-defined]
    lines = [
        "| function | calls | own time (s) | share of the run | with callees (s) |",
        "|---|---|---|---|---|",
    ]
    for (filename, line, name), (_, calls, own, cumulative, _) in entries:
        where = filename.split("site-packages/")[-1].split("lhyrl/")[-1]
        where = f"{where}:{line} {name}" if line else name
        lines.append(
            f"| `{where}` | {calls:,} | {own:.3f} | {own / total:.0%} | {cumulative:.3f} |"
        )
    return "\n".join(lines), total


def plot_curve(sizes: list[int], rates: list[float], highway_rate: float) -> None:
    """The batch-size curve: simulated seconds per second against the number of envs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(sizes, rates, "o-", label="lhyrl/Driving-v0 native vector env, decision_every=10")
    for factor, style, text in (
        (1, ":", "highway-fast-v0 (1 env)"),
        (GOALS["best_batch_per_second"], "--", "goal: 2,000 x highway-fast-v0"),
    ):
        ax.axhline(highway_rate * factor, color="grey", linestyle=style, label=text)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.set_xlabel("number of envs in the vector env (cars simulated in one batch)")
    ax.set_ylabel("simulated seconds per wall-clock second (all envs)")
    ax.set_title("Driving-v0 throughput by batch size (random actions, resets included)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "env_throughput.png", dpi=120)
    plt.close(fig)


def goal_line(name: str, measured: float, goal: float, blocker: str) -> str:
    """``met`` with the margin, or ``missed`` by how much and what is in the way."""
    if measured >= goal:
        return (
            f"- {name}: goal {goal:,.0f} x, measured {measured:,.0f} x: **met** "
            f"({measured / goal:.1f} x the goal)"
        )
    return (
        f"- {name}: goal {goal:,.0f} x, measured {measured:,.0f} x: **missed** by "
        f"{goal - measured:,.0f} x ({1 - measured / goal:.0%} short); in the way: {blocker}"
    )


def fmt(value: float) -> str:
    """A rate with thousands separators, one decimal below 100."""
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="time per env, in all")
    parser.add_argument("--rounds", type=int, default=5, help="turns each env gets")
    parser.add_argument("--num-envs", type=int, default=64, help="cars in the vector env")
    parser.add_argument(
        "--batch-sizes",
        default="1,4,16,64,256,1024,4096",
        help="comma-separated vector env sizes for the batch-size curve (decision_every=10)",
    )
    parser.add_argument(
        "--load-seconds", type=float, default=20.0, help="time per env and load condition"
    )
    parser.add_argument("--profile-seconds", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = [int(n) for n in args.batch_sizes.split(",")]

    try:
        import highway_env  # noqa: F401  (registers highway-fast-v0)
    except ImportError as err:
        raise SystemExit('highway-env is missing: pip install -e ".[bench]"') from err
    warnings.filterwarnings("ignore")
    load_at_start = os.getloadavg()

    highway = Runner("highway-fast-v0", gym.make("highway-fast-v0"), 1.0, args.seed)
    single = Runner("single1", driving(1), 0.1, args.seed)
    single10 = Runner("single10", driving(10), 1.0, args.seed)
    vector = Runner("vector1", driving_vec(args.num_envs, 1), 0.1, args.seed)
    curve = {n: Runner(f"vec{n}", driving_vec(n, 10), 1.0, args.seed) for n in sizes}
    if args.num_envs not in curve:
        curve[args.num_envs] = Runner("vec", driving_vec(args.num_envs, 10), 1.0, args.seed)
    runners = [highway, single, single10, vector, *curve.values()]
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    interleave(runners, args.seconds, args.rounds)
    cpu_share = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    vector10 = curve[args.num_envs]
    h_step, h_sim = highway.steps_per_second, highway.sim_per_second

    print("load comparison ...", flush=True)
    loaded = load_comparison(args.load_seconds, args.rounds, args.seed)

    print("profiles ...", flush=True)
    profile_single, _ = profile_top(
        Runner("p1", driving(1), 0.1, args.seed).run, args.profile_seconds, 8
    )
    profile_batch, _ = profile_top(
        Runner("p2", driving_vec(1024, 10), 1.0, args.seed).run, args.profile_seconds, 8
    )

    config = highway.env.unwrapped.config
    hw_version = importlib.metadata.version("highway-env")
    n = args.num_envs
    traffic = f"{config['lanes_count']} lanes, {config['vehicles_count']} vehicles"
    ours = single.env.unwrapped.config
    our_traffic = f"{ours.lanes} lanes, {ours.vehicles} vehicles"
    step_rows: list[tuple[str, str, Runner]] = [
        ("highway-fast-v0 (highway-env " + hw_version + ")", traffic, highway),
        ("lhyrl/Driving-v0, single env", our_traffic, single),
        ("lhyrl/Driving-v0, single env, decision_every=10", our_traffic, single10),
        (f"lhyrl/Driving-v0, native vector env ({n} cars), per env-step", "same, each", vector),
        (f"same, decision_every=10 ({n} cars), per env-step", "same, each", vector10),
    ]
    rows = [
        [
            label,
            traffic_text,
            f"{r.sim_seconds:.1f}",
            f"{r.steps:,}",
            fmt(r.steps_per_second),
            fmt(r.steps_per_second / h_step),
            fmt(r.sim_per_second),
            fmt(r.sim_per_second / h_sim),
            f"{r.episode_seconds:.1f}",
        ]
        for label, traffic_text, r in step_rows
    ]

    best = max(curve.values(), key=lambda r: r.sim_per_second)
    curve_sizes = sorted(curve)
    plot_curve(curve_sizes, [curve[s].sim_per_second for s in curve_sizes], h_sim)
    curve_table = [
        "| envs | env-steps (decisions) / s | simulated s / s | x highway-fast-v0 |",
        "|---|---|---|---|",
        *(
            f"| {s} | {fmt(curve[s].steps_per_second)} | {fmt(curve[s].sim_per_second)} | "
            f"{fmt(curve[s].sim_per_second / h_sim)} |"
            for s in curve_sizes
        ),
    ]
    load_table = [
        "| condition | highway-fast-v0 steps / s | Driving-v0 steps / s | x highway-fast-v0 "
        "| CPU share of this process | load average (1 min) |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['condition']} | {fmt(float(r['highway']))} | {fmt(float(r['single']))} | "
            f"{fmt(float(r['ratio']))} | {float(r['cpu_share']):.0%} | {float(r['load']):.1f} |"
            for r in loaded
        ),
    ]
    per_step_blocker = (
        "Python per-step overhead of the Gymnasium API (wrappers, action check, info dict)"
    )
    goals = [
        goal_line(
            "single env per simulated second (decision_every=10)",
            single10.sim_per_second / h_sim,
            GOALS["single_per_second"],
            per_step_blocker,
        ),
        goal_line(
            f"{n}-env vector env per simulated second (decision_every=10)",
            vector10.sim_per_second / h_sim,
            GOALS["vector_per_second"],
            "resets of episodes that random actions end within seconds (RNG calls per env)",
        ),
        goal_line(
            f"vector env at its best batch size ({best.num_envs} envs) per simulated second",
            best.sim_per_second / h_sim,
            GOALS["best_batch_per_second"],
            "resets (Python RNG calls per env) and memory traffic of large batches",
        ),
        *(
            goal_line(
                f"single env per step (decision_every=1), {r['condition']}",
                float(r["ratio"]),
                GOALS["single_per_step"],
                per_step_blocker,
            )
            for r in loaded
        ),
    ]
    without = (
        "Without decision_every (0.1 s per step) the single env simulates "
        f"{fmt(single.sim_per_second / h_sim)} x and the {n}-env vector env "
        f"{fmt(vector.sim_per_second / h_sim)} x highway-fast-v0 per simulated second."
    )
    notes = f"""Random actions (drawn before timing), resets included (the last column: random
driving ends episodes within seconds, so resets are a large part of the cost), one process;
the envs take turns ({args.rounds} turns, {args.seconds:.0f} s each in all). highway-fast-v0
simulates 1 s per step (5 substeps at 5 Hz), lhyrl/Driving-v0 0.1 s, or 1 s with
`decision_every=10`. Episodes are limited to 30 s for every env. Load: 1-minute load average
{load_at_start[0]:.1f} at the start on this {os.cpu_count()}-core machine (other jobs were
running); this process got {cpu_share:.0%} of a core during the main measurement.

## Per simulated second: batch-size curve of the native vector env (decision_every=10)

{chr(10).join(curve_table)}

Best: {best.num_envs} envs, {fmt(best.sim_per_second)} simulated s / s =
{fmt(best.sim_per_second / h_sim)} x highway-fast-v0. Plot: `env_throughput.png`.

## Per step under load: single env, with and without a busy-loop process

Rounds alternate between the two conditions, both envs taking a turn in each; the busy loop
is a second Python process spinning on one core (`while True: pass`) while both envs step.

{chr(10).join(load_table)}

## Goals

{chr(10).join(goals)}

{without}

## Profile (cProfile, top entries by own time)

Driving-v0 single env, decision_every=1, {args.profile_seconds:.0f} s:

{profile_single}

Native vector env, 1,024 envs, decision_every=10, {args.profile_seconds:.0f} s
(`step_batch` is the compiled simulator step, `reset` draws new episodes):

{profile_batch}
"""
    path = write_table(
        "env_throughput",
        "Environment throughput: lhyrl/Driving-v0 vs highway-env highway-fast-v0",
        [
            "env",
            "traffic",
            "simulated s / step",
            "env-steps measured",
            "steps / s",
            "x highway-fast-v0 per step",
            "simulated s / s",
            "x highway-fast-v0 per simulated s",
            "mean episode (simulated s)",
        ],
        rows,
        notes,
    )
    print(path.read_text())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
