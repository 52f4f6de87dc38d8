"""The sequence family of runs: MLE, scheduled sampling, PG-BLEU and SeqGAN on token-writing envs.

* ``lhyrl/SeqGen-v0`` (SeqGAN's synthetic task): the data are ``train_size`` samples of the
  env's oracle LSTM and the test set ``test_size`` more, drawn in that order by a generator
  seeded ``10000 + seed``. An evaluation scores ``eval_episodes`` samples of the generator
  (drawn from ``eval_seed``, so every evaluation of a run scores the same draws of its
  generator) under the oracle (``nll_oracle``), the generator's NLL of the test set
  (``nll_test``), distinct-4 of the first 2,048 samples and self-BLEU-4 of the first 200
  (diversity beside quality, so that mode collapse shows in TensorBoard as it happens).
* ``lhyrl/TextGen-v0``: the env's corpus, every sentence encoded as ``max_length`` ids (its
  tokens, ``<eos>`` if there is room, then ``<pad>``); ``test_size`` sentences, drawn with the
  seed, are held out. An evaluation reports ``nll_test``, and distinct-2/4 and self-BLEU-4 of
  up to 2,048 samples cut at ``<eos>`` (self-BLEU: the first 200); samples are decoded to text, in
  TensorBoard (``samples/text``) and in ``eval.json``. The run folder also gets ``vocab.json``.

``model.pt`` is the trainer's file (``MLE.load``, ``SeqGAN.load``, ...). ``init`` (a finished
run directory or such a file) starts a run from another run's generator, as the SeqGAN
paper's rows start from the MLE generator.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.logger import Logger
from torch import Tensor

from lhyrl.agents import MLE, PGBLEU, SamplingSchedule, ScheduledSampling, SeqGAN, SequenceTrainer
from lhyrl.agents.trainer import read_trainer_file
from lhyrl.config import ConfigError, RunConfig, read_yaml
from lhyrl.data.text import BOS_ID, EOS_ID, PAD_ID, Vocabulary
from lhyrl.envs.textgen import TextGenEnv
from lhyrl.metrics import distinct_n, nll_oracle, nll_test, self_bleu
from lhyrl.metrics.sequences import trim_sequences
from lhyrl.nn import CNNDiscriminatorConfig, RecurrentConfig, SequenceGenerator
from lhyrl.runs.common import CONFIG_FILE, MODEL_FILE, Built, Evaluation

__all__ = [
    "DATA_SEED_OFFSET",
    "TRAINERS",
    "VOCAB_FILE",
    "SequenceTask",
    "evaluate_generator",
    "evaluate_saved",
    "evaluation_samples",
    "load_task",
    "prepare",
]

TRAINERS: dict[str, type[SequenceTrainer]] = {
    "mle": MLE,
    "scheduled-sampling": ScheduledSampling,
    "pg-bleu": PGBLEU,
    "seqgan": SeqGAN,
}
"""The trainer class of each sequence algorithm."""

DATA_SEED_OFFSET = 10_000
"""SeqGen-v0's training and test sets are drawn by a generator seeded ``10000 + seed``."""

VOCAB_FILE = "vocab.json"
NLL_BATCH = 64
"""NLL-oracle and NLL-test average full batches of 64 sequences (the SeqGAN protocol)."""
DISTINCT_SAMPLES = 2048
SELF_BLEU_SAMPLES = 200
"""Self-BLEU-4 compares this many samples with each other (about 2 s on SeqGen-v0)."""
SUMMARY_SAMPLES = 8


@dataclass
class SequenceTask:
    """What a sequence run trains on and is scored on, made from its config."""

    vocab_size: int
    seq_len: int
    start_token: int
    train: Tensor
    """(N, T) long: the training sequences."""
    test: Tensor
    """(N', T) long: the held-out sequences of NLL-test."""
    oracle: SequenceGenerator | None = None
    """SeqGen-v0's oracle (scores NLL-oracle); ``None`` on TextGen-v0."""
    env: TextGenEnv | None = None
    """TextGen-v0's env: its corpus, vocabulary and decoder; ``None`` on SeqGen-v0."""

    def decode(self, ids: Sequence[int]) -> str:
        """A sequence as text (TextGen-v0) or as its token ids separated by spaces."""
        if self.env is None:
            return " ".join(str(int(i)) for i in ids)
        return self.env.decode(np.asarray(ids, dtype=np.int64))


def _entry_point(env_id: str) -> str:
    entry_point = gym.spec(env_id).entry_point
    return entry_point if isinstance(entry_point, str) else ""


def load_task(config: RunConfig) -> SequenceTask:
    """The env's data for ``config``, checked; writes nothing.

    Raises:
        ConfigError: If the sizes leave no full batch for training or for NLL-test.
        FileNotFoundError, ValueError: For an unknown oracle or corpus file (from the env).
    """
    section = config.sequence
    length = section.max_length
    if _entry_point(config.env) == "lhyrl.envs.textgen:TextGenEnv":
        env = gym.make(
            config.env,
            corpus=section.corpus,
            language=section.language,
            max_length=length,
            min_count=section.min_count,
        ).unwrapped
        assert isinstance(env, TextGenEnv)
        tokens = torch.as_tensor(env.corpus.encode(length), dtype=torch.long)  # (N, T)
        if section.test_size >= len(tokens):
            raise ConfigError(
                f"test_size={section.test_size} leaves no training sentence: the corpus has "
                f"{len(tokens)}"
            )
        order = torch.from_numpy(np.random.default_rng(config.seed).permutation(len(tokens)))
        task = SequenceTask(
            vocab_size=env.vocab_size,
            seq_len=length,
            start_token=BOS_ID,
            train=tokens[order[section.test_size :]],
            test=tokens[order[: section.test_size]],
            env=env,
        )
    else:
        env = gym.make(
            config.env,
            vocab_size=section.vocab_size,
            length=length,
            oracle=section.oracle,
            oracle_seed=section.oracle_seed,
        ).unwrapped
        oracle = env.oracle  # type: ignore[attr-defined]
        start = int(env.start_token)  # type: ignore[attr-defined]
        rng = torch.Generator().manual_seed(DATA_SEED_OFFSET + config.seed)
        train = oracle.sample(section.train_size, length, start_token=start, generator=rng)
        test = oracle.sample(section.test_size, length, start_token=start, generator=rng)
        task = SequenceTask(
            vocab_size=oracle.config.vocab_size,
            seq_len=length,
            start_token=start,
            train=train,  # (N, T)
            test=test,  # (N', T)
            oracle=oracle,
        )
    env.close()
    if len(task.train) < section.batch_size:
        raise ConfigError(
            f"{len(task.train)} training sequences are fewer than one batch "
            f"(batch_size={section.batch_size})"
        )
    return task


# --------------------------------------------------------------------------- evaluation


def evaluation_samples(
    generator: SequenceGenerator, n: int, *, seq_len: int, start_token: int, seed: int
) -> Tensor:
    """``n`` samples of ``generator`` drawn from ``seed`` alone (no trainer's RNG is touched).

    An evaluation of a run scores ``evaluation_samples(generator, eval_episodes, ...,
    seed=eval_seed)``.

    Returns:
        (n, T) long tokens on the generator's device.
    """
    device = next(generator.parameters()).device
    rng = torch.Generator(device=device).manual_seed(seed)
    was_training = generator.training
    generator.eval()
    try:
        return generator.sample(n, seq_len, start_token=start_token, generator=rng)
    finally:
        generator.train(was_training)


def evaluate_generator(
    generator: SequenceGenerator, task: SequenceTask, *, samples: int, seed: int
) -> Evaluation:
    """NLL-test; NLL-oracle (SeqGen-v0), distinct-n and self-BLEU-4 of samples from ``seed``.

    Raises:
        ValueError: If NLL-oracle is asked of fewer than 64 samples (one full batch).
    """
    was_training = generator.training
    generator.eval()
    try:
        scalars = {"nll_test": nll_test(generator, task.test, start_token=task.start_token)}
    finally:
        generator.train(was_training)
    report: dict[str, Any] = {"test_size": len(task.test)}
    if task.oracle is not None:
        if samples < NLL_BATCH:
            raise ValueError(f"NLL-oracle needs at least {NLL_BATCH} samples, got {samples}")
        drawn = evaluation_samples(
            generator, samples, seq_len=task.seq_len, start_token=task.start_token, seed=seed
        )  # (S, T)
        scalars["nll_oracle"] = nll_oracle(task.oracle, drawn, start_token=task.start_token)
        scalars["distinct_4"] = distinct_n(drawn[:DISTINCT_SAMPLES], 4)
        scalars["self_bleu_4"] = self_bleu(drawn[:SELF_BLEU_SAMPLES], 4)
        report.update(eval_samples=samples, eval_seed=seed)
    else:  # TextGen-v0: diversity of sentences, cut at <eos>/<pad>
        drawn = evaluation_samples(
            generator,
            max(2, min(samples, DISTINCT_SAMPLES)),
            seq_len=task.seq_len,
            start_token=task.start_token,
            seed=seed,
        )  # (S, T)
        sentences = [s or [PAD_ID] for s in trim_sequences(drawn, (EOS_ID, PAD_ID))]
        scalars["distinct_2"] = distinct_n(sentences, 2)
        scalars["distinct_4"] = distinct_n(sentences, 4)
        scalars["self_bleu_4"] = self_bleu(sentences[:SELF_BLEU_SAMPLES], 4)
        report.update(eval_samples=len(sentences), eval_seed=seed)
    return Evaluation(scalars=scalars, report={**scalars, **report})


def _sample_texts(generator: SequenceGenerator, task: SequenceTask, seed: int) -> list[str]:
    drawn = evaluation_samples(
        generator, SUMMARY_SAMPLES, seq_len=task.seq_len, start_token=task.start_token, seed=seed
    )  # (8, T)
    return [task.decode(row) for row in drawn.tolist()]


# --------------------------------------------------------------------------- init


def _init_file(init: str) -> Path:
    path = Path(init)
    if path.is_dir():
        if not (path / MODEL_FILE).is_file():
            raise ConfigError(f"init: the run at {path} has no {MODEL_FILE} (it has not finished)")
        return path / MODEL_FILE
    if not path.is_file():
        raise ConfigError(f"init: {path} is neither a run directory nor a model file")
    return path


def load_init(config: RunConfig, task: SequenceTask) -> SequenceTrainer:
    """The trainer saved at ``init``, checked against this run's generator and data.

    Raises:
        ConfigError: If ``init`` is missing, holds no sequence generator, or one of another
            size, env or vocabulary.
    """
    section = config.sequence
    assert section.init is not None
    path = _init_file(section.init)
    header = read_trainer_file(path, ("trainer_class",), what="model file")
    classes = {cls.__name__: cls for cls in TRAINERS.values()}
    name = header["trainer_class"]
    if name not in classes:
        raise ConfigError(
            f"init: {path} holds a {name}, not a sequence generator ({', '.join(classes)})"
        )
    trainer = classes[name].load(path, device="cpu")
    ours = _generator_config(config, task)
    if trainer.generator_config != ours:
        raise ConfigError(
            f"init: {path}'s generator is {asdict(trainer.generator_config)}, this "
            f"run's is {asdict(ours)}"
        )
    run_dir = path.parent
    if (run_dir / CONFIG_FILE).is_file():
        env = read_yaml(run_dir / CONFIG_FILE).get("env")
        if env != config.env:
            raise ConfigError(f"init: {path} was trained on {env}, this run is on {config.env}")
    vocab = run_dir / VOCAB_FILE
    if task.env is not None and vocab.is_file() and Vocabulary.load(vocab) != task.env.vocabulary:
        raise ConfigError(f"init: {path} was trained on another vocabulary than this run's")
    return trainer


# --------------------------------------------------------------------------- trainers


def _generator_config(config: RunConfig, task: SequenceTask) -> RecurrentConfig:
    section = config.sequence
    return RecurrentConfig(
        vocab_size=task.vocab_size,
        embedding_dim=section.embedding_dim,
        hidden_dim=section.hidden_dim,
    )


def _discriminator_config(vocab_size: int, seq_len: int) -> CNNDiscriminatorConfig:
    """SeqGAN's CNN for ``vocab_size`` without filters wider than a sequence."""
    default = CNNDiscriminatorConfig(vocab_size=vocab_size)
    kept = [
        (width, n)
        for width, n in zip(default.filter_sizes, default.num_filters, strict=True)
        if width <= seq_len
    ]
    return CNNDiscriminatorConfig(
        vocab_size=vocab_size,
        filter_sizes=tuple(width for width, _ in kept),
        num_filters=tuple(n for _, n in kept),
    )


def make_trainer(config: RunConfig, task: SequenceTask, logger: Logger) -> SequenceTrainer:
    """The trainer of ``config.algo`` for ``task``, with ``data=`` set for ``learn``.

    The run layer evaluates (``eval_every``, the final evaluation) and logs samples
    (``samples_every``) with its own sampling seed, so the trainer gets no oracle and no test
    set, and never draws for either from its own RNG.
    """
    section = config.sequence
    common: dict[str, Any] = {
        "vocab_size": task.vocab_size,
        "seq_len": task.seq_len,
        "start_token": task.start_token,
        "generator_config": _generator_config(config, task),
        "batch_size": section.batch_size,
        "learning_rate": section.learning_rate,
        "seed": config.seed,
        "device": config.device,
        "logger": logger,
        "decode": task.decode,
        "data": task.train,
        "eval_every": 0,
        "log_text_every": 0,
    }
    if config.algo == "mle":
        return MLE(**asdict(config.sequence_mle), **common)
    if config.algo == "scheduled-sampling":
        ss = config.scheduled_sampling
        schedule = SamplingSchedule(
            kind=ss.sampling_schedule,
            max_probability=ss.sampling_max_probability,
            ramp_epochs=ss.sampling_ramp_epochs,
        )
        return ScheduledSampling(schedule=schedule, **common)
    if config.algo == "pg-bleu":
        return PGBLEU(**asdict(config.pg_bleu), **common)
    # The section's fields are SeqGAN's keyword arguments, named alike.
    return SeqGAN(
        discriminator_config=_discriminator_config(task.vocab_size, task.seq_len),
        **asdict(config.seqgan),
        **common,
    )


def _check_budgets(config: RunConfig, task: SequenceTask) -> None:
    """Refuse settings the trainer would only refuse after the run folder exists."""
    if task.oracle is not None and config.eval_episodes < NLL_BATCH:
        raise ConfigError(
            f"eval_episodes={config.eval_episodes}: NLL-oracle scores full batches of "
            f"{NLL_BATCH} samples; set eval_episodes to at least {NLL_BATCH}"
        )
    if config.algo == "pg-bleu" and config.pg_bleu.bleu_order > task.seq_len:
        raise ConfigError(
            f"bleu_order={config.pg_bleu.bleu_order} exceeds max_length={task.seq_len}"
        )
    if config.algo == "seqgan":
        gan = config.seqgan
        if config.sequence.epochs < gan.pretrain_generator_epochs:
            raise ConfigError(
                f"epochs={config.sequence.epochs} counts SeqGAN's pretraining too: it must be "
                f"at least pretrain_generator_epochs={gan.pretrain_generator_epochs}"
            )
        half = max(1, gan.discriminator_batch_size // 2)
        for name in ("discriminator_samples", "pretrain_discriminator_samples"):
            samples = getattr(gan, name)
            if min(samples or len(task.train), len(task.train)) < half:
                raise ConfigError(
                    f"{name}={samples} with {len(task.train)} training sequences is less than "
                    f"half a discriminator batch ({half})"
                )


@dataclass
class PreparedSequence:
    """A sequence run's checked inputs: the config, the data, the generator to start from."""

    config: RunConfig
    task: SequenceTask
    init: SequenceTrainer | None

    def build(self, logger: Logger, run_dir: Path) -> Built:
        """The trainer of ``config.algo``, and how the run saves, evaluates and sums it up."""
        config, task = self.config, self.task
        if task.env is not None:
            task.env.vocabulary.save(run_dir / VOCAB_FILE)
        trainer = make_trainer(config, task, logger)
        if task.oracle is not None:
            task.oracle = task.oracle.to(trainer.device)
        if self.init is not None:
            trainer.load_generator_weights(self.init.generator)
            if config.sequence.init_optimizer:
                trainer.optimizer.load_state_dict(self.init.optimizer.state_dict())
                for group in trainer.optimizer.param_groups:
                    group["lr"] = trainer.learning_rate

        def evaluate() -> Evaluation:
            return evaluate_generator(
                trainer.generator, task, samples=config.eval_episodes, seed=config.eval_seed
            )

        def save(path: Path) -> None:
            trainer.save(path)

        def summary() -> dict[str, Any]:
            return {
                "updates": trainer.num_updates,
                "vocab_size": task.vocab_size,
                "train_size": len(task.train),
                "samples": _sample_texts(trainer.generator, task, config.eval_seed),
            }

        return Built(
            trainer=trainer,
            save=save,
            evaluate=evaluate,
            summary=summary,
            samples=lambda: "\n\n".join(_sample_texts(trainer.generator, task, config.eval_seed)),
        )


def prepare(config: RunConfig) -> PreparedSequence:
    """Check a sequence run's env, data and ``init``; writes nothing."""
    task = load_task(config)
    _check_budgets(config, task)
    init = load_init(config, task) if config.sequence.init is not None else None
    return PreparedSequence(config=config, task=task, init=init)


def evaluate_saved(
    run_dir: str | os.PathLike[str], config: RunConfig, *, episodes: int, seed: int
) -> Evaluation:
    """Score a finished run's ``model.pt``: NLL-oracle of ``episodes`` samples from ``seed``.

    Raises:
        ValueError: If a TextGen-v0 run's corpus no longer gives the vocabulary it trained on.
    """
    run_dir = Path(run_dir)
    task = load_task(config)
    vocab = run_dir / VOCAB_FILE
    if task.env is not None and vocab.is_file() and Vocabulary.load(vocab) != task.env.vocabulary:
        raise ValueError(
            f"the corpus {config.sequence.corpus!r} no longer gives the vocabulary the run at "
            f"{run_dir} trained on ({VOCAB_FILE})"
        )
    trainer = TRAINERS[config.algo].load(run_dir / MODEL_FILE, device=config.device)
    if task.oracle is not None:
        task.oracle = task.oracle.to(trainer.device)
    evaluation = evaluate_generator(trainer.generator, task, samples=episodes, seed=seed)
    evaluation.report["samples"] = _sample_texts(trainer.generator, task, seed)
    return evaluation
