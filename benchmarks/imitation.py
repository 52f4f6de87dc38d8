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

Over seeds (Agarwal et al. 2021, through ``rliable``; ``lhyrl.metrics.aggregate``): the IQM
and mean of the normalized returns with stratified-bootstrap 95% confidence intervals, and
the probability that a GAIL/AIRL/DAgger run beats a BC run on the same env. Per run, the
learner's state-action visitation is compared with the expert's as a generative model's
samples (``lhyrl.metrics.distances.compare_visitation``): the learner's pairs come from
``--dist-episodes`` evaluation episodes (seeds 10000+), the expert's from as many held-out
episodes of the shipped expert (seeds 20000+, recorded once to ``<runs-dir>/demos/``; the
demonstrations are seed 0), all scaled by the demonstrations' statistics: Fréchet distance,
MMD², k-means mode coverage, memorization against the demonstrations, and the held-out pairs'
log-likelihood under a Gaussian mixture of the learner's. ``--distribution-only`` computes
them for entries that lack them, from their saved runs, training nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from common import RESULTS, time_to_columns, write_table

from lhyrl.agents import BC
from lhyrl.config import make_config
from lhyrl.data import collect_episodes, load_demonstrations
from lhyrl.files import atomic_write_text
from lhyrl.metrics.aggregate import (
    aggregate_scores,
    performance_profile,
    probability_of_improvement,
    save_figure,
)
from lhyrl.metrics.distances import compare_visitation, state_action_features
from lhyrl.runs import EVALUATIONS_FILE, collect_demos, train_run
from lhyrl.runs.imitation import make_vec

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
EVAL_SEED = 10_000
"""The learner's rollouts for the visitation metrics start here (as its evaluation does)."""
HELDOUT_SEED = 20_000
"""Held-out expert episodes start here (demonstrations: seed 0)."""
BOOTSTRAP_REPS = 2_000
EVALUATIONS_PER_RUN = 20
"""GAIL/AIRL runs are also evaluated every 1/20 of their budget (``eval_every``): the curve
their time to 0.9 and 0.95 of the expert's return is read from (``evaluations.json``)."""


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
    config = make_config(values)
    if algo in ("gail", "airl"):
        # periodic evaluations (the final one's episodes and seeds), for the time to a return
        values["eval_every"] = max(1, config.total // EVALUATIONS_PER_RUN)
        config = dataclasses.replace(config, eval_every=values["eval_every"])
    run_dir = train_run(config)
    entry = {"run_dir": str(run_dir), **json.loads((run_dir / "eval.json").read_text())}
    history = run_dir / EVALUATIONS_FILE
    if history.is_file():
        entry["eval_every"] = values["eval_every"]
        entry["curve"] = [
            {
                "env_steps": e["step"],
                "train_seconds": e["train_seconds"],
                "normalized": e["normalized_return"],
            }
            for e in json.loads(history.read_text())
        ]
    return entry


def pairs(episodes: list) -> np.ndarray:
    """(N, D) state-action pairs of episodes (every observation but the last of each)."""
    obs = np.concatenate([ep.obs[:-1] for ep in episodes])
    acts = np.concatenate([ep.acts for ep in episodes])
    return state_action_features(obs, acts)


def heldout_expert(env_id: str, episodes: int, runs_dir: str) -> Path:
    """Held-out episodes of the env's shipped expert (seeds 20000+), recorded once."""
    path = Path(runs_dir) / "demos" / f"{env_id.replace('/', '-')}_heldout{episodes}.npz"
    if not path.is_file():
        collect_demos(env_id=env_id, episodes=episodes, out=path, seed=HELDOUT_SEED, progress=False)
    return path


def distribution(entry: dict, demos: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The visitation metrics of one finished run (its ``model.pt``)."""
    run_dir = Path(entry["run_dir"])
    policy = BC.load(run_dir / "model.pt", device="cpu").policy
    env = make_vec(entry["env"], min(args.dist_episodes, 16))
    learner = collect_episodes(
        env, policy, n_episodes=args.dist_episodes, seed=EVAL_SEED, progress=False
    )
    env.close()
    expert = load_demonstrations(heldout_expert(entry["env"], args.dist_episodes, args.runs_dir))
    metrics = compare_visitation(
        pairs(learner),
        pairs(load_demonstrations(demos).episodes),
        pairs(expert.episodes),
        seed=0,
    )
    metrics["episodes"] = args.dist_episodes
    return metrics


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
            iqm, mean, p_bc = aggregates(results, env_id, algo)
            seconds = float(np.mean([r["train_seconds"] for r in entries]))
            ratio = f"{seconds / np.mean(bc_seconds):.1f}x" if bc_seconds else "-"
            bar = PUBLISHED[algo] if env_id in ("Hopper-v5", "HalfCheetah-v5") else None
            rows.append(
                [
                    env_id,
                    algo,
                    str(entries[0]["expert_episodes"]),
                    f"{scores.mean():.3f} +- {scores.std():.3f}",
                    iqm,
                    mean,
                    p_bc,
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
    notes += (
        "\n\nIQM (mean of the middle 50% of seeds) and mean with stratified-bootstrap 95% "
        f"confidence intervals ({BOOTSTRAP_REPS:,} resamples; rliable, Agarwal et al. 2021); "
        "P(> BC): the probability that a run of the agent beats a BC run on the env (ties "
        "count half), over the seeds both have; '-' where fewer than 2 seeds. With 3 seeds the "
        "IQM trims no run and equals the mean; from 5 seeds on it drops the best and worst "
        "quarter."
    )
    notes += time_to_table(results)
    notes += distribution_table(results)
    profile = write_profile(results, quick)
    if profile is not None:
        notes += (
            f"\n\nPerformance profile: `{profile.name}`, the share of each agent's runs "
            "(all envs pooled) scoring above each normalized return, with 95% bootstrap bands."
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
            "IQM [95% CI]",
            "mean [95% CI]",
            "P(> BC) [95% CI]",
            "min / max",
            "published bar",
            "seeds",
            "env steps",
            "wall time (x BC)",
        ],
        rows,
        notes=notes,
    )


def time_to_table(results: list[dict]) -> str:
    """Markdown: GAIL's and AIRL's env steps and training seconds to 0.9 and 0.95 of the
    expert's normalized return, from the periodic evaluations of the runs that have them."""
    lines = []
    for env_id in ENVS:
        for algo in ("gail", "airl"):
            cell = [
                r for r in results if (r["env"], r["algo"]) == (env_id, algo) and r.get("curve")
            ]
            if not cell:
                continue
            every = max(r["eval_every"] for r in cell)
            best = np.array([max(p["normalized"] for p in r["curve"]) for r in cell])
            columns = time_to_columns(cell)
            lines.append(
                f"| {env_id} | {algo} | {every:,} | {' | '.join(columns)} | "
                f"{best.mean():.3f} +- {best.std():.3f} |"
            )
    if not lines:
        return ""
    header = [
        "",
        "",
        "Time to a return: GAIL and AIRL were also evaluated about every 1/"
        f"{EVALUATIONS_PER_RUN} of their budget (the final evaluation's 50 episodes and "
        "seeds; lhyrl train's eval_every, written to the run's evaluations.json with the "
        "seconds of training before each evaluation, the evaluations themselves not counted). "
        "Env steps / training seconds to the first evaluation at or above the threshold: mean "
        "over the seeds that reached it (how many did, of how many run with periodic "
        "evaluations). Best: the best periodic evaluation, mean +- std over those seeds. The "
        "presets start the generator from BC on the demonstrations (warm_start), trained "
        "before the clock starts: where that start is already at the threshold (the driving "
        "tasks), the first evaluation reaches it, and a final return below the best (the "
        "table above) is what the adversarial rounds lost of it.",
        "",
        "| env | agent | evaluated every (env steps) | to 0.9: steps / s | to 0.95: steps / s "
        "| best |",
        "|---|---|---|---|---|---|",
    ]
    return "\n".join(header + lines)


def aggregates(results: list[dict], env_id: str, algo: str) -> tuple[str, str, str]:
    """IQM and mean [95% CI] of an env/agent's seeds, and P(agent > BC) [95% CI]."""
    by_seed = {
        r["seed"]: r["normalized_return"]
        for r in results
        if (r["env"], r["algo"]) == (env_id, algo)
    }
    if len(by_seed) < 2:
        return "-", "-", "-"
    agg = aggregate_scores({algo: list(by_seed.values())}, reps=BOOTSTRAP_REPS)[algo]
    p_bc = "-"
    bc = {
        r["seed"]: r["normalized_return"]
        for r in results
        if (r["env"], r["algo"]) == (env_id, "bc")
    }
    common = sorted(set(by_seed) & set(bc))
    if algo != "bc" and len(common) >= 2:
        p = probability_of_improvement(
            [by_seed[s] for s in common], [bc[s] for s in common], reps=BOOTSTRAP_REPS
        )
        p_bc = str(p)
    return str(agg["iqm"]), str(agg["mean"]), p_bc


def write_profile(results: list[dict], quick: bool) -> Path | None:
    """``results/<name>_profile.png``: every agent's runs over all envs, as one score pool."""
    scores = {
        algo: [r["normalized_return"] for r in results if r["algo"] == algo] for algo in ALGOS
    }
    scores = {algo: s for algo, s in scores.items() if len(s) >= 2}
    if not scores:
        return None
    envs = sorted({r["env"] for r in results})
    figure = performance_profile(
        scores,
        reps=BOOTSTRAP_REPS,
        title=f"Imitation: performance profile over {len(envs)} env(s), all seeds",
    )
    path = RESULTS / f"{results_name(quick)}_profile.png"
    save_figure(figure, path)
    return path


def distribution_table(results: list[dict]) -> str:
    """A Markdown table of the visitation metrics, mean over the seeds that have them."""
    rows = []
    for env_id in ENVS:
        for algo in ALGOS:
            found = [
                r["distribution"]
                for r in results
                if (r["env"], r["algo"]) == (env_id, algo) and "distribution" in r
            ]
            if not found:
                continue

            def mean(key: str, found: list[dict] = found) -> float:
                return float(np.mean([d[key] for d in found]))

            rows.append(
                f"| {env_id} | {algo} | {len(found)} | {mean('frechet'):.2f} | "
                f"{mean('mmd'):.3f} | {mean('mode_coverage'):.2f} | "
                f"{mean('missing_real_mass'):.2f} | {mean('copy_fraction'):.2f} | "
                f"{mean('nn_distance_ratio'):.2f} | {mean('log_likelihood'):.4g} |"
            )
    if not rows:
        return ""
    episodes = sorted({r["distribution"]["episodes"] for r in results if "distribution" in r})
    return "\n".join(
        [
            "",
            "",
            "Learner state-action visitation against held-out expert pairs (mean over seeds; "
            f"{'/'.join(map(str, episodes))} learner and held-out expert episodes; every "
            "column in units of the demonstrations' standardized pairs): Fréchet distance and "
            "MMD² (RBF, median heuristic; 0 = same distribution); modes: share of 10 k-means "
            "clusters of the expert pairs the learner visits with at least 10% of their mass, "
            "and the expert mass in clusters it misses; copies: share of learner pairs equal "
            "to a demonstration pair; NN ratio: median distance of learner pairs to the "
            "nearest demonstration pair over that of held-out expert pairs (near 0: copying; "
            "above 1: the learner goes where the expert does not); log-lik: nats per held-out "
            "expert pair under a Gaussian mixture fitted to the learner's pairs (variance floor "
            "0.01; higher is better).",
            "",
            "| env | agent | seeds | Fréchet | MMD² | modes | missed mass | copies | "
            "NN ratio | log-lik |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
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
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
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
    parser.add_argument(
        "--dist-episodes", type=int, default=10, help="episodes of learner and held-out expert"
    )
    parser.add_argument(
        "--distribution-only",
        action="store_true",
        help="add the visitation metrics to entries of --envs/--algos that lack them; train none",
    )
    args = parser.parse_args()
    args.set = dict(_parse_override(item) for item in args.set)
    torch.set_num_threads(args.threads)
    results = load_results(args.quick)
    if args.quick:
        args.dist_episodes = min(args.dist_episodes, 2)
    if args.table_only:
        write_results(results, args.quick)
        return
    if args.distribution_only:
        added = {}
        for entry in results:
            key = (entry["env"], entry["algo"], entry["seed"])
            wanted = entry["env"] in args.envs and entry["algo"] in args.algos
            if wanted and "distribution" not in entry and Path(entry["run_dir"]).is_dir():
                demos = Path(args.runs_dir) / "demos" / f"{entry['env'].replace('/', '-')}.npz"
                added[key] = distribution(entry, demos, args)
                print(f"{' '.join(map(str, key))}: {added[key]}", flush=True)
        # Reread the file: another benchmark process may have added entries meanwhile.
        results = load_results(args.quick)
        for entry in results:
            key = (entry["env"], entry["algo"], entry["seed"])
            if key in added and "distribution" not in entry:
                entry["distribution"] = added[key]
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
                entry["distribution"] = distribution(entry, demos, args)
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
