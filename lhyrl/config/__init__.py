"""The configuration of a training run: common keys plus the sections its algorithm reads.

A run config is :class:`RunConfig`'s common keys (algorithm, env, seed, device, evaluation and
checkpoint schedule) and one dataclass per section the algorithm reads (``bc``, ``dagger``,
``adversarial``, ``sequence``, ``dialogue``, ...), as the table :data:`ALGORITHMS` says. Keys
are flat: a YAML file or the command line names ``epochs``, not ``bc.epochs``. Every key is
also a flag (``--learning-rate 3e-4``) whose help is the field's documentation.

Values come, lowest first, from the section defaults, the shipped preset of the algorithm and
env (``lhyrl/presets/<algo>/<env>.yaml``, as rl-zoo3's hyperparameter files), a ``--config``
file, and flags. A key that is no field is refused with the valid ones; a key of a section the
algorithm does not read is refused with the name of that section.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NamedTuple

from lhyrl.config.base import (
    ConfigError,
    build_section,
    check_at_least,
    coerce,
    field_defaults,
    field_docs,
    field_types,
    read_yaml,
    write_yaml,
)
from lhyrl.config.dialogue import SECTIONS as DIALOGUE_SECTIONS
from lhyrl.config.imitation import SECTIONS as IMITATION_SECTIONS
from lhyrl.config.sequence import SECTIONS as SEQUENCE_SECTIONS

__all__ = [
    "ALGORITHMS",
    "ENV_KINDS",
    "SECTIONS",
    "AlgorithmSpec",
    "ConfigError",
    "RunConfig",
    "all_keys",
    "env_kind",
    "make_config",
    "preset_file",
    "read_yaml",
    "write_yaml",
]

SECTIONS: dict[str, type] = {**IMITATION_SECTIONS, **SEQUENCE_SECTIONS, **DIALOGUE_SECTIONS}
"""Every config section, by name."""

ENV_KINDS = {
    "control": "any Gymnasium env with Box or Discrete spaces, and demonstrations",
    "tabular": "a tabular MDP exposing transition_matrix and feature_matrix (lhyrl/GridWorld-v0)",
    "sequence": "a token-writing env (lhyrl/SeqGen-v0, lhyrl/TextGen-v0)",
    "dialogue": "the chat-bot env lhyrl/Dialogue-v0",
}
"""The kinds of env an algorithm may accept, with what each means."""

_KIND_OF_ENTRY_POINT = {
    "lhyrl.envs.gridworld:GridWorldEnv": "tabular",
    "lhyrl.envs.seqgen:SeqGenEnv": "sequence",
    "lhyrl.envs.textgen:TextGenEnv": "sequence",
    "lhyrl.envs.dialogue:DialogueEnv": "dialogue",
}


class AlgorithmSpec(NamedTuple):
    """What an algorithm does on one kind of env."""

    family: str
    """The run-layer family that trains it: imitation, sequence or dialogue."""
    sections: tuple[str, ...]
    """The config sections it reads."""
    unit: str
    """What ``learn(total)`` counts."""
    budget: str
    """The config key holding ``total``."""


_IMITATION_KINDS = ("control", "tabular")

ALGORITHMS: dict[str, dict[str, AlgorithmSpec]] = {
    **{
        algo: {
            kind: AlgorithmSpec("imitation", sections, unit, budget) for kind in _IMITATION_KINDS
        }
        for algo, sections, unit, budget in (
            ("bc", ("demonstrations", "bc"), "epochs", "epochs"),
            ("dagger", ("demonstrations", "bc", "dagger"), "rounds", "rounds"),
            ("gail", ("demonstrations", "bc", "adversarial"), "env steps", "total_timesteps"),
            ("airl", ("demonstrations", "bc", "adversarial"), "env steps", "total_timesteps"),
            (
                "third-person-gail",
                ("demonstrations", "bc", "adversarial", "third_person"),
                "env steps",
                "total_timesteps",
            ),
        )
    },
    "maxent-irl": {
        "tabular": AlgorithmSpec(
            "imitation", ("demonstrations", "maxent_irl"), "iterations", "iterations"
        )
    },
    "mle": {
        "sequence": AlgorithmSpec("sequence", ("sequence", "sequence_mle"), "epochs", "epochs"),
        "dialogue": AlgorithmSpec("dialogue", ("dialogue",), "epochs", "epochs"),
    },
    "scheduled-sampling": {
        "sequence": AlgorithmSpec(
            "sequence", ("sequence", "scheduled_sampling"), "epochs", "epochs"
        )
    },
    "pg-bleu": {"sequence": AlgorithmSpec("sequence", ("sequence", "pg_bleu"), "epochs", "epochs")},
    "seqgan": {
        "sequence": AlgorithmSpec(
            "sequence", ("sequence", "seqgan"), "epochs (MLE pretraining included)", "epochs"
        )
    },
    "mmi": {
        "dialogue": AlgorithmSpec(
            "dialogue", ("dialogue", "dialogue_mmi"), "iterations", "iterations"
        )
    },
    "dialogue-rl": {
        "dialogue": AlgorithmSpec(
            "dialogue", ("dialogue", "dialogue_rl"), "iterations", "iterations"
        )
    },
    "regs": {
        "dialogue": AlgorithmSpec("dialogue", ("dialogue", "regs"), "iterations", "iterations")
    },
}
"""Every ``--algo``: for each kind of env it accepts, its family, sections, unit and budget key."""


@dataclass
class RunConfig:
    """The keys every run has; the algorithm's sections are attributes by section name."""

    algo: str = "bc"
    """Algorithm: bc, dagger, gail, airl, third-person-gail, maxent-irl, mle,
    scheduled-sampling, pg-bleu, seqgan, mmi, dialogue-rl or regs."""
    env: str = "lhyrl/Driving-v0"
    """Gymnasium id of the environment (it picks the family: mle on lhyrl/TextGen-v0 is the
    sequence MLE, on lhyrl/Dialogue-v0 the chat model's)."""
    seed: int = 0
    """Seed of the trainer and of the env resets it makes."""
    device: str = "auto"
    """Torch device: auto, cpu, cuda, cuda:N or mps."""
    threads: int = 1
    """Torch threads of the run: 1 is fastest on CPU for SB3-sized MLPs and the small sequence
    and chat models (benchmarks/threads.py: a second thread cut BC, GAIL and SeqGAN steps per
    second to 0.1-0.5x of one); kept in the config, as results match bit for bit only at one
    count."""
    runs_dir: str = "runs"
    """Where run directories are created."""
    eval_every: int = 0
    """Evaluate during training every this many units of learn (epochs, rounds, env steps or
    iterations: the algorithm's own); 0 evaluates at the end only."""
    eval_episodes: int = 50
    """Episodes (or dialogues) of each evaluation."""
    eval_seed: int = 10_000
    """Seed of the evaluations' first env."""
    checkpoint_every: int = 1
    """Units of learn between checkpoints (GAIL/AIRL: rounds)."""
    video_every: int = 0
    """Film an evaluation episode into TensorBoard every this many units of learn, and at the
    end (envs that render rgb_array frames); 0: no videos."""
    samples_every: int = 0
    """Log decoded samples (sequence and dialogue runs) every this many units of learn, and at
    the end; 0: at the end only."""
    preset: str | None = None
    """The shipped preset the values started from (set by lhyrl; none for defaults)."""
    sections: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        check_at_least(self, ("eval_episodes", "checkpoint_every", "threads"), 1)
        check_at_least(self, ("eval_every", "video_every", "samples_every"), 0)

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        if name in SECTIONS:
            raise AttributeError(
                f"the {self.__dict__.get('algo')!r} run reads no {name!r} section "
                f"(it reads {sorted(sections)})"
            )
        raise AttributeError(name)

    @property
    def kind(self) -> str:
        """The kind of the run's env (see :data:`ENV_KINDS`)."""
        return env_kind(self.env)

    @property
    def spec(self) -> AlgorithmSpec:
        """What the algorithm does on this env."""
        return ALGORITHMS[self.algo][self.kind]

    @property
    def total(self) -> int:
        """Units of learn of the whole run (the value of the algorithm's budget key)."""
        return int(self.to_dict()[self.spec.budget])

    def to_dict(self) -> dict[str, Any]:
        """The common keys, then each section's, as one flat mapping of plain data."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del values["sections"]
        for section in self.sections.values():
            values.update(dataclasses.asdict(section))
        return values


_COMMON = tuple(f.name for f in dataclasses.fields(RunConfig) if f.name != "sections")


def env_kind(env_id: str) -> str:
    """The kind of a registered env (see :data:`ENV_KINDS`).

    Raises:
        ConfigError: If no env of that id is registered.
    """
    import gymnasium as gym

    import lhyrl.envs  # noqa: F401  (registers the lhyrl ids)

    try:
        spec = gym.spec(env_id)
    except gym.error.Error as err:
        raise ConfigError(f"unknown env id {env_id!r}: {err}") from err
    entry_point = spec.entry_point if isinstance(spec.entry_point, str) else ""
    return _KIND_OF_ENTRY_POINT.get(entry_point, "control")


def all_keys() -> dict[str, list[tuple[str, Any, str]]]:
    """Every config key: its (section, type, doc) in each section that has it (common: ``""``)."""
    keys: dict[str, list[tuple[str, Any, str]]] = {}
    for section, cls in {"": RunConfig, **SECTIONS}.items():
        docs, types_ = field_docs(cls), field_types(cls)
        for name, hint in types_.items():
            if name != "sections":
                keys.setdefault(name, []).append((section, hint, docs.get(name, "")))
    return keys


def preset_file(algo: str, env: str) -> Any:
    """The shipped preset of ``algo`` on ``env`` (a resource of ``lhyrl.presets``), or None."""
    name = env.replace("/", "-").replace(":", "-") + ".yaml"
    path = resources.files("lhyrl.presets").joinpath(algo, name)
    return path if path.is_file() else None


def make_config(values: dict[str, Any], *, use_preset: bool = True) -> RunConfig:
    """A validated run config from flat keys, over the shipped preset of its algorithm and env.

    Args:
        values: Keys to set (the rest keep the preset's or the defaults' values).
        use_preset: Start from the shipped preset of the algorithm and env, if there is one.
            A config read back from a run directory already holds the preset's values.

    Raises:
        ConfigError: For an unknown algorithm or key, a key of a section the algorithm does
            not read, an env of a kind the algorithm cannot train on, or a bad value.
    """
    values = dict(values)
    algo = values.get("algo", RunConfig.algo)
    env = values.get("env", RunConfig.env)
    if algo not in ALGORITHMS:
        raise ConfigError(f"algo must be one of {list(ALGORITHMS)}, got {algo!r}")
    kind = env_kind(str(env))
    if kind not in ALGORITHMS[algo]:
        accepted = "; ".join(f"{k}: {ENV_KINDS[k]}" for k in ALGORITHMS[algo])
        raise ConfigError(f"{algo} cannot train on {env} (a {kind} env); it accepts {accepted}")
    spec = ALGORITHMS[algo][kind]
    preset = preset_file(algo, str(env)) if use_preset else None
    if preset is not None:
        with resources.as_file(preset) as path:
            preset_values = read_yaml(path)
        preset_values.pop("preset", None)
        values = {**preset_values, **values, "preset": f"{algo}/{preset.name}"}
    owners = {name: section for section in spec.sections for name in field_types(SECTIONS[section])}
    unknown = sorted(set(values) - set(owners) - set(_COMMON))
    if unknown:
        elsewhere = {key: [s for s, _, _ in all_keys().get(key, []) if s] for key in unknown}
        if all(elsewhere.values()):
            detail = ", ".join(f"{k} ({'/'.join(v)})" for k, v in elsewhere.items())
            raise ConfigError(
                f"{algo} on a {kind} env does not read the key(s) {detail}; its keys are "
                f"{sorted([*_COMMON, *owners])}"
            )
        raise ConfigError(
            f"unknown config key(s) {unknown}; valid keys for {algo} are "
            f"{sorted([*_COMMON, *owners])}"
        )
    common_types = field_types(RunConfig)
    common = {k: coerce(k, v, common_types[k]) for k, v in values.items() if k in _COMMON}
    sections = {
        section: build_section(
            SECTIONS[section], {k: v for k, v in values.items() if owners.get(k) == section}
        )
        for section in spec.sections
    }
    return RunConfig(**common, sections=sections)


def default_of(key: str) -> dict[str, Any]:
    """The default of a key in each section that has it."""
    out = {}
    for section, cls in {"": RunConfig, **SECTIONS}.items():
        defaults = field_defaults(cls)
        if key in defaults:
            out[section] = defaults[key]
    return out
