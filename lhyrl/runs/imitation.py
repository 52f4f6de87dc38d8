"""The imitation family of runs: BC, DAgger, GAIL, AIRL, third-person GAIL and MaxEnt IRL.

Demonstrations come from ``demos`` (a Minari dataset or an ``.npz``); evaluation runs the
learned policy on ``eval_episodes`` fixed seeds and reports the return, normalized between a
random policy (0) and the env's expert (1) where an expert is known.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger

from lhyrl.agents import (
    AIRL,
    BC,
    GAIL,
    ConstantBeta,
    DAgger,
    LinearBetaSchedule,
    MaxEntIRL,
    ThirdPersonGAIL,
)
from lhyrl.agents.adversarial import GENERATOR_NET_ARCH
from lhyrl.agents.base import DEFAULT_NET_ARCH
from lhyrl.agents.third_person_gail import FRAMES_HINT
from lhyrl.config import ConfigError, RunConfig
from lhyrl.data import (
    Demonstrations,
    check_demonstrations_path,
    collect_episodes,
    load_demonstrations,
    random_policy,
    save_demonstrations,
    save_npz,
)
from lhyrl.envs.wrappers import AbsorbAfterTermination, ContinueAfterTermination
from lhyrl.metrics import EvalResult, evaluate_policy
from lhyrl.runs.common import MODEL_FILE, Built, Evaluation
from lhyrl.runs.experts import describe_expert, resolve_expert
from lhyrl.runs.video import episode_frames, renders_frames

__all__ = ["collect_demos", "evaluate_saved", "prepare", "reference_returns"]

ADVERSARIAL = ("gail", "airl", "third-person-gail")
"""The algorithms trained by an adversarial trainer with a PPO generator."""


def make_vec(env_id: str, num_envs: int) -> gym.vector.VectorEnv[Any, Any, Any]:
    """A vector env of ``env_id``: the native one where registered, else a sync one."""
    return gym.make_vec(env_id, num_envs=num_envs)


def reference_returns(
    env_id: str, *, episodes: int, seed: int, expert: str | None = None
) -> tuple[float, float]:
    """Mean returns of the expert and of a uniformly random policy on the evaluation seeds.

    Args:
        env_id: The env.
        episodes: Evaluation episodes.
        seed: Seed of the first episode.
        expert: An expert file (:func:`lhyrl.runs.experts.load_expert`); ``None``: the
            env's shipped expert.

    Raises:
        ValueError: If ``expert`` is ``None`` and no expert is known for the env.
    """
    env = make_vec(env_id, episodes)
    resolve_expert(expert, env)  # refuses an env without an expert
    expert_return, random_return = _reference_returns(
        env, episodes=episodes, seed=seed, expert=expert
    )
    assert expert_return is not None
    return expert_return, random_return


def _reference_returns(
    env: gym.vector.VectorEnv[Any, Any, Any], *, episodes: int, seed: int, expert: str | None
) -> tuple[float | None, float]:
    """The expert's mean return (None where no expert is known) and a random policy's."""
    rand = random_policy(env.single_action_space, seed=seed)
    random_return = evaluate_policy(env, rand, n_episodes=episodes, seed=seed).mean_return
    try:
        policy = resolve_expert(expert, env)
    except ValueError:
        if expert is not None:  # a file the user named must work
            raise
        return None, random_return  # no expert is known for this env
    return evaluate_policy(env, policy, n_episodes=episodes, seed=seed).mean_return, random_return


def load_demos(
    config: RunConfig, spaces: tuple[gym.Space[Any], gym.Space[Any]]
) -> Demonstrations | None:
    """The run's demonstrations (first ``demo_episodes`` of them), checked against the env."""
    section = config.demonstrations
    if section.demos is None:
        if config.algo != "dagger":
            raise ConfigError(
                f"{config.algo} needs demonstrations: set demos (a dataset directory or .npz)"
            )
        return None
    demos = load_demonstrations(section.demos)
    demos.check_compatible(spaces)
    if section.demo_episodes is not None:
        if section.demo_episodes > demos.n_episodes:
            raise ConfigError(
                f"demo_episodes={section.demo_episodes} but {section.demos} holds only "
                f"{demos.n_episodes} episodes"
            )
        demos.episodes = demos.episodes[: section.demo_episodes]
    if config.algo == "third-person-gail" and any(ep.frames is None for ep in demos.episodes):
        raise ConfigError(
            f"third-person-gail reads the demonstrations' frames, and {section.demos} holds "
            f"none; {FRAMES_HINT}"
        )
    return demos


# -------------------------------------------------------------------------------- commands


def collect_demos(
    *,
    env_id: str,
    episodes: int,
    out: str | os.PathLike[str],
    seed: int = 0,
    disturbance: float = 0.0,
    expert: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    frames: str | None = None,
    frame_size: int = 32,
) -> Demonstrations:
    """Record ``episodes`` episodes of an expert and save them at ``out``.

    ``out`` ending in ``.npz`` writes a plain npz file; anything else a Minari dataset
    directory; a taken ``out`` is refused before anything is recorded. ``expert`` names an
    expert file (:func:`lhyrl.runs.experts.load_expert`: an SB3 model zip, an lhyrl agent
    file, ``module:callable``); ``None`` records the env's shipped expert. ``disturbance``
    injects noise into the executed actions (DART) while the labels stay the expert's; see
    :func:`lhyrl.data.collect_episodes`. ``frames`` (``"first-person"`` or
    ``"third-person"``) also records ``frame_size``-pixel pictures of every step as that
    domain sees it (:class:`lhyrl.envs.third_person.DomainFrames`), one env at a time, into an
    ``.npz`` file.

    Raises:
        FileExistsError: If ``out`` is taken and ``overwrite`` is false.
        ValueError: If no expert is given and lhyrl knows none for the env, or frames are
            asked of an env without views or for an ``out`` that is not ``.npz``.
    """
    check_demonstrations_path(out, overwrite=overwrite)
    if frames is not None:
        from lhyrl.envs.third_person import DomainFrames, domain_view

        view = domain_view(env_id, frames)  # checked before anything is recorded
        if not str(out).endswith(".npz"):
            raise ValueError(f"demonstrations with frames go to an .npz file, got --out {out}")
        single = DomainFrames(gym.make(env_id), view, size=frame_size)
        policy = resolve_expert(expert, single)
        recorded = collect_episodes(
            single,
            policy,
            n_episodes=episodes,
            seed=seed,
            progress=progress,
            disturbance=disturbance,
            record_frames=True,
        )
        spaces = (single.observation_space, single.action_space)
        single.close()
    else:
        env = make_vec(env_id, min(episodes, 64))
        policy = resolve_expert(expert, env)
        recorded = collect_episodes(
            env, policy, n_episodes=episodes, seed=seed, progress=progress, disturbance=disturbance
        )
        spaces = (env.single_observation_space, env.single_action_space)
    demos = Demonstrations(
        episodes=recorded, observation_space=spaces[0], action_space=spaces[1], env_id=env_id
    )
    if str(out).endswith(".npz"):
        save_npz(out, demos, overwrite=overwrite)
    else:
        name = "lhyrl shipped expert" if expert is None else f"expert {expert}"
        save_demonstrations(out, demos, algorithm_name=name, overwrite=overwrite)
    return demos


class _Evaluator:
    """Evaluations of a policy on fixed seeds, normalized between a random policy and a reference.

    The reference is the env's expert where one is known (run on the same seeds), else the
    demonstrations' mean return; without either, only the raw return is reported.
    """

    def __init__(
        self,
        env_id: str,
        *,
        episodes: int,
        seed: int,
        demo_return: float | None,
        expert: str | None = None,
    ) -> None:
        self.episodes = episodes
        self.seed = seed
        self.env = make_vec(env_id, episodes)
        self.expert_return, self.random_return = _reference_returns(
            self.env, episodes=episodes, seed=seed, expert=expert
        )
        self.reference = describe_expert(expert)
        if self.expert_return is None:
            self.expert_return = demo_return
            self.reference = "none" if demo_return is None else "demonstrations"

    def __call__(self, policy: Any) -> Evaluation:
        result = evaluate_policy(
            self.env,
            policy,
            n_episodes=self.episodes,
            seed=self.seed,
            random_return=self.random_return,
            expert_return=self.expert_return,
        )
        evaluation = _evaluation(result)
        evaluation.report.update(
            {
                "reference": self.reference,
                "reference_return": self.expert_return,
                "random_return": self.random_return,
            }
        )
        return evaluation


def _evaluation(result: EvalResult) -> Evaluation:
    scalars = {
        "return": result.mean_return,
        "return_std": result.std_return,
        "length": result.mean_length,
    }
    if result.normalized_return is not None:
        scalars["normalized_return"] = result.normalized_return
    return Evaluation(scalars=scalars, report=result.to_dict())


@dataclass
class PreparedImitation:
    """An imitation run's checked inputs: the config, the env's spaces, the demonstrations."""

    config: RunConfig
    spaces: tuple[gym.Space[Any], gym.Space[Any]]
    demos: Demonstrations | None

    def build(self, logger: Logger, run_dir: Path) -> Built:
        """The trainer of ``config.algo``, and how the run saves, evaluates and films it."""
        built, policy = self._build(logger)
        if self.config.video_every > 0 and renders_frames(self.config.env):
            built.film = lambda: episode_frames(
                self.config.env, policy(), seed=self.config.eval_seed
            )
        return built

    def _build(self, logger: Logger) -> tuple[Built, Callable[[], Any]]:
        """The run's :class:`Built`, and what its evaluation acts with."""
        config, demos = self.config, self.demos
        evaluator: list[_Evaluator] = []  # made on the first evaluation

        def evaluate(policy: Any) -> Evaluation:
            if not evaluator:
                evaluator.append(
                    _Evaluator(
                        config.env,
                        episodes=config.eval_episodes,
                        seed=config.eval_seed,
                        demo_return=demos.mean_return if demos else None,
                        expert=config.demonstrations.expert,
                    )
                )
            return evaluator[0](policy)

        if config.algo == "maxent-irl":
            assert demos is not None  # load_demos refuses maxent-irl without demos
            section = config.maxent_irl
            irl = MaxEntIRL.from_env(
                gym.make(config.env),
                demonstrations=demos,
                reward=section.maxent_reward,
                learning_rate=section.maxent_learning_rate,
                seed=config.seed,
                logger=logger,
            )
            built = Built(
                trainer=irl,
                save=lambda path: irl.save(path),
                evaluate=lambda: evaluate(irl),
                summary=lambda: _counts(demos, updates=irl.num_updates, env_steps=0),
            )
            return built, lambda: irl
        bc = _make_bc(config, self.spaces, demos, logger)
        if config.algo == "bc":
            built = Built(
                trainer=bc,
                save=lambda path: bc.save(path),
                evaluate=lambda: evaluate(bc.policy),
                summary=lambda: _counts(demos, updates=bc.num_updates, env_steps=0),
            )
            return built, lambda: bc.policy
        if config.algo in ADVERSARIAL:
            assert demos is not None  # load_demos refuses gail/airl without demos
            adversarial = make_adversarial(config, demos, bc=bc, logger=logger)

            def save_adversarial(path: Path) -> None:
                adversarial.save_reward_net(path.parent / "reward_net.pt")
                # The generator's policy is an ActorCriticPolicy: a BC agent file holds it,
                # so `lhyrl eval` and BC.load read every run's model.pt the same way.
                bc.policy.load_state_dict(adversarial.policy.state_dict())
                bc.save(path)

            built = Built(
                trainer=adversarial,
                save=save_adversarial,
                evaluate=lambda: evaluate(adversarial.policy),
                summary=lambda: _counts(
                    demos,
                    updates=int(getattr(adversarial.gen_algo, "_n_updates", 0)),
                    env_steps=int(adversarial.gen_algo.num_timesteps),
                ),
                close=adversarial.venv.close,
            )
            return built, lambda: adversarial.policy
        dagger = _make_dagger(config, bc, demos, logger)
        initial_steps = demos.n_steps if demos else 0
        built = Built(
            trainer=dagger,
            save=lambda path: dagger.save(path),
            evaluate=lambda: evaluate(bc.policy),
            summary=lambda: {
                "expert_episodes": dagger.expert_episodes,
                "expert_labels": dagger.expert_labels,
                "updates": bc.num_updates,
                "env_steps": dagger.expert_labels - initial_steps,  # the learner's own steps
            },
        )
        return built, lambda: bc.policy


def _counts(demos: Demonstrations | None, *, updates: int, env_steps: int) -> dict[str, Any]:
    return {
        "expert_episodes": demos.n_episodes if demos else 0,
        "expert_labels": demos.n_steps if demos else 0,
        "updates": updates,
        "env_steps": env_steps,
    }


def prepare(config: RunConfig) -> PreparedImitation:
    """Check an imitation run's env, demonstrations and objective; writes nothing."""
    if config.algo == "airl":
        try:
            AIRL.check_objective(config.adversarial.disc_loss)
        except ValueError as err:
            raise ConfigError(str(err)) from err
    if config.algo == "third-person-gail":
        from lhyrl.envs.third_person import domain_view

        try:
            for domain in (config.third_person.demos_domain, config.third_person.learner_domain):
                domain_view(config.env, domain)
        except ValueError as err:
            raise ConfigError(f"third-person-gail: {err}") from err
        if config.adversarial.disc_normalize_input:
            raise ConfigError(
                "third-person-gail reads pictures: disc_normalize_input must be false"
            )
    probe = gym.make(config.env)
    spaces = (probe.observation_space, probe.action_space)
    probe.close()
    return PreparedImitation(config=config, spaces=spaces, demos=load_demos(config, spaces))


def policy_net_arch(config: RunConfig) -> list[int]:
    """The policy's hidden layers: ``net_arch``, else the algorithm's default.

    BC and DAgger default to :data:`~lhyrl.agents.base.DEFAULT_NET_ARCH`, GAIL/AIRL's
    generator to :data:`~lhyrl.agents.adversarial.GENERATOR_NET_ARCH`; the BC agent that
    warm-starts a generator, or holds its policy in ``model.pt``, has the generator's layers.
    """
    if config.bc.net_arch is not None:
        return list(config.bc.net_arch)
    return list(GENERATOR_NET_ARCH if config.algo in ADVERSARIAL else DEFAULT_NET_ARCH)


def _make_bc(
    config: RunConfig,
    spaces: tuple[gym.Space[Any], gym.Space[Any]],
    demos: Demonstrations | None,
    logger: Logger,
) -> BC:
    section = config.bc
    clones = config.algo == "bc" or (config.algo in ADVERSARIAL and config.adversarial.warm_start)
    return BC(
        observation_space=spaces[0],
        action_space=spaces[1],
        demonstrations=demos if clones else None,
        batch_size=section.batch_size,
        ent_weight=section.ent_weight,
        l2_weight=section.l2_weight,
        policy_kwargs={"net_arch": policy_net_arch(config)},
        learning_rate=section.learning_rate,
        seed=config.seed,
        device=config.device,
        logger=logger,
    )


def _make_dagger(config: RunConfig, bc: BC, demos: Demonstrations | None, logger: Logger) -> DAgger:
    section = config.dagger
    env = make_vec(config.env, section.episodes_per_round)
    beta = (
        LinearBetaSchedule(section.beta_rampdown_rounds)
        if section.beta_rampdown_rounds > 0
        else ConstantBeta(section.beta)
    )
    return DAgger(
        env=env,
        expert=resolve_expert(config.demonstrations.expert, env),
        bc=bc,
        beta_schedule=beta,
        initial_demonstrations=demos,
        episodes_per_round=section.episodes_per_round,
        bc_epochs=config.bc.epochs,
        seed=config.seed,
        logger=logger,
    )


def generator_kwargs(config: RunConfig) -> dict[str, Any]:
    """The ``gen_kwargs`` of a GAIL/AIRL run: its PPO generator's settings from ``config``."""
    section = config.adversarial
    return {
        "n_steps": section.gen_n_steps,
        "batch_size": section.gen_batch_size,
        "learning_rate": section.gen_learning_rate,
        "ent_coef": section.gen_ent_coef,
        "gamma": section.gen_gamma,
        "policy_kwargs": {"net_arch": policy_net_arch(config)},
        "device": config.device,
    }


def make_adversarial(
    config: RunConfig, demos: Demonstrations, *, bc: BC, logger: Logger
) -> GAIL | AIRL:
    """The GAIL, AIRL or third-person GAIL trainer of ``config``, its generator shaped like ``bc``.

    With ``warm_start``, ``bc`` is first trained on ``demos`` for ``epochs`` epochs and its
    weights start the generator. Third-person GAIL's learner env renders frames in
    ``learner_domain``, of the demonstrations' size, and ``failure_episodes`` episodes of a
    random policy are recorded in ``demos_domain`` (seeded by the run's seed).
    """
    section = config.adversarial
    wrappers: list[Callable[[gym.Env[Any, Any]], gym.Env[Any, Any]]] = []
    if section.absorb_horizon:
        wrappers.append(partial(AbsorbAfterTermination, horizon=section.absorb_horizon))
    frame_size = 0
    if config.algo == "third-person-gail":
        from lhyrl.envs.third_person import DomainFrames

        frames = demos.episodes[0].frames
        assert frames is not None  # load_demos refuses demonstrations without frames
        frame_size = int(frames.shape[1])
        domain = config.third_person.learner_domain
        wrappers.append(partial(DomainFrames, view=domain, size=frame_size))
    venv = make_vec_env(
        # inside SB3's Monitor, which refuses a step after termination
        partial(_continuing, config.env, section.continue_horizon)
        if section.continue_horizon
        else config.env,
        n_envs=section.n_envs,
        seed=config.seed,
        wrapper_class=partial(_wrapped, wrappers=wrappers) if wrappers else None,
    )
    if section.warm_start:
        bc.train(n_epochs=config.bc.epochs)
    common: dict[str, Any] = {
        "demonstrations": demos,
        "venv": venv,
        "gen_kwargs": generator_kwargs(config),
        "warm_start": bc if section.warm_start else None,
        "demo_batch_size": section.disc_batch_size,
        "n_disc_updates_per_round": section.disc_updates_per_round,
        "disc_lr": section.disc_lr,
        "disc_loss": section.disc_loss,
        "grad_penalty": section.grad_penalty,
        "label_smoothing": section.label_smoothing,
        "input_noise": section.input_noise,
        "spectral_norm": section.spectral_norm,
        "replay_ratio": section.replay_ratio,
        "replay_capacity": section.replay_capacity,
        "ensemble_size": section.ensemble_size,
        "ensemble_reward": section.ensemble_reward,
        "normalize_reward": section.normalize_reward,
        "gen_warmup_rounds": section.gen_warmup_rounds,
        "seed": config.seed,
        "device": config.device,
        "logger": logger,
    }
    if config.algo == "airl":
        return AIRL(
            state_only=section.state_only,
            generator_reward=section.airl_generator_reward,
            normalize_input=section.disc_normalize_input,
            **common,
        )
    if config.algo == "third-person-gail":
        tp = config.third_person
        failures_in = partial(
            record_failures,
            config.env,
            frame_size=frame_size,
            episodes=tp.failure_episodes,
            continue_horizon=section.continue_horizon,
        )
        return ThirdPersonGAIL(
            failure_demonstrations=failures_in(tp.demos_domain, seed=config.seed),
            own_failure_demonstrations=(
                failures_in(tp.learner_domain, seed=config.seed + 1)
                if tp.domain_on_failures
                else None
            ),
            failure_ratio=tp.failure_ratio if tp.failure_episodes else 0.0,
            domain_confusion=tp.domain_confusion,
            domain_loss_weight=tp.domain_loss_weight,
            reversal=tp.reversal,
            frame_channels=tuple(tp.frame_channels),
            frame_features=tp.frame_features,
            **common,
        )
    return GAIL(normalize_input=section.disc_normalize_input, **common)


def _wrapped(
    env: gym.Env[Any, Any], *, wrappers: list[Callable[[gym.Env[Any, Any]], gym.Env[Any, Any]]]
) -> gym.Env[Any, Any]:
    for wrapper in wrappers:
        env = wrapper(env)
    return env


def _continuing(env_id: str, horizon: int, **kwargs: Any) -> gym.Env[Any, Any]:
    """``env_id`` made, and run on after termination for ``horizon`` steps (0: as it is)."""
    env = gym.make(env_id, **kwargs)
    return ContinueAfterTermination(env, horizon=horizon) if horizon else env


def record_failures(
    env_id: str,
    domain: str,
    frame_size: int,
    episodes: int,
    *,
    seed: int,
    continue_horizon: int = 0,
) -> Demonstrations | None:
    """``episodes`` episodes of a uniformly random policy with frames in ``domain``, or None.

    Third-person GAIL's failures: negatives of the discriminator from the expert's domain.
    With ``continue_horizon``, each lasts that many steps, the env running on after it
    terminates (as the learner's episodes do).
    """
    if episodes == 0:
        return None
    from lhyrl.envs.third_person import DomainFrames

    env = DomainFrames(_continuing(env_id, continue_horizon), domain, size=frame_size)
    recorded = collect_episodes(
        env,
        random_policy(env.action_space, seed=seed + 1),
        n_episodes=episodes,
        seed=seed + 50_000,
        progress=False,
        record_frames=True,
    )
    env.close()
    return Demonstrations(
        episodes=recorded,
        observation_space=env.observation_space,
        action_space=env.action_space,
        env_id=env_id,
    )


def evaluate_saved(
    run_dir: str | os.PathLike[str], config: RunConfig, *, episodes: int, seed: int
) -> Evaluation:
    """Score a finished run's ``model.pt`` on ``episodes`` episodes from ``seed``."""
    model = Path(run_dir) / MODEL_FILE
    if config.algo == "maxent-irl":
        policy: Any = MaxEntIRL.load(model)
    else:
        policy = BC.load(model, device=config.device).policy
    try:
        demos = load_demos(config, (policy.observation_space, policy.action_space))
    except (ValueError, FileNotFoundError):  # moved or deleted since training
        demos = None
    demo_return = demos.mean_return if demos else None
    evaluator = _Evaluator(
        config.env,
        episodes=episodes,
        seed=seed,
        demo_return=demo_return,
        expert=config.demonstrations.expert,
    )
    return evaluator(policy)
