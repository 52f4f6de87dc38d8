"""One GAIL or AIRL run of the ``imitation`` library (1.0.1), for ``imitation_speed.py``.

Runs in the separate virtualenv that ``imitation_speed.py`` creates (imitation 1.0.1 needs
gymnasium 0.29 and Stable-Baselines3 2.2), so it imports nothing of lhyrl. It reads the same
``.npz`` demonstrations as lhyrl (flat per-step arrays: ``obs``, ``acts``, ``next_obs``,
``dones``), trains with the settings of imitation's own documentation examples for GAIL and
AIRL on CartPole, evaluates the policy after every round whose env-step count crosses a
multiple of ``--eval-every`` (the clock is paused while it evaluates), and writes the curve as
JSON: ``[{"env_steps", "train_seconds", "mean_return"}, ...]``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from imitation.algorithms.adversarial.airl import AIRL
from imitation.algorithms.adversarial.gail import GAIL
from imitation.data.types import Trajectory
from imitation.rewards.reward_nets import BasicRewardNet, BasicShapedRewardNet
from imitation.util.networks import RunningNorm
from speed_eval import evaluate
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.ppo import MlpPolicy


def trajectories(path: str) -> list[Trajectory]:
    """The episodes of a flat ``.npz`` file as imitation's trajectories."""
    with np.load(path, allow_pickle=False) as data:
        obs, acts, next_obs, dones = data["obs"], data["acts"], data["next_obs"], data["dones"]
        terminated = data.get("terminated", dones)
    out, start = [], 0
    for end in np.flatnonzero(dones):
        episode_obs = np.concatenate([obs[start : end + 1], next_obs[end : end + 1]])
        out.append(
            Trajectory(
                obs=episode_obs,
                acts=acts[start : end + 1],
                infos=None,
                terminal=bool(terminated[end]),
            )
        )
        start = end + 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", choices=("gail", "airl"), required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--demos", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--total", type=int, required=True, help="env steps")
    parser.add_argument("--eval-every", type=int, required=True, help="env steps")
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--eval-seed", type=int, default=10_000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)

    rng = np.random.default_rng(args.seed)
    venv = make_vec_env(args.env, n_envs=8, seed=args.seed)
    # imitation's documentation examples (GAIL and AIRL on CartPole), as a user copies them
    if args.algo == "gail":
        learner = PPO(
            env=venv,
            policy=MlpPolicy,
            batch_size=64,
            ent_coef=0.0,
            learning_rate=0.0004,
            gamma=0.95,
            n_epochs=5,
            seed=args.seed,
        )
        reward_net = BasicRewardNet(
            venv.observation_space, venv.action_space, normalize_input_layer=RunningNorm
        )
        trainer: GAIL | AIRL = GAIL(
            demonstrations=trajectories(args.demos),
            demo_batch_size=1024,
            gen_replay_buffer_capacity=512,
            n_disc_updates_per_round=8,
            venv=venv,
            gen_algo=learner,
            reward_net=reward_net,
            allow_variable_horizon=True,
        )
    else:
        learner = PPO(
            env=venv,
            policy=MlpPolicy,
            batch_size=64,
            ent_coef=0.0,
            learning_rate=0.0005,
            gamma=0.95,
            clip_range=0.1,
            vf_coef=0.1,
            n_epochs=5,
            seed=args.seed,
        )
        reward_net = BasicShapedRewardNet(
            venv.observation_space, venv.action_space, normalize_input_layer=RunningNorm
        )
        trainer = AIRL(
            demonstrations=trajectories(args.demos),
            demo_batch_size=2048,
            gen_replay_buffer_capacity=512,
            n_disc_updates_per_round=16,
            venv=venv,
            gen_algo=learner,
            reward_net=reward_net,
            allow_variable_horizon=True,
        )
    del rng
    curve: list[dict[str, float]] = []
    clock = {"train": 0.0, "since": time.perf_counter(), "next_eval": args.eval_every}

    def after_round(round_number: int) -> None:
        steps = (round_number + 1) * trainer.gen_train_timesteps
        if steps < clock["next_eval"]:
            return
        clock["train"] += time.perf_counter() - clock["since"]
        while clock["next_eval"] <= steps:
            clock["next_eval"] += args.eval_every
        mean = evaluate(learner.policy, args.env, args.eval_episodes, args.eval_seed)
        curve.append({"env_steps": steps, "train_seconds": clock["train"], "mean_return": mean})
        print(json.dumps(curve[-1]), flush=True)
        clock["since"] = time.perf_counter()

    trainer.train(args.total, callback=after_round)
    with open(args.out, "w") as f:
        json.dump(curve, f)


if __name__ == "__main__":
    main()
