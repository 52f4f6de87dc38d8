"""The main job: record driving demonstrations, train BC and DAgger, compare them.

Run it with ``make demo``, ``lhyrl demo`` or ``python scripts/demo.py``. It takes a few
minutes on two CPU cores and leaves two TensorBoard runs and a demonstration dataset in
``runs/``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from lhyrl.config import make_config
from lhyrl.runs import collect_demos, reference_returns, train_run

ENV_ID = "lhyrl/Driving-v0"
DEMO_EPISODES = 20  # BC's demonstrations
DAGGER_DEMO_EPISODES = 4  # DAgger starts from the first 4 of them ...
DAGGER_ROUNDS, DAGGER_EPISODES_PER_ROUND = 1, 2  # ... and labels 2 episodes of its own
DISTURBANCE = 0.3  # DART noise while recording: demonstrations show recoveries
EVAL_EPISODES = 50


def run_demo(*, runs_dir: str = "runs", seed: int = 0) -> dict[str, dict[str, float]]:
    """Run the whole path and print a table; returns the table's rows."""
    # A Minari dataset's folder name is its dataset id, versioned: "-v0".
    demos_path = Path(runs_dir) / "demos" / f"driving-expert-{DEMO_EPISODES}-seed{seed}-v0"
    print(f"1/4 recording {DEMO_EPISODES} expert episodes on {ENV_ID} -> {demos_path}")
    start = time.perf_counter()
    demos = collect_demos(
        env_id=ENV_ID,
        episodes=DEMO_EPISODES,
        out=demos_path,
        seed=seed,
        disturbance=DISTURBANCE,
        overwrite=True,
    )
    collect_seconds = time.perf_counter() - start
    common = {"env": ENV_ID, "demos": str(demos_path), "seed": seed, "runs_dir": runs_dir}
    common["eval_episodes"] = EVAL_EPISODES
    print("2/4 training BC on all of them")
    bc_run = train_run(make_config({**common, "algo": "bc"}))
    print("3/4 training DAgger from the first few, labelling the states its learner reaches")
    dagger_run = train_run(
        make_config(
            {
                **common,
                "algo": "dagger",
                "demo_episodes": DAGGER_DEMO_EPISODES,
                "rounds": DAGGER_ROUNDS,
                "episodes_per_round": DAGGER_EPISODES_PER_ROUND,
            }
        )
    )
    print(f"4/4 evaluating on {EVAL_EPISODES} new roads")
    config = make_config({**common, "algo": "bc"})
    expert_return, random_return = reference_returns(
        ENV_ID, episodes=EVAL_EPISODES, seed=config.eval_seed
    )
    rows: dict[str, dict[str, float]] = {
        "expert (scripted)": {
            "return": expert_return,
            "normalized": 1.0,
            "expert_episodes": float("nan"),
            "seconds": collect_seconds,
        },
        "random policy": {
            "return": random_return,
            "normalized": 0.0,
            "expert_episodes": float("nan"),
            "seconds": 0.0,
        },
    }
    for name, run in (("BC", bc_run), ("DAgger", dagger_run)):
        result = json.loads((run / "eval.json").read_text())
        rows[name] = {
            "return": result["mean_return"],
            "normalized": result["normalized_return"],
            "expert_episodes": result["expert_episodes"],
            "seconds": result["train_seconds"],
        }
    print()
    print(f"{'policy':<20}{'return':>10}{'normalized':>12}{'expert episodes':>17}{'train s':>10}")
    for name, row in rows.items():
        episodes = (
            "-"
            if row["expert_episodes"] != row["expert_episodes"]
            else f"{row['expert_episodes']:.0f}"
        )
        print(
            f"{name:<20}{row['return']:>10.1f}{row['normalized']:>12.3f}{episodes:>17}"
            f"{row['seconds']:>10.1f}"
        )
    print()
    print(f"demonstrations: {demos_path} ({demos.n_episodes} episodes, Minari/hdf5)")
    print(f"runs: {bc_run}\n      {dagger_run}")
    print(f"watch them: tensorboard --logdir {runs_dir}")
    return rows
