"""Config sections of the imitation algorithms: demonstrations, BC, DAgger, GAIL/AIRL, MaxEnt IRL.

Third-person GAIL reads GAIL's section and its own (``third_person``).

Each section is a dataclass whose fields are config keys (flat in YAML files and on the command
line); the string under a field is its documentation and its ``--help`` text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lhyrl.config.base import ConfigError, check_at_least
from lhyrl.config.discriminator import DiscriminatorConfig


@dataclass
class DemonstrationsConfig:
    """The expert demonstrations an imitation algorithm learns from."""

    demos: str | None = None
    """Demonstrations: a Minari dataset directory or an .npz file."""
    demo_episodes: int | None = None
    """Use only the first this many episodes of the demonstrations."""
    expert: str | None = None
    """Expert policy: a Stable-Baselines3 model .zip, an lhyrl agent file or run directory,
    or module:callable (a batched policy). It labels DAgger's states and is the reference of
    the normalized return (default: the env's shipped expert, else the demonstrations)."""


@dataclass
class BCConfig:
    """Behavior cloning (and the policy every imitation algorithm shares)."""

    net_arch: list[int] | None = None
    """Hidden layer sizes of the policy (and value) network (default: 256-256 for BC and
    DAgger, 64-64 for the GAIL/AIRL generator, which reached 0.95 of the expert in as many
    env steps for less CPU on small tasks; a warm start's BC takes the generator's)."""
    learning_rate: float = 1e-3
    """Adam learning rate."""
    batch_size: int = 64
    """BC minibatch size."""
    ent_weight: float = 1e-3
    """Weight of BC's entropy bonus."""
    l2_weight: float = 0.0
    """Weight of BC's L2 penalty on the policy parameters."""
    epochs: int = 60
    """BC epochs (DAgger: after each round; GAIL/AIRL: of the warm start)."""

    def __post_init__(self) -> None:
        check_at_least(self, ("epochs", "batch_size"), 1)
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")


@dataclass
class DAggerConfig:
    """DAgger's rounds."""

    rounds: int = 4
    """DAgger rounds."""
    episodes_per_round: int = 2
    """Episodes the DAgger learner drives (and the expert labels) per round."""
    beta: float = 0.5
    """Probability that DAgger executes the expert's action (not the learner's) at a step."""
    beta_rampdown_rounds: int = 0
    """If > 0, beta falls linearly from 1 in round 0 to 0 at this round instead."""

    def __post_init__(self) -> None:
        check_at_least(self, ("rounds", "episodes_per_round"), 1)
        if not 0.0 <= self.beta <= 1.0:
            raise ConfigError(f"beta must be in [0, 1], got {self.beta}")


@dataclass
class AdversarialConfig(DiscriminatorConfig):
    """GAIL and AIRL: the PPO generator and the discriminator.

    The objective and remedies are :class:`~lhyrl.config.discriminator.DiscriminatorConfig`'s.
    """

    total_timesteps: int = 200_000
    """GAIL/AIRL: env steps of generator RL in all."""
    n_envs: int = 8
    """GAIL/AIRL: parallel envs of the generator."""
    gen_n_steps: int = 256
    """GAIL/AIRL: PPO steps per env per round (a round is gen_n_steps * n_envs env steps)."""
    gen_batch_size: int = 64
    """GAIL/AIRL: PPO minibatch size."""
    gen_learning_rate: float = 3e-4
    """GAIL/AIRL: PPO learning rate."""
    gen_ent_coef: float = 0.0
    """GAIL/AIRL: PPO entropy bonus."""
    gen_gamma: float = 0.99
    """GAIL/AIRL: PPO discount (and AIRL's shaping discount)."""
    disc_lr: float = 3e-4
    """GAIL/AIRL: discriminator learning rate."""
    disc_updates_per_round: int = 4
    """GAIL/AIRL: discriminator steps per round."""
    disc_batch_size: int = 256
    """GAIL/AIRL: expert (and as many generated) transitions per discriminator step."""
    state_only: bool = False
    """AIRL: the recovered reward g reads the state only."""
    warm_start: bool = False
    """GAIL/AIRL: start the generator from BC trained on the demonstrations (epochs)."""
    gen_warmup_rounds: int = 0
    """GAIL/AIRL: first rounds in which only the generator's value function learns."""
    normalize_reward: bool = False
    """GAIL/AIRL: scale the learned reward by the running std of the generator's return."""
    disc_normalize_input: bool = False
    """GAIL/AIRL: standardize the discriminator's inputs by running statistics."""
    airl_generator_reward: str = "logit"
    """AIRL: generator reward, logit (log D - log(1 - D)) or softplus (-log(1 - D))."""
    absorb_horizon: int = 0
    """GAIL/AIRL: fixed-horizon generator episodes, absorbing after termination (0: off)."""
    continue_horizon: int = 0
    """GAIL/AIRL: fixed-horizon generator episodes in which the env runs on after termination
    (0: off); third-person GAIL records its failures so too. Evaluation uses the env as is."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least(self, ("total_timesteps", "n_envs", "gen_n_steps", "gen_batch_size"), 1)
        if self.airl_generator_reward not in ("logit", "softplus"):
            raise ConfigError(
                "airl_generator_reward must be 'logit' or 'softplus', got "
                f"{self.airl_generator_reward!r}"
            )
        check_at_least(self, ("gen_warmup_rounds", "absorb_horizon", "continue_horizon"), 0)
        if self.absorb_horizon and self.continue_horizon:
            raise ConfigError(
                "absorb_horizon and continue_horizon are two ways to fix the episodes' length: "
                "set one of them, not both"
            )


@dataclass
class ThirdPersonConfig:
    """Third-person GAIL: the domains of the demonstrations and the learner, domain confusion."""

    demos_domain: str = "third-person"
    """Third-person GAIL: the domain the demonstrations' frames show (record them with lhyrl
    demos --frames third-person); the failures are recorded in it too."""
    learner_domain: str = "first-person"
    """Third-person GAIL: the domain the learner's env renders its frames in."""
    domain_confusion: bool = True
    """Third-person GAIL: reverse the domain classifier's gradient into the features (false:
    plain image GAIL, the domain classifier only a probe)."""
    domain_loss_weight: float = 1.0
    """Third-person GAIL: weight of the domain classifier's loss."""
    reversal: float = 2.0
    """Third-person GAIL: the gradient reversal's coefficient (lambda)."""
    failure_episodes: int = 30
    """Third-person GAIL: episodes of a random policy recorded in the demonstrations' domain,
    negatives of the discriminator (0: none)."""
    failure_ratio: float = 0.5
    """Third-person GAIL: share of the discriminator's negatives drawn from the failures."""
    domain_on_failures: bool = False
    """Third-person GAIL: the domain classifier compares random-policy episodes of the two
    domains (the failures, and as many recorded in the learner's domain), not the expert's
    domain with the learner's frames, whose behaviour differs."""
    frame_channels: list[int] = field(default_factory=lambda: [16, 32, 32])
    """Third-person GAIL: channels of the CNN's stride-2 convolutions."""
    frame_features: int = 128
    """Third-person GAIL: size of the CNN's features."""

    def __post_init__(self) -> None:
        check_at_least(self, ("failure_episodes",), 0)
        check_at_least(self, ("frame_features",), 1)
        for key in ("demos_domain", "learner_domain"):
            if getattr(self, key) not in ("first-person", "third-person"):
                raise ConfigError(
                    f"{key} must be 'first-person' or 'third-person', got {getattr(self, key)!r}"
                )
        if not 0.0 <= self.failure_ratio < 1.0:
            raise ConfigError(f"failure_ratio must lie in [0, 1), got {self.failure_ratio}")
        if self.domain_loss_weight < 0 or self.reversal < 0:
            raise ConfigError("domain_loss_weight and reversal must be >= 0")
        if self.domain_on_failures and not self.failure_episodes:
            raise ConfigError("domain_on_failures compares failures: set failure_episodes > 0")


@dataclass
class MaxEntIRLConfig:
    """MaxEnt IRL on a tabular env (one exposing its transition and feature matrices)."""

    iterations: int = 200
    """MaxEnt IRL: gradient steps of the reward."""
    maxent_reward: str = "linear"
    """MaxEnt IRL: reward over state features, linear or deep (an MLP)."""
    maxent_learning_rate: float | None = None
    """MaxEnt IRL: Adam learning rate (default 0.1 for linear, 0.01 for deep)."""

    def __post_init__(self) -> None:
        check_at_least(self, ("iterations",), 0)
        if self.maxent_reward not in ("linear", "deep"):
            raise ConfigError(
                f"maxent_reward must be 'linear' or 'deep', got {self.maxent_reward!r}"
            )


SECTIONS: dict[str, type] = {
    "demonstrations": DemonstrationsConfig,
    "bc": BCConfig,
    "dagger": DAggerConfig,
    "adversarial": AdversarialConfig,
    "third_person": ThirdPersonConfig,
    "maxent_irl": MaxEntIRLConfig,
}
"""The imitation sections, by name (the attribute of :class:`~lhyrl.config.RunConfig`)."""
