"""The dialogue family of runs: MLE, MMI, dialogue RL (Li et al. 2016) and REGS (Li et al. 2017).

``lhyrl train --algo mle|mmi|dialogue-rl|regs --env lhyrl/Dialogue-v0`` trains a seq2seq chat
model on (context, reply) pairs of a corpus (:mod:`lhyrl.runs.dialogue_sim` loads them, the
starting model and the simulated user):

- ``mle``: teacher-forced maximum likelihood (:class:`~lhyrl.agents.dialogue.DialogueMLE`),
  ``epochs`` epochs, from a new model (or ``init``'s);
- ``mmi``: Li et al.'s first stage (:class:`~lhyrl.agents.dialogue.DialogueMMI`): policy
  gradient toward replies of high mutual information with their context, scored by the
  simulated user (forward) and backward models; its run is the ``init`` of a ``dialogue-rl``
  run;
- ``dialogue-rl``: Li et al.'s policy gradient (:class:`~lhyrl.agents.dialogue.DialoguePG`)
  on dialogues with ``lhyrl/Dialogue-v0``'s simulated user (or with itself, ``self_play``),
  rewarded by ease of answering, information flow and semantic coherence;
- ``regs``: REGS (:class:`~lhyrl.agents.dialogue.AdversarialDialogue`): a hierarchical
  discriminator pretrained for ``pretrain_discriminator_steps`` steps, then adversarial
  iterations with Monte Carlo rewards for every generation step.

MMI, dialogue RL and REGS start from ``init``, by default the shipped chat model of the
language. Every run writes the run layer's files; ``model.pt`` is the chat model that
``lhyrl chat RUN_DIR`` talks through, and ``eval.json`` holds the scores of ``eval_split``
(the test split by default): the pairs' NLL, distinct-1/2, BLEU and reply length (greedy and
beam search), sample replies, and ``simulation`` / ``self_play``: ``eval_episodes`` greedy
dialogues on openings of the split with the simulated user / with itself (``null`` and a
``*_note`` saying why when the model's vocabulary is not the simulated user's).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.logger import Logger
from torch import Tensor

from lhyrl.agents.dialogue import (
    AdversarialDialogue,
    DialogueMLE,
    DialogueMMI,
    DialoguePG,
    DialogueTrainer,
)
from lhyrl.agents.trainer import CHECKPOINT_FILE
from lhyrl.config import ConfigError, RunConfig
from lhyrl.nn.chat_model import ChatModel
from lhyrl.runs.common import CHECKPOINTS, MODEL_FILE, Built, Evaluation
from lhyrl.runs.dialogue_sim import DialogueTask, Evaluator, close_envs, dialogue_envs, load_task

__all__ = ["PreparedDialogue", "evaluate_saved", "make_trainer", "prepare"]

LEARNING_RATES = {"mle": 3e-3}
"""Adam's learning rate when ``learning_rate`` is unset (3e-4 for the algorithms not named)."""


def make_trainer(
    config: RunConfig,
    task: DialogueTask,
    envs: list[gym.Env[Any, Any]],
    logger: Logger | None,
) -> DialogueTrainer:
    """The trainer of ``config.algo`` on ``task``'s chat model (trained in place).

    Args:
        config: The run's config.
        task: Its data, model and simulated user.
        envs: Dialogue RL's training envs (unused by the others).
        logger: Where the trainer logs.
    """
    section = config.dialogue
    learning_rate = section.learning_rate or LEARNING_RATES.get(config.algo, 3e-4)
    common: dict[str, Any] = {
        "chat_model": task.chat_model,
        "learning_rate": learning_rate,
        "grad_clip": section.grad_clip,
        "batch_size": section.batch_size,
        "seed": config.seed,
        "logger": logger,
    }
    if config.algo == "mle":
        return DialogueMLE(**common)
    if config.algo == "mmi":
        mmi = config.dialogue_mmi
        assert task.users is not None  # load_task refuses mmi without a simulated user
        return DialogueMMI(
            forward_model=task.users.user.model,
            backward_model=task.users.backward.model,
            forward_weight=mmi.forward_weight,
            candidates=mmi.candidates,
            contexts_per_step=mmi.contexts_per_step,
            mle_weight=mmi.mle_weight,
            temperature=mmi.temperature,
            **common,
        )
    if config.algo == "dialogue-rl":
        rl = config.dialogue_rl
        return DialoguePG(
            envs=envs,
            gamma=rl.gamma,
            baseline=rl.baseline,
            mle_weight=rl.mle_weight,
            entropy_coef=rl.entropy_coef,
            temperature=rl.temperature,
            **common,
        )
    regs = config.regs
    return AdversarialDialogue(
        n_rollouts=regs.n_rollouts,
        d_steps=regs.discriminator_steps,
        g_steps=regs.generator_steps,
        teacher_forcing=regs.teacher_forcing,
        disc_lr=regs.discriminator_learning_rate,
        disc_loss=regs.disc_loss,
        grad_penalty=regs.grad_penalty,
        label_smoothing=regs.label_smoothing,
        input_noise=regs.input_noise,
        spectral_norm=regs.spectral_norm,
        replay_ratio=regs.replay_ratio,
        replay_capacity=regs.replay_capacity,
        ensemble_size=regs.ensemble_size,
        ensemble_reward=regs.ensemble_reward,
        temperature=regs.temperature,
        **common,
    )


def _pretrain_discriminator(
    trainer: AdversarialDialogue, config: RunConfig, task: DialogueTask, checkpoints: Path
) -> None:
    """REGS's discriminator pretraining, logged at step 0, then a checkpoint holding it.

    Its time is logged as ``time/pretrain_seconds`` (the run's ``train_seconds`` count the
    learn loop only).

    The checkpoint (of no iteration yet) spares a run interrupted in its first iteration the
    pretraining when it resumes.
    """
    steps = config.regs.pretrain_discriminator_steps
    logger = trainer.logger
    if steps:
        start = time.perf_counter()
        stats = trainer.pretrain_discriminator(*task.train, steps=steps)
        logger.record("time/pretrain_seconds", time.perf_counter() - start)
        for key, value in stats.items():
            logger.record(f"pretrain/{key}", value)
        validation = task.splits["validation"]
        if validation is not None:
            measures = trainer.evaluate_discriminator(*validation, seed=config.eval_seed)
            for key, value in measures.items():
                logger.record(f"pretrain/validation_{key}", value)
        logger.dump(step=0)
    trainer.train(*task.train, iterations=0, checkpoint_dir=checkpoints)


@dataclass
class PreparedDialogue:
    """A dialogue run's checked inputs: the config, the task, dialogue RL's training envs."""

    config: RunConfig
    task: DialogueTask
    envs: list[gym.Env[Any, Any]] = field(default_factory=list)

    def build(self, logger: Logger, run_dir: Path) -> Built:
        """The trainer of ``config.algo``, and how the run saves, evaluates and sums it up.

        The trainer's own evaluations are off: the run layer evaluates (``eval_every`` and
        the final evaluation) on ``eval_split``, never drawing from the trainer's RNG.
        """
        config, task = self.config, self.task
        trainer = make_trainer(config, task, self.envs, logger)
        trainer.set_learn_data(task.train, validation=task.splits["validation"], eval_every=0)
        checkpoints = run_dir / CHECKPOINTS
        discriminator: Callable[[Tensor, Tensor], dict[str, float]] | None = None
        if isinstance(trainer, AdversarialDialogue):
            regs = trainer

            def measure_discriminator(src: Tensor, tgt: Tensor) -> dict[str, float]:
                return regs.evaluate_discriminator(src, tgt, seed=config.eval_seed)

            discriminator = measure_discriminator
            if not (checkpoints / CHECKPOINT_FILE).is_file():  # not a resumed run
                _pretrain_discriminator(trainer, config, task, checkpoints)
        evaluator = Evaluator(config, task, episodes=config.eval_episodes, seed=config.eval_seed)

        def summary() -> dict[str, Any]:
            counts: dict[str, Any] = {
                "init": task.source,
                "corpus": config.dialogue.corpus,
                "data_seed": config.dialogue.data_seed,
                **task.counts(),
            }
            if isinstance(trainer, DialogueMLE):
                counts["epochs"] = trainer.num_epochs
            else:
                counts["iterations"] = trainer.learn_progress
            counts["updates"] = trainer.num_updates
            if isinstance(trainer, DialoguePG):
                counts["dialogues"] = trainer.num_dialogues
            return {**counts, **evaluator.final_report(trainer.chat_model)}

        def close() -> None:
            evaluator.close()
            close_envs(self.envs)

        return Built(
            trainer=trainer,
            save=lambda path: trainer.save(path),
            evaluate=lambda: evaluator(trainer.chat_model, discriminator),
            summary=summary,
            close=close,
            samples=lambda: evaluator.samples_text(trainer.chat_model),
        )


def _check_budgets(config: RunConfig, task: DialogueTask) -> None:
    """Refuse settings the trainer would only refuse after the run folder exists."""
    if config.algo == "mmi" and len(task.train[0]) < config.dialogue_mmi.contexts_per_step:
        raise ConfigError(
            f"contexts_per_step={config.dialogue_mmi.contexts_per_step} exceeds the "
            f"{len(task.train[0])} training pairs"
        )


def prepare(config: RunConfig) -> PreparedDialogue:
    """Check a dialogue run's corpus, starting model and simulated user; writes nothing.

    Raises:
        ConfigError: For a missing or unreadable ``init``, user or backward model, a language
            that is not the init model's, a simulated user of another vocabulary than the bot
            (mmi and dialogue-rl), or too few training pairs.
        ValueError, FileNotFoundError: For an unreadable corpus, a bad device, or settings
            the env refuses.
    """
    task = load_task(config)
    _check_budgets(config, task)
    envs: list[gym.Env[Any, Any]] = []
    if config.algo == "dialogue-rl":
        rl = config.dialogue_rl
        assert task.users is not None  # load_task refuses dialogue-rl without a simulated user
        envs = dialogue_envs(
            config,
            task.users,
            task.chat_model,
            rl.dialogues_per_iteration,
            "train",
            max_turns=rl.train_max_turns or config.dialogue.max_turns,
            self_play=rl.self_play,
        )
    return PreparedDialogue(config=config, task=task, envs=envs)


def evaluate_saved(
    run_dir: str | os.PathLike[str], config: RunConfig, *, episodes: int, seed: int
) -> Evaluation:
    """Score a finished run's ``model.pt`` as its final evaluation did (``lhyrl eval``).

    ``episodes`` greedy dialogues from ``seed``, with the simulated user and in self-play,
    and the pairs of ``eval_split``. REGS's discriminator is not in ``model.pt``: its
    measures are left out.
    """
    path = Path(run_dir) / MODEL_FILE
    model = ChatModel.load(path)
    task = load_task(config, model=model, source=str(path))
    evaluator = Evaluator(config, task, episodes=episodes, seed=seed)
    try:
        evaluation = evaluator(task.chat_model)
        evaluation.report.update(evaluator.final_report(task.chat_model))
    finally:
        evaluator.close()
    return evaluation
