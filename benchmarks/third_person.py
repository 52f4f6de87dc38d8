"""Third-person imitation (issue 17): learning from a demonstrator seen from elsewhere.

    python benchmarks/third_person.py                         # both envs, 3 seeds
    python benchmarks/third_person.py --workers 2             # two runs at a time (2 cores)
    python benchmarks/third_person.py --envs InvertedPendulum-v5 --seeds 0
    python benchmarks/third_person.py --quick                 # a smoke run of a few minutes
    python benchmarks/third_person.py --table-only            # rebuild the table and PNG

On each env (:data:`ENVS`), with the same env-step budget (the third-person-gail preset's):

- ``third-person-gail``: :class:`lhyrl.agents.ThirdPersonGAIL` on third-person demonstrations,
  the learner seeing the first person (domain confusion on);
- ``image-gail (3rd-person demos)``: the same without domain confusion (plain image GAIL; the
  domain classifier only a probe);
- ``image-gail (1st-person demos)``: plain image GAIL on demonstrations recorded in the
  learner's own domain, the upper bound;
- ``bc``: behavior cloning on the demonstrations' observations and actions (it needs the
  expert's actions, which a third-person learner has not: a reference, not a competitor);
- ``random``: a uniformly random policy.

Every run goes through the run layer (``lhyrl.runs.train_run``). Reported: the
expert-normalized return of the final policy (``eval.json``), the wall time of training, and
the domain classifier's accuracy over the last 5 rounds (``train/domain_accuracy``; 0.5 is
chance). The learning curve is each GAIL run's true return on its own training episodes
(``rollout/ep_rew_mean``, the Monitor's), normalized alike. Results accumulate per cell in
``results/third_person.json``: a finished cell is skipped, so an interrupted benchmark goes on
where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import multiprocessing
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from common import RESULTS, first_reaching, write_table

NAME = "third_person"

ENVS: dict[str, dict[str, Any]] = {
    "InvertedPendulum-v5": {"demo_episodes": 10, "quick": {"total_timesteps": 2048}},
    "lhyrl/MujocoCar-v0": {"demo_episodes": 5, "quick": {"total_timesteps": 1024}},
}
"""The envs, the demonstrations recorded for each (per domain), and the quick budgets."""

METHODS: dict[str, dict[str, Any]] = {
    "third-person-gail": {"algo": "third-person-gail", "demos": "third-person"},
    "image-gail (3rd-person demos)": {
        "algo": "third-person-gail",
        "demos": "third-person",
        "domain_confusion": False,
    },
    "image-gail (1st-person demos)": {
        "algo": "third-person-gail",
        "demos": "first-person",
        "demos_domain": "first-person",
        "domain_confusion": False,
    },
    "bc": {"algo": "bc", "demos": "third-person"},
}
"""Each trained method: its algorithm, which demonstrations, and its config changes."""

QUICK = {"n_envs": 2, "gen_n_steps": 256, "failure_episodes": 3, "eval_episodes": 3, "epochs": 2}


def demos_path(env_id: str, domain: str, runs_dir: Path, quick: bool) -> Path:
    """The demonstrations of ``env_id`` in ``domain`` (recorded on first use)."""
    from lhyrl.runs import collect_demos

    episodes = 1 if quick else ENVS[env_id]["demo_episodes"]
    path = runs_dir / "demos" / f"{env_id.replace('/', '-')}-{domain}-{episodes}.npz"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        collect_demos(
            env_id=env_id,
            episodes=episodes,
            out=path,
            frames=domain,
            frame_size=32,
            progress=False,
        )
    return path


def run_cell(env_id: str, method: str, seed: int, runs_dir: str, quick: bool) -> dict[str, Any]:
    """Train one run (in a worker process); returns its entry."""
    import torch

    torch.set_num_threads(1)
    from lhyrl.config import make_config
    from lhyrl.runs import EVAL_FILE, EVALUATIONS_FILE, train_run

    spec = dict(METHODS[method])
    algo, domain = spec.pop("algo"), spec.pop("demos")
    demos = demos_path(env_id, domain, Path(runs_dir), quick)
    values: dict[str, Any] = {
        "algo": algo,
        "env": env_id,
        "seed": seed,
        "demos": str(demos),
        "runs_dir": str(Path(runs_dir) / "runs"),
        **spec,
    }
    if algo == "bc":
        values.pop("domain_confusion", None)
    if quick:
        keys = {**QUICK, **ENVS[env_id]["quick"]}
        if algo == "bc":
            keys = {"epochs": 2, "eval_episodes": 3}
        else:
            keys.pop("epochs")
        values.update(keys)
    config = make_config(values)
    if algo != "bc" and not quick:  # evaluate 10 times along the run: the learning curve
        budget = config.adversarial.total_timesteps
        config = dataclasses.replace(config, eval_every=budget // 10)
    start = time.perf_counter()
    run_dir = train_run(config)
    evaluation = json.loads((run_dir / EVAL_FILE).read_text())
    entry: dict[str, Any] = {
        "env": env_id,
        "method": method,
        "seed": seed,
        "run_dir": str(run_dir),
        "return": _find(evaluation, "mean_return"),
        "normalized_return": _find(evaluation, "normalized_return"),
        "random_return": _find(evaluation, "random_return"),
        "reference_return": _find(evaluation, "reference_return"),
        "train_seconds": evaluation.get("train_seconds", time.perf_counter() - start),
        "command": shlex.join(["python", *sys.argv]),
    }
    if algo != "bc":
        rows = list(csv.DictReader((run_dir / "progress.csv").open()))
        domain_acc = [float(r["train/domain_accuracy"]) for r in rows if r["train/domain_accuracy"]]
        entry["domain_accuracy"] = float(np.mean(domain_acc[-5:])) if domain_acc else None
        entry["curve"] = [
            (int(r["time/total_timesteps"]), float(r["rollout/ep_rew_mean"]))
            for r in rows
            if r.get("rollout/ep_rew_mean") and r.get("time/total_timesteps")
        ]
        if (run_dir / EVALUATIONS_FILE).is_file():
            evaluations = json.loads((run_dir / EVALUATIONS_FILE).read_text())
            entry["eval_curve"] = [(e["step"], e["normalized_return"]) for e in evaluations]
    return entry


_RANDOM_EPISODES: dict[str, Any] = {}


def reward_auc(entry: dict[str, Any], runs_dir: Path, max_pairs: int = 2000) -> float:
    """How well a run's final discriminator tells the expert from a random policy, both seen
    in the learner's own domain (first-person): P(logit(expert pair) > logit(random pair)).

    The expert's first-person demonstrations and 20 random episodes (the same for every run
    of an env) are scored; 0.5 means the discriminator cannot tell them apart there, so its
    reward says nothing about what the expert does where the learner acts.
    """
    import torch

    from lhyrl.agents.third_person_gail import frame_pairs
    from lhyrl.data import load_demonstrations
    from lhyrl.rewards.learned import load_reward_net
    from lhyrl.runs.imitation import record_failures

    env_id = entry["env"]
    if env_id not in _RANDOM_EPISODES:
        _RANDOM_EPISODES[env_id] = record_failures(env_id, "first-person", 32, 20, seed=12345)
    expert = load_demonstrations(demos_path(env_id, "first-person", runs_dir, quick=False))
    net = load_reward_net(Path(entry["run_dir"]) / "reward_net.pt").eval()
    scores = []
    for demos, what in ((expert, "expert"), (_RANDOM_EPISODES[env_id], "random")):
        before, after = (x[:max_pairs] for x in frame_pairs(demos, what=what))
        with torch.no_grad():
            features = net.frame_features(before, after)  # (N, D)
            logits = net.discriminator_features(features, torch.zeros(len(features)))  # (N,)
        scores.append(logits.numpy())
    x, y = scores[0][:, None], scores[1][None, :]
    return float((x > y).mean() + 0.5 * (x == y).mean())


def steps_to(cells: list[dict[str, Any]], threshold: float) -> str:
    """Mean env steps to the first evaluation at or above ``threshold`` (and how many got there)."""
    curves = [r["eval_curve"] for r in cells if r.get("eval_curve")]
    if not curves:
        return "-"
    got = [
        first_reaching([{"env_steps": s, "normalized": v} for s, v in c], threshold) for c in curves
    ]
    reached = [g["env_steps"] for g in got if g is not None]
    mean = f"{np.mean(reached):,.0f}" if reached else "never"
    return f"{mean} ({len(reached)}/{len(curves)})"


def _find(data: Any, key: str) -> Any:
    """The first value under ``key`` anywhere in nested mappings (None if absent)."""
    if isinstance(data, dict):
        if key in data:
            return data[key]
        for value in data.values():
            found = _find(value, key)
            if found is not None:
                return found
    return None


def results_path(quick: bool) -> Path:
    return RESULTS / f"{NAME}{'_quick' if quick else ''}.json"


def load_results(quick: bool) -> list[dict[str, Any]]:
    path = results_path(quick)
    return json.loads(path.read_text()) if path.is_file() else []


def _fmt(values: list[float], digits: int = 3) -> str:
    if not values:
        return "-"
    x = np.asarray(values, dtype=float)
    return f"{x.mean():.{digits}f} ± {x.std():.{digits}f}" if len(x) > 1 else f"{x[0]:.{digits}f}"


def write_results(results: list[dict[str, Any]], quick: bool) -> None:
    """Save the entries; rebuild the table and the learning-curve PNG from them."""
    from lhyrl.files import atomic_write_text
    from lhyrl.metrics.aggregate import save_figure

    if not quick:
        for r in results:
            if r["method"] != "bc" and "reward_auc" not in r and Path(r["run_dir"]).is_dir():
                r["reward_auc"] = reward_auc(r, Path(r["run_dir"]).parents[1])
    atomic_write_text(results_path(quick), json.dumps(results, indent=1))
    rows = []
    for env_id in ENVS:
        done = [r for r in results if r["env"] == env_id]
        if not done:
            continue
        for method in METHODS:
            cells = [r for r in done if r["method"] == method]
            if not cells:
                continue
            domain = [r["domain_accuracy"] for r in cells if r.get("domain_accuracy") is not None]
            auc = [r["reward_auc"] for r in cells if r.get("reward_auc") is not None]
            rows.append(
                [
                    env_id,
                    method,
                    str(len(cells)),
                    _fmt([r["normalized_return"] for r in cells]),
                    _fmt([r["return"] for r in cells], 1),
                    _fmt([r["train_seconds"] for r in cells], 0),
                    _fmt(domain, 2),
                    _fmt(auc, 2),
                    steps_to(cells, 0.8),
                ]
            )
        random_returns = [r["random_return"] for r in done if r.get("random_return") is not None]
        if random_returns:
            rows.append(
                [env_id, "random", "-", "0.000", _fmt(random_returns[:1], 1), "0", "-", "-", "-"]
            )
    notes = (
        "normalized: (R - R_random) / (R_expert - R_random) of the final policy on the "
        "evaluation episodes; mean ± std over seeds. domain acc.: the domain classifier's "
        "balanced accuracy over the last 5 rounds (0.5 is chance; without domain confusion it "
        "is a probe of how much of the camera the features hold). reward AUC: how often the "
        "final discriminator scores a transition of the expert above one of a random policy, "
        "both seen in the learner's own domain (20 random episodes, the expert's first-person "
        "demonstrations; 0.5: its reward cannot tell them apart where the learner acts). "
        "steps to 0.8: env steps to the first of the 10 evaluations along a run at or above "
        "0.8 of the expert, mean over the seeds that reached it (how many did). "
        "BC reads the expert's "
        "actions, which a third-person learner never sees: it is a reference."
    )
    write_table(
        f"{NAME}{'_quick' if quick else ''}",
        "Third-person imitation (Stadie et al. 2017): expert seen from elsewhere",
        [
            "env",
            "method",
            "seeds",
            "normalized",
            "return",
            "train s",
            "domain acc.",
            "reward AUC",
            "steps to 0.8",
        ],
        rows,
        notes,
    )
    figure = plot(results)
    if figure is not None:
        save_figure(figure, RESULTS / f"{NAME}{'_quick' if quick else ''}.png")


def plot(results: list[dict[str, Any]]) -> Any:
    """One panel per env: each GAIL method's normalized training return over env steps."""
    envs = [
        e
        for e in ENVS
        if any(r["env"] == e and (r.get("curve") or r.get("eval_curve")) for r in results)
    ]
    if not envs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(envs), figsize=(6 * len(envs), 4.5), squeeze=False)
    for ax, env_id in zip(axes[0], envs, strict=True):
        for i, method in enumerate(m for m in METHODS if m != "bc"):
            for j, r in enumerate(
                x for x in results if x["env"] == env_id and x["method"] == method
            ):
                if r.get("eval_curve"):  # periodic evaluations, normalized already
                    steps, normalized = np.asarray(r["eval_curve"], dtype=float).T
                elif r.get("curve"):  # older entries: the training episodes' return
                    steps, returns = np.asarray(r["curve"], dtype=float).T
                    span = (r["reference_return"] or 1.0) - (r["random_return"] or 0.0)
                    normalized = (returns - (r["random_return"] or 0.0)) / (span or 1.0)
                else:
                    continue
                ax.plot(
                    steps,
                    normalized,
                    color=f"C{i}",
                    alpha=0.8,
                    label=method if j == 0 else None,
                )
        ax.axhline(1.0, color="gray", linestyle="--", linewidth=1)
        ax.axhline(0.0, color="gray", linestyle=":", linewidth=1)
        ax.set_xlabel("env steps")
        ax.set_ylabel("normalized return (evaluations; older runs: training episodes)")
        ax.set_title(env_id)
        ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def frames_figure(size: int = 32, steps: int = 10) -> Path:
    """Two frames (at reset and ``steps`` random steps later) of each domain, side by side.

    Both domains replay the same seed and the same actions, so the frames show one scene as
    the two cameras see it: ``results/third_person_frames.png`` (shown in the README).
    """
    import gymnasium as gym
    import matplotlib.pyplot as plt

    from lhyrl.envs.third_person import DomainFrames
    from lhyrl.metrics.aggregate import save_figure

    domains = ("first-person", "third-person")
    figure, axes = plt.subplots(len(ENVS), 4, figsize=(8, 2.3 * len(ENVS)), squeeze=False)
    for row, env_id in enumerate(ENVS):
        actions = None
        for d, domain in enumerate(domains):
            env = DomainFrames(gym.make(env_id), domain, size=size)
            _, info = env.reset(seed=0)
            frames = [info["frame"]]
            if actions is None:
                env.action_space.seed(0)
                actions = [env.action_space.sample() for _ in range(steps)]
            for action in actions:
                _, _, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
            frames.append(info["frame"])
            env.close()
            for f, frame in enumerate(frames):
                ax = axes[row][2 * d + f]
                ax.imshow(frame, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(f"{domain}, {'reset' if f == 0 else f'step {steps}'}", fontsize=8)
        axes[row][0].set_ylabel(env_id, fontsize=8)
    figure.tight_layout()
    path = save_figure(figure, RESULTS / f"{NAME}_frames.png")
    plt.close(figure)
    return Path(path)


def main() -> None:
    global NAME
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--runs-dir", default="runs/bench_third_person")
    parser.add_argument("--workers", type=int, default=1, help="runs at a time, one thread each")
    parser.add_argument("--quick", action="store_true", help="tiny budgets, to check the path")
    parser.add_argument("--table-only", action="store_true", help="rebuild the table, train none")
    parser.add_argument("--rerun", action="store_true", help="retrain cells that have entries")
    parser.add_argument("--frames-only", action="store_true", help="only the frames' PNG")
    parser.add_argument(
        "--results-name",
        default=NAME,
        help="name of the results' JSON, table and PNG (to run two parts at once, then merge)",
    )
    args = parser.parse_args()
    NAME = args.results_name
    frames_figure()
    if args.frames_only:
        return
    if args.table_only:
        write_results(load_results(args.quick), args.quick)
        return
    have = {(r["env"], r["method"], r["seed"]) for r in load_results(args.quick)}
    # seed by seed, each method in turn, so a change in the machine's load falls on all alike
    cells = [
        (env_id, method, seed)
        for env_id in args.envs
        for seed in args.seeds
        for method in args.methods
        if args.rerun or (env_id, method, seed) not in have
    ]
    for env_id in args.envs:  # record the demonstrations once, before the workers need them
        for domain in ("third-person", "first-person"):
            demos_path(env_id, domain, Path(args.runs_dir), args.quick)
    # spawned workers: a forked child of a process that has rendered with EGL can hang
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=spawn) as pool:
        futures = {
            pool.submit(run_cell, *cell, args.runs_dir, args.quick): (cell, time.perf_counter())
            for cell in cells
        }
        for future in as_completed(futures):
            cell, _ = futures[future]
            entry = future.result()
            print(
                f"{' / '.join(map(str, cell))}: normalized {entry['normalized_return']:.3f}, "
                f"domain acc. {entry.get('domain_accuracy')}, {entry['train_seconds']:.0f} s",
                flush=True,
            )
            results = [
                r for r in load_results(args.quick) if (r["env"], r["method"], r["seed"]) != cell
            ]
            results.append(entry)
            write_results(results, args.quick)


if __name__ == "__main__":
    main()
