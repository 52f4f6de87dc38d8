"""Train the shipped MuJoCo experts with SB3's SAC and measure them.

    python benchmarks/train_mujoco_experts.py                       # all three, default budgets
    python benchmarks/train_mujoco_experts.py --env Hopper-v5 --steps 150000

Each expert's deterministic actor is written to ``lhyrl/experts/weights/<env id>.npz`` with its
measured return (10 episodes, seeds 10000-10009) and the return of random actions on the same
seeds; ``lhyrl.experts.MujocoExpert`` loads it. The table goes to
``benchmarks/results/mujoco_experts.md``; the training time is given as a ratio to the time the
same number of bare env steps takes in this process.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from common import RESULTS, write_table
from stable_baselines3 import SAC

from lhyrl.experts.mujoco import (
    MUJOCO_EXPERT_IDS,
    ExpertInfo,
    MujocoExpert,
    save_mlp_expert,
    weights_path,
)
from lhyrl.files import atomic_write_text

DEFAULT_STEPS = {"InvertedPendulum-v5": 20_000, "Hopper-v5": 150_000, "HalfCheetah-v5": 150_000}
EVAL_SEEDS = range(10_000, 10_010)


def episode_return(env: gym.Env, act, seed: int) -> float:  # type: ignore[no-untyped-def]
    """Undiscounted return of one episode from ``env.reset(seed=seed)``."""
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(act(obs))
        total += float(reward)
        done = terminated or truncated
    return total


def bare_step_seconds(env_id: str, steps: int) -> float:
    """Seconds ``steps`` random-action env steps take (resets included)."""
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return time.perf_counter() - start


def train_expert(env_id: str, steps: int, seed: int) -> dict[str, float]:
    """Train SAC on ``env_id``, save its actor, and return what was measured."""
    env = gym.make(env_id)
    model = SAC(
        "MlpPolicy",
        env,
        learning_starts=min(10_000, steps // 4),
        seed=seed,
        device="cpu",
        verbose=0,
    )
    start = time.perf_counter()
    chunk = max(steps // 10, 1)
    done_steps = 0
    while done_steps < steps:
        n = min(chunk, steps - done_steps)
        model.learn(n, reset_num_timesteps=done_steps == 0)
        done_steps += n
        recent = [ep["r"] for ep in model.ep_info_buffer]
        print(
            f"{env_id}: {done_steps}/{steps} steps, recent return {np.mean(recent):.1f}", flush=True
        )
    train_seconds = time.perf_counter() - start

    actor = model.actor
    linears = [m for m in actor.latent_pi if isinstance(m, torch.nn.Linear)] + [actor.mu]
    layers = [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in linears]
    space = env.action_space
    eval_env = gym.make(env_id)
    provisional = ExpertInfo(env_id, 0.0, 0.0, 0, 0.0, steps, "SAC")
    save_mlp_expert(
        weights_path(env_id), layers, action_low=space.low, action_high=space.high, info=provisional
    )
    expert = MujocoExpert(eval_env)
    returns = [episode_return(eval_env, lambda o: expert(o[None])[0], s) for s in EVAL_SEEDS]
    eval_env.action_space.seed(0)
    random_returns = [
        episode_return(eval_env, lambda _o: eval_env.action_space.sample(), s) for s in EVAL_SEEDS
    ]
    info = ExpertInfo(
        env_id=env_id,
        mean_return=float(np.mean(returns)),
        std_return=float(np.std(returns)),
        episodes=len(returns),
        random_return=float(np.mean(random_returns)),
        train_steps=steps,
        algorithm="SAC",
    )
    save_mlp_expert(
        weights_path(env_id), layers, action_low=space.low, action_high=space.high, info=info
    )
    bare = bare_step_seconds(env_id, min(steps, 20_000)) * steps / min(steps, 20_000)
    return {"train_seconds": train_seconds, "ratio": train_seconds / bare}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", nargs="*", default=list(MUJOCO_EXPERT_IDS))
    parser.add_argument("--steps", type=int, default=None, help="override every env's budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (leave cores free)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    timings_file = RESULTS / "mujoco_experts.json"
    timings: dict[str, dict[str, float]] = (
        json.loads(timings_file.read_text()) if timings_file.is_file() else {}
    )
    for env_id in args.env:
        steps = args.steps or DEFAULT_STEPS.get(env_id, 150_000)
        timings[env_id] = train_expert(env_id, steps, args.seed)
        atomic_write_text(timings_file, json.dumps(timings, indent=1))
        rows = []
        for known in MUJOCO_EXPERT_IDS:
            if not weights_path(known).is_file():
                continue
            info = MujocoExpert(env_id=known).info
            ratio = timings.get(known, {}).get("ratio")
            rows.append(
                [
                    known,
                    info.algorithm,
                    f"{info.train_steps:,}",
                    f"{info.mean_return:.1f} +- {info.std_return:.1f}",
                    f"{info.random_return:.1f}",
                    "-" if ratio is None else f"{ratio:.0f}x",
                ]
            )
        write_table(
            "mujoco_experts",
            "Shipped MuJoCo experts (SAC, deterministic actor)",
            [
                "env",
                "algorithm",
                "train steps",
                "return (10 eps)",
                "random",
                "train time / bare env",
            ],
            rows,
            notes=(
                "Returns over seeds 10000-10009. Train time is a ratio to stepping the same env "
                "with random actions for the same number of steps in the same process (kept in "
                "results/mujoco_experts.json across invocations). Trained while other jobs "
                "shared the 2 cores, so the ratios are upper bounds."
            ),
        )


if __name__ == "__main__":
    main()
