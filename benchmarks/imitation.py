"""Imitation benchmark: BC, DAgger, GAIL and AIRL on driving and MuJoCo tasks.

    python benchmarks/imitation.py                                   # everything (hours)
    python benchmarks/imitation.py --envs lhyrl/MujocoCar-v0 --algos gail airl --seeds 0 1 2
    python benchmarks/imitation.py --quick                           # a smoke run of minutes

Every agent learns from the same expert episodes of the env's shipped expert (recorded once,
seed 0; the driving task's with DART noise 0.3, as the README explains) and is trained through
``lhyrl.runs.train_run``, so each run is an ordinary run directory under ``--runs-dir`` with its
TensorBoard curves. The score is the expert-normalized return on 50 evaluation episodes (seeds
10000+): 0 is a uniformly random policy, 1 the expert. Results accumulate in
``results/imitation.json`` (one entry per env, agent and seed; a rerun replaces its entries) and
the table ``results/imitation.md`` is rebuilt from all of them, with wall time as a ratio to BC
on the same env.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from common import RESULTS, write_table

from lhyrl.config import make_config
from lhyrl.files import atomic_write_text
from lhyrl.runs import collect_demos, train_run

ALGOS = ("bc", "dagger", "gail", "airl")
# Per task: demonstrations and the generator budget of a full run. Every agent's settings are
# the shipped presets (lhyrl/presets/<algo>/<env>.yaml, chosen on these runs and explained
# there); ``--set`` overrides GAIL/AIRL keys.
ENVS: dict[str, dict[str, Any]] = {
    "lhyrl/Driving-v0": {"demo_episodes": 20, "disturbance": 0.3},
    "lhyrl/MujocoCar-v0": {"demo_episodes": 10, "disturbance": 0.0},
    "Hopper-v5": {"demo_episodes": 10, "disturbance": 0.0},
    "HalfCheetah-v5": {"demo_episodes": 10, "disturbance": 0.0},
}
DAGGER_DEMO_EPISODES = 4
"""DAgger starts from the first 4 expert episodes and labels its own."""
PUBLISHED = {"bc": 0.93, "dagger": 0.995, "gail": 0.94, "airl": 0.79}
"""imitation's benchmark (seals MuJoCo tasks, 10 seeds, expert-normalized)."""


def results_name(quick: bool) -> str:
    """``imitation`` for real runs, ``imitation_quick`` for smoke runs (kept apart)."""
    return "imitation_quick" if quick else "imitation"


def run_one(env_id: str, algo: str, seed: int, demos: Path, args: argparse.Namespace) -> dict:
    """Train one agent through the CLI's run path; returns what eval.json says."""
    values: dict[str, Any] = {
        "env": env_id,
        "algo": algo,
        "seed": seed,
        "demos": str(demos),
        "runs_dir": args.runs_dir,
        "eval_episodes": args.eval_episodes,
    }
    if algo == "dagger":
        values["demo_episodes"] = DAGGER_DEMO_EPISODES
    if algo in ("gail", "airl"):
        if args.timesteps:
            values["total_timesteps"] = args.timesteps
        values.update(args.set)
    if args.quick:
        values.update(epochs=2, eval_episodes=4)
        if algo == "dagger":
            values.update(demo_episodes=1, rounds=1)
        if algo in ("gail", "airl"):
            values.update(total_timesteps=4096)
    run_dir = train_run(make_config(values))
    return {"run_dir": str(run_dir), **json.loads((run_dir / "eval.json").read_text())}


def load_results(quick: bool) -> list[dict]:
    path = RESULTS / f"{results_name(quick)}.json"
    return json.loads(path.read_text()) if path.is_file() else []


def write_results(results: list[dict], quick: bool) -> None:
    """Save the raw entries and rebuild the Markdown table from them."""
    atomic_write_text(RESULTS / f"{results_name(quick)}.json", json.dumps(results, indent=1))
    rows = []
    for env_id in ENVS:
        bc_seconds = [
            r["train_seconds"] for r in results if (r["env"], r["algo"]) == (env_id, "bc")
        ]
        for algo in ALGOS:
            entries = [r for r in results if (r["env"], r["algo"]) == (env_id, algo)]
            if not entries:
                continue
            scores = np.array([r["normalized_return"] for r in entries])
            seconds = float(np.mean([r["train_seconds"] for r in entries]))
            ratio = f"{seconds / np.mean(bc_seconds):.1f}x" if bc_seconds else "-"
            bar = PUBLISHED[algo] if env_id in ("Hopper-v5", "HalfCheetah-v5") else None
            rows.append(
                [
                    env_id,
                    algo,
                    str(entries[0]["expert_episodes"]),
                    f"{scores.mean():.3f} +- {scores.std():.3f}",
                    f"{scores.min():.3f} / {scores.max():.3f}",
                    "-" if bar is None else f"{bar:.3f}",
                    str(len(entries)),
                    f"{int(np.mean([r.get('env_steps', 0) for r in entries])):,}",
                    f"{seconds:.0f} s ({ratio})",
                ]
            )
    notes = (
        "Normalized return: (return - random) / (expert - random) on 50 evaluation episodes, "
        "mean +- std over seeds. Expert episodes: demonstrations the agent saw (DAgger: the 4 "
        "it starts from plus the episodes of its own that the expert labelled). Env steps: the "
        "agent's own interaction with the env during training (BC none). Wall time: mean "
        "training time per seed, and its ratio to BC's on the same env. Published bar: "
        "imitation's benchmark on seals MuJoCo tasks (10 seeds). A missing env/agent "
        "pair has not been run yet. Runs share the 2 cores with other jobs, so wall times are "
        "upper bounds; compare the ratios."
    )
    commands = sorted({r.get("command", "?") for r in results})
    notes += "\n\nThe entries come from: " + "; ".join(f"`{c}`" for c in commands) + "."
    if quick:
        notes = "QUICK SMOKE RUN: tiny budgets, not a result.\n\n" + notes
    write_table(
        results_name(quick),
        "Imitation benchmark: BC, DAgger, GAIL, AIRL",
        [
            "env",
            "agent",
            "expert episodes",
            "normalized return",
            "min / max",
            "published bar",
            "seeds",
            "env steps",
            "wall time (x BC)",
        ],
        rows,
        notes=notes,
    )


def _parse_override(item: str) -> tuple[str, Any]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise SystemExit(f"--set takes KEY=VALUE items, got {item!r}")
    return key.replace("-", "_"), yaml.safe_load(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--timesteps", type=int, default=None, help="GAIL/AIRL budget override")
    parser.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="GAIL/AIRL config overrides (YAML values), e.g. gen_warmup_rounds=0",
    )
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--runs-dir", default="runs/bench_imitation")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny budgets, to check the path")
    parser.add_argument("--table-only", action="store_true", help="rebuild the table, train none")
    args = parser.parse_args()
    args.set = dict(_parse_override(item) for item in args.set)
    torch.set_num_threads(args.threads)
    results = load_results(args.quick)
    if args.table_only:
        write_results(results, args.quick)
        return
    for env_id in args.envs:
        settings = ENVS[env_id]
        demos = Path(args.runs_dir) / "demos" / f"{env_id.replace('/', '-')}.npz"
        if not demos.is_file():
            collect_demos(
                env_id=env_id,
                episodes=2 if args.quick else settings["demo_episodes"],
                out=demos,
                seed=0,
                disturbance=settings["disturbance"],
                progress=False,
            )
        for algo in args.algos:
            for seed in args.seeds:
                start = time.perf_counter()
                entry = run_one(env_id, algo, seed, demos, args)
                entry["command"] = shlex.join(["python", *sys.argv])
                print(
                    f"{env_id} {algo} seed {seed}: normalized {entry['normalized_return']:.3f} "
                    f"({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
                # Reread the file: another benchmark process may have added entries meanwhile.
                results = [
                    r
                    for r in load_results(args.quick)
                    if (r["env"], r["algo"], r["seed"]) != (env_id, algo, seed)
                ]
                results.append(entry)
                write_results(results, args.quick)


if __name__ == "__main__":
    main()
