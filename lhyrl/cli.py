"""The ``lhyrl`` command: ``demos``, ``train``, ``eval``, ``demo`` (the main job) and ``chat``.

``scripts/collect_demos.py``, ``scripts/train.py``, ``scripts/evaluate.py`` and
``scripts/demo.py`` call the same functions. Every training run writes a run directory
``runs/<env>__<algo>__<seed>__<time>/`` holding TensorBoard events, ``config.yaml``,
``checkpoints/``, the final ``model.pt`` and ``eval.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
import yaml
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat, configure

import lhyrl  # noqa: F401  (registers the env ids)
from lhyrl.agents import AIRL, BC, GAIL, ConstantBeta, DAgger, LinearBetaSchedule
from lhyrl.agents.checkpoint import CHECKPOINT_FILE
from lhyrl.chat import add_chat_arguments, run_chat
from lhyrl.config import ConfigError, TrainConfig, field_docs, field_types, make_config, read_yaml
from lhyrl.config import write_yaml as write_config
from lhyrl.data import (
    Demonstrations,
    collect_episodes,
    load_demonstrations,
    random_policy,
    save_demonstrations,
    save_npz,
)
from lhyrl.envs.wrappers import AbsorbAfterTermination
from lhyrl.experts import make_expert
from lhyrl.files import atomic_write_text
from lhyrl.metrics import EvalResult, evaluate_policy

# --------------------------------------------------------------------------------- helpers


def make_vec(env_id: str, num_envs: int) -> gym.vector.VectorEnv[Any, Any, Any]:
    """A vector env of ``env_id``: the native one where registered, else a sync one."""
    return gym.make_vec(env_id, num_envs=num_envs)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON atomically (temp file, then rename)."""
    atomic_write_text(path, json.dumps(data, indent=2))


def new_run_dir(config: TrainConfig) -> Path:
    """``<runs_dir>/<env>__<algo>__<seed>__<time>``, made unique if that exists already."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = (
        f"{config.env.replace('/', '-').replace(':', '-')}__{config.algo}__{config.seed}__{stamp}"
    )
    run_dir = Path(config.runs_dir) / name
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = Path(config.runs_dir) / f"{name}-{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def log_text(logger: Logger, tag: str, text: str) -> None:
    """Write a text summary (Markdown) to the logger's TensorBoard file, if it has one."""
    for output in logger.output_formats:
        if isinstance(output, TensorBoardOutputFormat):
            output.writer.add_text(tag, text, 0)
            output.writer.flush()


def reference_returns(env_id: str, *, episodes: int, seed: int) -> tuple[float, float]:
    """Mean returns of the expert and of a uniformly random policy on the evaluation seeds."""
    env = make_vec(env_id, episodes)
    expert = evaluate_policy(env, make_expert(env), n_episodes=episodes, seed=seed).mean_return
    rand = random_policy(env.single_action_space, seed=seed)
    random_return = evaluate_policy(env, rand, n_episodes=episodes, seed=seed).mean_return
    return expert, random_return


def load_demos(
    config: TrainConfig, spaces: tuple[gym.Space[Any], gym.Space[Any]]
) -> Demonstrations | None:
    """The run's demonstrations (first ``demo_episodes`` of them), checked against the env."""
    if config.demos is None:
        return None
    demos = load_demonstrations(config.demos)
    demos.check_compatible(spaces)
    if config.demo_episodes is not None:
        if config.demo_episodes > demos.n_episodes:
            raise ConfigError(
                f"demo_episodes={config.demo_episodes} but {config.demos} holds only "
                f"{demos.n_episodes} episodes"
            )
        demos.episodes = demos.episodes[: config.demo_episodes]
    return demos


# -------------------------------------------------------------------------------- commands


def collect_demos(
    *,
    env_id: str,
    episodes: int,
    out: str | os.PathLike[str],
    seed: int = 0,
    disturbance: float = 0.0,
    overwrite: bool = False,
    progress: bool = True,
) -> Demonstrations:
    """Record ``episodes`` episodes of the env's expert and save them at ``out``.

    ``out`` ending in ``.npz`` writes a plain npz file; anything else a Minari dataset
    directory. ``disturbance`` injects noise into the executed actions (DART) while the labels
    stay the expert's; see :func:`lhyrl.data.collect_episodes`.
    """
    env = make_vec(env_id, min(episodes, 64))
    expert = make_expert(env)
    recorded = collect_episodes(
        env, expert, n_episodes=episodes, seed=seed, progress=progress, disturbance=disturbance
    )
    demos = Demonstrations(
        episodes=recorded,
        observation_space=env.single_observation_space,
        action_space=env.single_action_space,
        env_id=env_id,
    )
    if str(out).endswith(".npz"):
        save_npz(out, demos, overwrite=overwrite)
    else:
        save_demonstrations(out, demos, algorithm_name="lhyrl scripted expert", overwrite=overwrite)
    return demos


def train_run(
    config: TrainConfig | None = None, *, resume: str | os.PathLike[str] | None = None
) -> Path:
    """Train an agent as ``config`` says, or finish the interrupted run in ``resume``.

    Returns:
        The run directory.
    """
    if resume is not None:
        run_dir = Path(resume)
        config = make_config(read_yaml(run_dir / "config.yaml"))
    else:
        if config is None:
            raise ValueError("give a config or a run directory to resume")
        run_dir = new_run_dir(config)
        write_config(run_dir / "config.yaml", config)
    logger = configure(str(run_dir), ["tensorboard", "csv"])
    if resume is None:
        log_text(
            logger,
            "config",
            "```yaml\n" + yaml.safe_dump(config.to_dict(), sort_keys=False) + "```",
        )
    probe = gym.make(config.env)
    spaces = (probe.observation_space, probe.action_space)
    demos = load_demos(config, spaces)
    bc = BC(
        observation_space=spaces[0],
        action_space=spaces[1],
        demonstrations=demos if config.algo == "bc" or config.warm_start else None,
        batch_size=config.batch_size,
        ent_weight=config.ent_weight,
        l2_weight=config.l2_weight,
        policy_kwargs={"net_arch": list(config.net_arch)},
        learning_rate=config.learning_rate,
        seed=config.seed,
        device=config.device,
        logger=logger,
    )
    checkpoints = run_dir / "checkpoints"
    checkpoints.mkdir(exist_ok=True)
    start = time.perf_counter()
    if config.algo == "bc":
        agent: BC | DAgger = bc
        if resume is not None and (checkpoints / CHECKPOINT_FILE).exists():
            bc.resume(checkpoints)
        bc.train(
            n_epochs=config.epochs,
            checkpoint_dir=checkpoints,
            checkpoint_every=config.checkpoint_every,
        )
        expert_episodes = demos.n_episodes if demos else 0
        expert_labels = demos.n_steps if demos else 0
        env_steps = 0
    elif config.algo in ("gail", "airl"):
        assert demos is not None  # the config refuses gail/airl without demos
        trainer = make_adversarial(config, demos, bc=bc, logger=logger)
        if resume is not None and (checkpoints / CHECKPOINT_FILE).exists():
            trainer.resume(checkpoints)
        trainer.train(
            config.total_timesteps,
            checkpoint_dir=checkpoints,
            checkpoint_every=config.checkpoint_every,
        )
        trainer.save_reward_net(run_dir / "reward_net.pt")
        # The generator's policy is an ActorCriticPolicy: a BC agent file holds it, so that
        # `lhyrl eval` and BC.load read every run's model.pt the same way.
        bc.policy.load_state_dict(trainer.policy.state_dict())
        agent = bc
        expert_episodes, expert_labels = demos.n_episodes, demos.n_steps
        env_steps = trainer.gen_algo.num_timesteps
    else:
        env = make_vec(config.env, config.episodes_per_round)
        beta = (
            LinearBetaSchedule(config.beta_rampdown_rounds)
            if config.beta_rampdown_rounds > 0
            else ConstantBeta(config.beta)
        )
        dagger = DAgger(
            env=env,
            expert=make_expert(env),
            bc=bc,
            beta_schedule=beta,
            initial_demonstrations=demos,
            seed=config.seed,
            logger=logger,
        )
        agent = dagger
        if resume is not None and (checkpoints / CHECKPOINT_FILE).exists():
            dagger.resume(checkpoints)
        dagger.train(
            n_rounds=config.rounds,
            episodes_per_round=config.episodes_per_round,
            bc_epochs=config.epochs,
            checkpoint_dir=checkpoints,
            checkpoint_every=config.checkpoint_every,
        )
        expert_episodes, expert_labels = dagger.expert_episodes, dagger.expert_labels
        env_steps = expert_labels - (demos.n_steps if demos else 0)  # the learner's own steps
    train_seconds = time.perf_counter() - start
    agent.save(run_dir / "model.pt")
    result = evaluate_run(run_dir, agent=bc)
    write_json(
        run_dir / "eval.json",
        {
            "env": config.env,
            "algo": config.algo,
            "seed": config.seed,
            **result.to_dict(),
            "expert_episodes": expert_episodes,
            "expert_labels": expert_labels,
            "train_seconds": train_seconds,
            "updates": bc.num_updates,
            "env_steps": env_steps,
        },
    )
    return run_dir


def make_adversarial(
    config: TrainConfig, demos: Demonstrations, *, bc: BC, logger: Logger
) -> GAIL | AIRL:
    """The GAIL or AIRL trainer ``config`` describes, its PPO generator shaped like ``bc``.

    With ``config.warm_start``, ``bc`` is first trained on ``demos`` for ``config.epochs``
    epochs and its weights start the generator.
    """
    venv = make_vec_env(
        config.env,
        n_envs=config.n_envs,
        seed=config.seed,
        wrapper_class=partial(AbsorbAfterTermination, horizon=config.absorb_horizon)
        if config.absorb_horizon
        else None,
    )
    if config.warm_start:
        bc.train(n_epochs=config.epochs)
    gen_kwargs = {
        "n_steps": config.gen_n_steps,
        "batch_size": config.gen_batch_size,
        "learning_rate": config.gen_learning_rate,
        "ent_coef": config.gen_ent_coef,
        "gamma": config.gen_gamma,
        "policy_kwargs": {"net_arch": list(config.net_arch)},
        "device": config.device,
    }
    common: dict[str, Any] = {
        "demonstrations": demos,
        "venv": venv,
        "gen_kwargs": gen_kwargs,
        "warm_start": bc if config.warm_start else None,
        "demo_batch_size": config.disc_batch_size,
        "n_disc_updates_per_round": config.disc_updates_per_round,
        "disc_lr": config.disc_lr,
        "disc_loss": config.disc_loss,
        "grad_penalty": config.grad_penalty,
        "label_smoothing": config.label_smoothing,
        "input_noise": config.input_noise,
        "spectral_norm": config.spectral_norm,
        "normalize_input": config.disc_normalize_input,
        "normalize_reward": config.normalize_reward,
        "gen_warmup_rounds": config.gen_warmup_rounds,
        "seed": config.seed,
        "logger": logger,
    }
    if config.algo == "airl":
        return AIRL(
            state_only=config.state_only,
            generator_reward=config.airl_generator_reward,
            **common,
        )
    return GAIL(**common)


def evaluate_run(
    run_dir: str | os.PathLike[str],
    *,
    agent: BC | None = None,
    episodes: int | None = None,
    seed: int | None = None,
) -> EvalResult:
    """Evaluate a run's model (or ``agent``) against the expert and a random policy."""
    run_dir = Path(run_dir)
    config = make_config(read_yaml(run_dir / "config.yaml"))
    episodes = config.eval_episodes if episodes is None else episodes
    seed = config.eval_seed if seed is None else seed
    if agent is None:
        agent = BC.load(run_dir / "model.pt", device=config.device)
    expert_return, random_return = reference_returns(config.env, episodes=episodes, seed=seed)
    env = make_vec(config.env, episodes)
    return agent.evaluate(
        env,
        n_episodes=episodes,
        seed=seed,
        random_return=random_return,
        expert_return=expert_return,
    )


# -------------------------------------------------------------------------------- the CLI


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    docs = field_docs()
    for name, hint in field_types().items():
        flag = "--" + name.replace("_", "-")
        if hint is list[int]:
            parser.add_argument(flag, type=int, nargs="+", default=None, help=docs.get(name))
        elif hint is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=docs.get(name)
            )
        else:
            parser.add_argument(flag, type=hint, default=None, help=docs.get(name))


def build_parser() -> argparse.ArgumentParser:
    """The ``lhyrl`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="lhyrl", description="Record demonstrations, train and evaluate imitation agents."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demos = commands.add_parser("demos", help="record expert demonstrations")
    demos.add_argument("--env", default="lhyrl/Driving-v0", help="env id")
    demos.add_argument("--episodes", type=int, default=20, help="episodes to record")
    demos.add_argument("--out", required=True, help="Minari dataset directory, or a .npz file")
    demos.add_argument("--seed", type=int, default=0, help="seed of the first env")
    demos.add_argument(
        "--disturbance",
        type=float,
        default=0.0,
        help="DART noise on executed actions (labels stay clean)",
    )
    demos.add_argument("--overwrite", action="store_true", help="replace an existing dataset")

    train = commands.add_parser("train", help="train an agent; writes a run directory")
    train.add_argument("--config", help="YAML file of config keys (flags override it)")
    train.add_argument("--resume", metavar="RUN_DIR", help="finish an interrupted run")
    _add_config_flags(train)

    evaluate = commands.add_parser("eval", help="evaluate a run's model")
    evaluate.add_argument("run_dir", help="a run directory written by `lhyrl train`")
    evaluate.add_argument("--episodes", type=int, default=None, help="episodes (default: run's)")
    evaluate.add_argument("--seed", type=int, default=None, help="seed (default: run's)")

    demo = commands.add_parser("demo", help="the main job: demos, BC, DAgger, a results table")
    demo.add_argument("--runs-dir", default="runs", help="where runs and demonstrations go")
    demo.add_argument("--seed", type=int, default=0, help="seed of everything")

    chat = commands.add_parser("chat", help="talk to a trained chat model in the terminal")
    add_chat_arguments(chat)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lhyrl`` command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    try:
        if args.command == "demos":
            demos = collect_demos(
                env_id=args.env,
                episodes=args.episodes,
                out=args.out,
                seed=args.seed,
                disturbance=args.disturbance,
                overwrite=args.overwrite,
            )
            print(
                f"{demos.n_episodes} episodes, {demos.n_steps} steps, "
                f"mean return {demos.mean_return:.1f} -> {args.out}"
            )
        elif args.command == "train":
            if args.resume:
                run_dir = train_run(resume=args.resume)
            else:
                values = read_yaml(args.config) if args.config else {}
                values.update(
                    {k: v for k, v in vars(args).items() if k in field_types() and v is not None}
                )
                run_dir = train_run(make_config(values))
            print(json.dumps(json.loads((run_dir / "eval.json").read_text()), indent=2))
            print(f"run directory: {run_dir}  (tensorboard --logdir {run_dir.parent})")
        elif args.command == "eval":
            result = evaluate_run(args.run_dir, episodes=args.episodes, seed=args.seed)
            print(json.dumps(result.to_dict(), indent=2))
        elif args.command == "demo":
            from lhyrl.demo import run_demo

            run_demo(runs_dir=args.runs_dir, seed=args.seed)
        elif args.command == "chat":
            return run_chat(args)
    except (ValueError, TypeError, FileNotFoundError, gym.error.Error) as err:
        if os.environ.get("LHYRL_DEBUG"):
            raise
        print(f"lhyrl {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
