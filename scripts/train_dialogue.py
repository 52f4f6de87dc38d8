"""Train a chat model on dialogue pairs: MLE, MMI and RL (Li et al. 2016) or REGS (Li 2017).

Run::

    python scripts/train_dialogue.py --algo mle --language english --epochs 12 --seed 0
    python scripts/train_dialogue.py --algo mle --language chinese --epochs 20
    python scripts/train_dialogue.py --corpus my_dialogues.jsonl --language english
    python scripts/train_dialogue.py --algo rl --iterations 150 --dialogues-per-iteration 16
    python scripts/train_dialogue.py --algo mmi --iterations 1500 --lr 2e-3 --run-dir runs/mmi
    python scripts/train_dialogue.py --algo rl --init runs/mmi --self-play --gamma 0 --lr 1e-4
    python scripts/train_dialogue.py --algo adversarial --init runs/dialogue-english__mle__0__...
    python scripts/train_dialogue.py --resume runs/dialogue-english__mle__0__20261127-103000
    python scripts/train_dialogue.py --resume runs/dialogue-english__rl__0__... --iterations 300
    lhyrl chat runs/dialogue-english__mle__0__20261127-103000

``--algo`` picks the trainer; each has a function ``train_<algo>`` below:

- ``mle``: teacher-forced maximum likelihood from scratch (:class:`DialogueMLE`), for
  ``--epochs`` epochs.
- ``rl``: Li et al.'s (2016) policy gradient (:class:`DialoguePG`) from an MLE model
  (``--init``: a chat-model file or a run directory with ``model.pt``; by default the shipped
  model of ``--language``, ``lhyrl/envs/dialogue/weights/<language>_forward.pt``). Each of
  ``--iterations`` iterations holds ``--dialogues-per-iteration`` dialogues with
  ``lhyrl/Dialogue-v0``'s simulated user (openings of the training split, at most
  ``--max-turns`` agent turns), rewarded by ``--reward-weights`` (ease of answering,
  information flow, semantic coherence), and takes one step of REINFORCE (``--gamma``,
  ``--baseline``, ``--entropy-coef``) plus ``--mle-weight`` times teacher-forced MLE on the
  training pairs. With ``--self-play`` the model talks with itself, as in Li et al.'s
  simulation (the env's user is the model being trained), while the simulated user's model
  still scores the reward. The env reads and writes one vocabulary, its user's: the simulated
  user is the shipped model of the language unless ``--user-model`` (and, for the
  semantic-coherence reward, ``--backward-model``, a reply → context model) give chat models
  of the ``--init`` model's vocabulary; another vocabulary is refused before anything is
  written.
- ``mmi``: the first stage of Li et al.'s RL (:class:`DialogueMMI`), from the same
  ``--init``: each of ``--iterations`` iterations samples ``--candidates`` replies to each of
  ``--contexts-per-step`` training contexts and takes one policy-gradient step toward the
  replies of the highest mutual information with their context, ``--forward-weight`` x
  ``log p_user(reply | context)`` + ``log p_backward(turn | reply)`` (per token; the user and
  backward models as for ``rl``), each against the mean of the other candidates, plus
  ``--mle-weight`` x MLE. Its run directory is the ``--init`` of an ``rl`` run: Li et al.
  start dialogue RL from this model rather than from the MLE one.
- ``adversarial``: REGS (:class:`AdversarialDialogue`) from the same ``--init``, on the
  training pairs: ``--disc-pretrain-steps`` discriminator steps, then ``--iterations``
  iterations of ``--d-steps`` discriminator and ``--g-steps`` generator updates (Monte Carlo
  rewards of ``--n-rollouts`` completions per prefix), each generator update followed by a
  teacher-forced MLE step unless ``--no-teacher-forcing``.

The data are chatterbot-corpus conversations of ``--language`` or a user's JSONL / TSV file
(``--corpus``; see :mod:`lhyrl.data.dialogue`), split by conversation into train / validation
/ test with ``--data-seed`` (default ``--seed``; with ``--init``, give the split the model
was trained on: 0 for the shipped model, so that the test pairs stay unseen), cut into
(context, reply) pairs of ``--context-turns`` turns. ``mle`` builds the vocabulary of the
training split (tokens seen fewer than ``--min-count`` times become ``<unk>``) and a new
model (``--embedding-dim``, ...); ``rl``, ``mmi`` and ``adversarial`` take the vocabulary,
sizes, language and context turns of the ``--init`` model.

The run folder (``--run-dir``, or ``<logdir>/dialogue-<corpus>__<algo>__<seed>__<time>``)
gets ``args.json``; TensorBoard events (``mle``: ``train/loss``; ``rl``:
``rollout/reward_total``, ``rollout/<reward term>``, ``rollout/dialogue_length``,
``train/loss``, ``train/pg_loss``, ``train/mle_loss``, ``train/entropy``, sample dialogues
as text ``samples/dialogues``; ``mmi``: ``train/reward_mean``, ``train/reward_std_within``,
``train/pg_loss``, ``train/mle_loss``; ``adversarial``: ``pretrain/*``, ``train/disc_loss``,
``train/disc_acc_human``, ``train/disc_acc_machine``, ``train/reward_mean``,
``train/pg_loss``, ``train/mle_loss``; all: ``eval/nll``, ``eval/distinct_1``,
``eval/distinct_2``, ``eval/bleu``, ``eval/reply_length`` on the validation split (``rl``
also ``eval/dialogue_length``, ...: ``--eval-dialogues`` greedy dialogues with the
training envs; ``adversarial`` also ``eval/disc_accuracy``), ``samples/replies``, the
hyperparameters as a table, and the final ``test/*`` and ``test_sim/*``); ``checkpoints/``
(every ``--checkpoint-every`` epochs or iterations; ``--resume RUN_DIR`` finishes an
interrupted run exactly, and ``--resume RUN_DIR --epochs N`` / ``--iterations N`` extends a
run); the chat model ``model.pt`` (what ``lhyrl chat RUN_DIR`` talks through) and
``eval.json``: the test split's metrics (NLL, distinct-1/2, BLEU, reply length; greedy and
beam search), sample replies, and ``simulation``: ``--eval-dialogues`` greedy dialogues with
``lhyrl/Dialogue-v0``'s simulated user on openings of the test split (Li et al.'s
``dialogue_length``, ``distinct_1``, ``distinct_2``, the mean reward terms and three
transcripts), or ``null`` and a ``simulation_note`` saying why it was skipped (e.g. the
model's vocabulary is not the simulated user's). The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import torch
from stable_baselines3.common.logger import Logger, configure
from torch import Tensor

import lhyrl.envs  # noqa: F401  (registers lhyrl/Dialogue-v0)
from lhyrl.agents.dialogue import (
    CHECKPOINT_FILE,
    AdversarialDialogue,
    DialogueMLE,
    DialogueMMI,
    DialoguePG,
    DialogueTrainer,
    new_chat_model,
    simulate,
)
from lhyrl.chat import load_chat_model
from lhyrl.data.dialogue import DialogueData, TokenizedPair, encode_pairs
from lhyrl.data.text import LANGUAGES, UNK_ID, Language
from lhyrl.envs.dialogue.user import Role
from lhyrl.envs.dialogue.user import load_chat_model as load_shipped_model
from lhyrl.files import atomic_write_text
from lhyrl.nn.chat_model import ChatModel, ChatModelError
from lhyrl.nn.seq2seq import Seq2SeqConfig

ARGS_FILE = "args.json"
MODEL_FILE = "model.pt"
EVAL_FILE = "eval.json"
CHECKPOINTS = "checkpoints"
ENV_ID = "lhyrl/Dialogue-v0"
SHIPPED = "the shipped {language} model (lhyrl/envs/dialogue/weights/{language}_{role}.pt)"
RESUME_OVERRIDES = ("epochs", "iterations", "threads")
"""What ``--resume`` may change: the length of the run, and the torch threads."""
SIMULATION_KEYS = (
    "n_dialogues",
    "dialogue_length",
    "dialogue_turns",
    "agent_turns",
    "end_reasons",
    "distinct_1",
    "distinct_2",
    "reply_length",
    "reward_total",
    "reward_terms",
    "return",
)
_TEXT_ONLY = ("stdout", "log", "json", "csv")

Pairs = tuple[Tensor, Tensor]


class RunError(ValueError):
    """A setting the run cannot go on with (printed without a traceback from the shell)."""


# ------------------------------------------------------------------------------ arguments


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = p.add_argument
    add("--algo", choices=sorted(ALGORITHMS), default="mle", help="the trainer")
    add("--language", choices=LANGUAGES, help="default: english, or --init's")
    add("--corpus", help="a JSONL or TSV dialogue file (default: chatterbot-corpus)")
    add(
        "--data-seed",
        type=int,
        default=0,
        help="seed of the train/validation/test split (0: the shipped chat models' split)",
    )
    add("--context-turns", type=int, default=1, help="turns of history in a context (mle)")
    add("--source-len", type=int, default=20, help="context tokens read, the last ones (mle)")
    add("--target-len", type=int, default=20, help="most reply tokens, <eos> included (mle)")
    add(
        "--min-count",
        type=int,
        default=1,
        help="rarer tokens become <unk> (mle; 1 with --data-seed 0 gives the shipped models' "
        "vocabulary, so the bot can continue with --algo rl against the shipped user)",
    )
    add("--max-pairs", type=int, help="use only the first N pairs of each split (smoke tests)")
    add("--lr", "--learning-rate", type=float, help="Adam's learning rate (mle 3e-3, else 3e-4)")
    add("--batch-size", type=int, default=32, help="pairs per step (rl: of the MLE term)")
    add("--grad-clip", type=float, default=5.0)
    add("--eval-every", type=int, help="epochs / iterations between eval/* (0: never; 1 / 10)")
    add("--checkpoint-every", type=int, help="epochs / iterations between checkpoints (1 / 10)")
    add("--eval-dialogues", type=int, default=50, help="simulated dialogues scored (0: none)")
    add("--max-turns", type=int, default=8, help="agent turns of a simulated dialogue")
    add("--seed", type=int, default=0)
    add("--threads", type=int, default=1, help="torch threads")
    add("--logdir", default="runs", help="parent of the run folder (without --run-dir)")
    add("--run-dir", help="the run folder (default: a new one under --logdir)")
    add("--resume", type=Path, metavar="RUN_DIR", help="finish (or extend) the run there")

    mle = p.add_argument_group("mle: a new model")
    add = mle.add_argument
    add("--epochs", type=int, help="epochs of MLE (default 12)")
    add("--embedding-dim", type=int, default=64)
    add("--hidden-dim", type=int, default=64, help="per direction of the encoder")
    add("--attention", choices=["additive", "dot", "none"], default="additive")
    add("--dropout", type=float, default=0.3)

    both = p.add_argument_group("rl, mmi and adversarial")
    add = both.add_argument
    add("--init", metavar="PATH", help="MLE chat model or run dir (default: the shipped one)")
    add("--iterations", type=int, help="training iterations (default 150)")
    add("--sample-every", type=int, default=10, help="iterations between text samples")
    add("--user-model", metavar="PATH", help="simulated user (default: the shipped one)")
    add("--backward-model", metavar="PATH", help="reply → context model of the reward")
    add("--temperature", type=float, default=1.0, help="sampling temperature of replies")

    rl = p.add_argument_group("rl (Li et al. 2016)")
    add = rl.add_argument
    add("--dialogues-per-iteration", type=int, default=16, help="parallel dialogues (envs)")
    add(
        "--reward-weights",
        type=float,
        nargs=3,
        default=[0.25, 0.25, 0.5],
        metavar=("EASE", "FLOW", "COHERENCE"),
        help="weights of ease of answering, information flow, semantic coherence",
    )
    add("--mle-weight", type=float, default=0.5, help="weight of the teacher-forced MLE term")
    add("--entropy-coef", type=float, default=0.0, help="weight of the entropy bonus")
    add("--gamma", type=float, default=1.0, help="discount over the agent's turns")
    add(
        "--self-play",
        action="store_true",
        help="talk with itself, as in Li et al.'s simulation (the reward's models stay fixed)",
    )
    add(
        "--baseline",
        choices=["turn", "mean", "greedy"],
        default="turn",
        help="per turn index, one, or the greedy reply's reward (self-critical; --gamma 0)",
    )

    mmi = p.add_argument_group("mmi (the first stage of Li et al. 2016)")
    add = mmi.add_argument
    add("--candidates", type=int, default=8, help="replies sampled per context")
    add("--contexts-per-step", type=int, default=8, help="contexts per iteration")
    add(
        "--forward-weight",
        type=float,
        default=0.0,
        help="weight of log p_user(reply | context) beside log p_backward(turn | reply)",
    )

    adversarial = p.add_argument_group("adversarial (REGS, Li et al. 2017)")
    add = adversarial.add_argument
    add("--n-rollouts", type=int, default=3, help="Monte Carlo completions per reply prefix")
    add("--d-steps", type=int, default=1, help="discriminator updates per iteration")
    add("--g-steps", type=int, default=1, help="generator updates per iteration")
    add("--disc-pretrain-steps", type=int, default=100, help="discriminator steps before REGS")
    add("--disc-lr", type=float, default=1e-3, help="the discriminator's Adam learning rate")
    add(
        "--no-teacher-forcing",
        dest="teacher_forcing",
        action="store_false",
        help="no MLE step after each generator update",
    )
    return p


def _resolve_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the defaults that depend on ``--algo`` (and on ``--seed``)."""
    mle = args.algo == "mle"
    for name, for_mle, otherwise in (
        ("lr", 3e-3, 3e-4),
        ("eval_every", 1, 10),
        ("checkpoint_every", 1, 10),
    ):
        if getattr(args, name) is None:
            setattr(args, name, for_mle if mle else otherwise)
    if args.epochs is None:
        args.epochs = 12
    if args.iterations is None:
        args.iterations = 150
    if mle and args.language is None:
        args.language = "english"
    return args


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; see the module docstring."""
    p = _parser()
    args = p.parse_args(argv)
    if args.resume is not None:
        saved = args.resume / ARGS_FILE
        if not saved.is_file():
            p.error(f"--resume: {saved} does not exist")
        given = {k: v for k, v in vars(args).items() if k != "resume" and v != p.get_default(k)}
        others = sorted(set(given) - set(RESUME_OVERRIDES))
        if others:
            flags = ", ".join("--" + k.replace("_", "-") for k in others)
            p.error(
                f"--resume takes only --epochs, --iterations (to extend the run) and --threads; "
                f"the run's settings are those of {saved} (got {flags})"
            )
        # runs written before a setting existed get its default
        defaults = vars(p.parse_args([]))
        stored = json.loads(saved.read_text(encoding="utf-8"))
        args = _resolve_defaults(argparse.Namespace(**{**defaults, **stored, **given}))
        args.resume = Path(args.run_dir)
        return args
    if args.run_dir is not None and (Path(args.run_dir) / ARGS_FILE).exists():
        p.error(f"--run-dir {args.run_dir} holds a run already; finish it with --resume")
    if args.algo == "mle" and args.init is not None:
        p.error("--init is the starting model of --algo rl, mmi and adversarial; mle starts anew")
    if args.baseline == "greedy" and args.gamma != 0:
        p.error(f"--baseline greedy (one turn's greedy reply) needs --gamma 0, not {args.gamma}")
    for name, least in (
        ("iterations", 0),
        ("epochs", 0),
        ("dialogues_per_iteration", 1),
        ("eval_dialogues", 0),
        ("max_turns", 1),
        ("sample_every", 0),
        ("disc_pretrain_steps", 0),
        ("candidates", 2),
        ("contexts_per_step", 1),
        ("eval_every", 0),
        ("checkpoint_every", 1),
    ):
        value = getattr(args, name)
        if value is not None and value < least:
            p.error(f"--{name.replace('_', '-')} must be at least {least}, got {value}")
    return _resolve_defaults(args)


# --------------------------------------------------------------------------- the models


def load_init_model(args: argparse.Namespace) -> ChatModel:
    """The starting model of ``rl``, ``mmi`` and ``adversarial``: ``--init``, or the shipped one."""
    try:
        if args.init is None:
            return load_shipped_model(None, "forward", args.language or "english")
        return load_chat_model(args.init)
    except (FileNotFoundError, ChatModelError) as err:
        raise RunError(f"--init: {err}") from err


def adopt_model_settings(args: argparse.Namespace, chat_model: ChatModel) -> None:
    """Make the run's data settings the ``--init`` model's (it fixes how text is encoded)."""
    if args.language is not None and args.language != chat_model.language:
        raise RunError(
            f"--language {args.language}, but the --init model is a {chat_model.language} "
            "model; leave --language out or pass a model of that language"
        )
    config = chat_model.model.config
    args.language = chat_model.language
    args.context_turns = chat_model.context_turns
    args.source_len = chat_model.source_len
    args.target_len = chat_model.target_len
    args.embedding_dim = config.embedding_dim
    args.hidden_dim = config.hidden_dim
    args.attention = config.attention
    args.dropout = config.dropout


def build_chat_model(args: argparse.Namespace, data: DialogueData) -> ChatModel:
    """The untrained chat model of an ``mle`` run (its weights drawn from ``--seed``)."""
    config = Seq2SeqConfig(
        vocab_size=len(data.vocabulary),
        embedding_dim=args.embedding_dim,
        hidden_dim=args.hidden_dim,
        attention=args.attention,
        dropout=args.dropout,
    )
    return new_chat_model(
        config=config,
        vocabulary=data.vocabulary,
        language=data.language,
        source_len=args.source_len,
        target_len=args.target_len,
        context_turns=args.context_turns,
        seed=args.seed,
    )


class SimulatedUser(NamedTuple):
    """The chat models behind ``lhyrl/Dialogue-v0``: the user (forward) and backward model."""

    user: ChatModel
    backward: ChatModel
    source: str
    """Where the user model came from, for messages."""


def _load_env_model(path: str | None, role: Role, language: Language, flag: str) -> ChatModel:
    try:
        if path is None:
            return load_shipped_model(None, role, language)
        return load_chat_model(path)
    except (FileNotFoundError, ChatModelError) as err:
        raise RunError(f"{flag}: {err}") from err


def simulated_user(args: argparse.Namespace, chat_model: ChatModel) -> SimulatedUser:
    """Load ``--user-model`` / ``--backward-model``; check they share ``chat_model``'s vocabulary.

    Raises:
        RunError: If a model is missing or unreadable, or a vocabulary differs.
    """
    language = chat_model.language
    source = (
        SHIPPED.format(language=language, role="forward")
        if args.user_model is None
        else args.user_model
    )
    user = _load_env_model(args.user_model, "forward", language, "--user-model")
    if user.vocabulary != chat_model.vocabulary or user.language != chat_model.language:
        raise RunError(
            f"the model's vocabulary ({len(chat_model.vocabulary)} {chat_model.language} "
            f"tokens) is not that of lhyrl/Dialogue-v0's simulated user ({len(user.vocabulary)} "
            f"{user.language} tokens, {source}), and the env reads and writes the user's "
            "vocabulary. Start from a model trained on the user's vocabulary (for the shipped "
            "user: the English corpus with --min-count 1 --data-seed 0), or pass --user-model "
            "and --backward-model trained on the model's vocabulary"
        )
    backward = _load_env_model(args.backward_model, "backward", user.language, "--backward-model")
    if backward.vocabulary != user.vocabulary:
        raise RunError(
            "the --backward-model's vocabulary is not the user model's; pass a reply → context "
            "model trained on the same vocabulary"
        )
    return SimulatedUser(user, backward, source)


def dialogue_envs(
    args: argparse.Namespace,
    users: SimulatedUser,
    chat_model: ChatModel,
    n: int,
    split: str,
    *,
    self_play: bool = False,
) -> list[gym.Env[Any, Any]]:
    """``n`` ``lhyrl/Dialogue-v0`` envs on openings of ``split``, sharing the user models.

    With ``self_play`` the env's user is ``chat_model`` itself, and ``users.user`` only
    scores the reward (its forward model).
    """
    return [
        gym.make(
            ENV_ID,
            user_model=chat_model if self_play else users.user,
            backward_model=users.backward,
            forward_model=users.user if self_play else None,
            split=split,
            max_turns=args.max_turns,
            max_reply_len=chat_model.target_len,
            reward_weights=tuple(args.reward_weights),
            corpus=args.corpus,
            data_seed=args.data_seed,
        )
        for _ in range(n)
    ]


# ------------------------------------------------------------------------------ the data


def load_data(args: argparse.Namespace) -> DialogueData:
    """The run's dialogue pairs and (``mle``'s) vocabulary."""
    data = DialogueData.load(
        args.corpus or args.language,
        language=args.language,
        seed=args.data_seed,
        context_turns=args.context_turns,
        min_count=args.min_count,
    )
    if args.max_pairs is not None:
        if args.max_pairs < 1:
            raise ValueError(f"--max-pairs must be at least 1, got {args.max_pairs}")
        data = DialogueData(
            data.train[: args.max_pairs],
            data.validation[: args.max_pairs],
            data.test[: args.max_pairs],
            data.vocabulary,
            data.language,
        )
    return data


def encode(pairs: Sequence[TokenizedPair], chat_model: ChatModel) -> Pairs | None:
    """Pairs as ``(src, tgt)`` in the model's vocabulary and sizes, or ``None`` if none."""
    if not pairs:
        return None
    return encode_pairs(
        pairs,
        chat_model.vocabulary,
        source_len=chat_model.source_len,
        target_len=chat_model.target_len,
    )


class Run:
    """What a trainer function gets (a plain class: the tests load this file without a module).

    Args:
        args: The run's settings.
        chat_model: The model to train.
        train: The training pairs ``(src, tgt)`` in the model's vocabulary.
        validation: The validation pairs, if any.
        logger: The SB3 logger of the run folder.
        checkpoints: The checkpoint folder.
        users: The simulated user and backward model (``rl`` and ``mmi``).
    """

    def __init__(
        self,
        args: argparse.Namespace,
        chat_model: ChatModel,
        train: Pairs,
        validation: Pairs | None,
        logger: Logger,
        checkpoints: Path,
        users: SimulatedUser | None,
    ) -> None:
        self.args = args
        self.chat_model = chat_model
        self.train = train
        self.validation = validation
        self.logger = logger
        self.checkpoints = checkpoints
        self.users = users

    @property
    def resuming(self) -> bool:
        """Whether a checkpoint of this run is there to resume from."""
        return self.args.resume is not None and (self.checkpoints / CHECKPOINT_FILE).is_file()

    def trainer_kwargs(self) -> dict[str, Any]:
        """The arguments of :class:`DialogueTrainer` that every algorithm takes from the run."""
        return {
            "chat_model": self.chat_model,
            "learning_rate": self.args.lr,
            "grad_clip": self.args.grad_clip,
            "batch_size": self.args.batch_size,
            "seed": self.args.seed,
            "logger": self.logger,
        }

    def evaluate_initial(self, trainer: DialogueTrainer) -> None:
        """Score and sample the starting model at step 0 (a fresh run only)."""
        if self.validation is not None:
            trainer.log_samples(self.validation[0])
            trainer.evaluate(*self.validation)  # dumps

    def resume_or_evaluate(self, trainer: DialogueTrainer) -> None:
        """Resume ``trainer`` from the run's checkpoint, or score the untrained model at step 0."""
        if self.resuming:
            trainer.resume(self.checkpoints)
        else:
            self.evaluate_initial(trainer)


# ------------------------------------------------------------------------------ algorithms


def train_mle(run: Run) -> DialogueTrainer:
    """Teacher-forced maximum likelihood on the training pairs."""
    args = run.args
    trainer = DialogueMLE(**run.trainer_kwargs())
    run.resume_or_evaluate(trainer)
    trainer.train(
        *run.train,
        epochs=args.epochs,
        validation=run.validation,
        eval_every=args.eval_every,
        checkpoint_dir=run.checkpoints,
        checkpoint_every=args.checkpoint_every,
    )
    return trainer


def train_rl(run: Run) -> DialogueTrainer:
    """Li et al.'s (2016) policy gradient against ``lhyrl/Dialogue-v0``'s simulated user."""
    args = run.args
    assert run.users is not None
    envs = dialogue_envs(
        args,
        run.users,
        run.chat_model,
        args.dialogues_per_iteration,
        "train",
        self_play=args.self_play,
    )
    try:
        trainer = DialoguePG(
            envs=envs,
            gamma=args.gamma,
            baseline=args.baseline,
            mle_weight=args.mle_weight,
            entropy_coef=args.entropy_coef,
            temperature=args.temperature,
            **run.trainer_kwargs(),
        )
        run.resume_or_evaluate(trainer)
        trainer.train(
            args.iterations,
            mle_data=run.train,
            validation=run.validation,
            eval_every=args.eval_every,
            eval_dialogues=args.eval_dialogues,
            sample_every=args.sample_every,
            checkpoint_dir=run.checkpoints,
            checkpoint_every=args.checkpoint_every,
        )
    finally:
        for env in envs:
            env.close()
    return trainer


def train_mmi(run: Run) -> DialogueTrainer:
    """Li et al.'s (2016) first stage: policy gradient on replies' mutual information."""
    args = run.args
    assert run.users is not None
    trainer = DialogueMMI(
        forward_model=run.users.user.model,
        backward_model=run.users.backward.model,
        forward_weight=args.forward_weight,
        candidates=args.candidates,
        contexts_per_step=args.contexts_per_step,
        mle_weight=args.mle_weight,
        temperature=args.temperature,
        **run.trainer_kwargs(),
    )
    run.resume_or_evaluate(trainer)
    trainer.train(
        *run.train,
        iterations=args.iterations,
        validation=run.validation,
        eval_every=args.eval_every,
        sample_every=args.sample_every,
        checkpoint_dir=run.checkpoints,
        checkpoint_every=args.checkpoint_every,
    )
    return trainer


def train_adversarial(run: Run) -> DialogueTrainer:
    """REGS (Li et al. 2017) on the training pairs, after pretraining the discriminator."""
    args = run.args
    trainer = AdversarialDialogue(
        n_rollouts=args.n_rollouts,
        d_steps=args.d_steps,
        g_steps=args.g_steps,
        teacher_forcing=args.teacher_forcing,
        disc_lr=args.disc_lr,
        temperature=args.temperature,
        **run.trainer_kwargs(),
    )
    src, tgt = run.train
    if run.resuming:
        trainer.resume(run.checkpoints)  # the pretrained discriminator included
    else:
        if args.disc_pretrain_steps:
            stats = trainer.pretrain_discriminator(src, tgt, steps=args.disc_pretrain_steps)
            for key, value in stats.items():
                run.logger.record(f"pretrain/{key}", value)
        if run.validation is not None:
            measures = trainer.evaluate_discriminator(*run.validation, seed=args.seed)
            for key, value in measures.items():
                run.logger.record(f"eval/{key}", value)
            run.evaluate_initial(trainer)  # dumps, at step 0
        elif args.disc_pretrain_steps:
            run.logger.dump(step=trainer.num_updates)
        # a checkpoint of the pretrained discriminator (no iteration yet)
        trainer.train(src, tgt, iterations=0, checkpoint_dir=run.checkpoints)
    trainer.train(
        src,
        tgt,
        iterations=args.iterations,
        validation=run.validation,
        eval_every=args.eval_every,
        sample_every=args.sample_every,
        checkpoint_dir=run.checkpoints,
        checkpoint_every=args.checkpoint_every,
    )
    return trainer


ALGORITHMS: dict[str, Callable[[Run], DialogueTrainer]] = {
    "mle": train_mle,
    "rl": train_rl,
    "mmi": train_mmi,
    "adversarial": train_adversarial,
}
"""``--algo`` → its function ``(run) -> trainer``, the trainer done training."""


# ------------------------------------------------------------------------------ evaluation


def simulation(
    args: argparse.Namespace,
    chat_model: ChatModel,
    users: SimulatedUser | None,
    logger: Logger,
    step: int,
) -> tuple[dict[str, Any] | None, str | None]:
    """Greedy dialogues with the simulated user on test openings, or why there are none."""
    if args.eval_dialogues == 0:
        return None, "--eval-dialogues 0"
    try:
        users = users or simulated_user(args, chat_model)
        envs = dialogue_envs(args, users, chat_model, min(args.eval_dialogues, 16), "test")
    except (RunError, ValueError) as err:
        return None, f"skipped: {err}"
    try:
        result = simulate(chat_model, envs, args.eval_dialogues, decoding="greedy", seed=args.seed)
    finally:
        for env in envs:
            env.close()
    out = {key: result[key] for key in SIMULATION_KEYS}
    out["transcripts"] = [[list(turn) for turn in t] for t in result["transcripts"][:3]]
    for key in ("dialogue_length", "distinct_1", "distinct_2", "reward_total", "return"):
        logger.record(f"test_sim/{key}", out[key])
    text = "\n\n".join(
        "\n".join(f"{speaker}: {line}" for speaker, line in transcript)
        for transcript in out["transcripts"]
    )
    logger.record("samples/test_dialogues", text, exclude=_TEXT_ONLY)
    logger.dump(step=step)
    return out, None


def _unknown_share(tgt: Tensor) -> float:
    """The share of ``<unk>`` among the reply tokens (ids from ``<unk>`` on)."""
    tokens = tgt >= UNK_ID
    return float((tgt == UNK_ID).sum()) / max(int(tokens.sum()), 1)


# ------------------------------------------------------------------------------------ main


def _write_args(args: argparse.Namespace) -> None:
    saved = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    saved["resume"] = None
    atomic_write_text(Path(args.run_dir) / ARGS_FILE, json.dumps(saved, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train (or finish) one run; returns and prints the summary.

    Raises:
        RunError: For settings the run cannot go on with; those of ``--init``,
            ``--user-model`` and ``--backward-model`` (a missing file, another vocabulary or
            language) before anything is written.
    """
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    init: ChatModel | None = None
    users: SimulatedUser | None = None
    if args.algo != "mle":
        init = load_init_model(args)
        adopt_model_settings(args, init)
        if args.algo in ("rl", "mmi"):
            users = simulated_user(args, init)
    if args.resume is None and args.run_dir is None:
        corpus = Path(args.corpus).stem if args.corpus else args.language
        stamp = time.strftime("%Y%m%d-%H%M%S")
        args.run_dir = str(
            Path(args.logdir) / f"dialogue-{corpus}__{args.algo}__{args.seed}__{stamp}"
        )
    _write_args(args)  # on --resume: the run's length may have changed
    run_dir = Path(args.run_dir)

    data = load_data(args)
    chat_model = init if init is not None else build_chat_model(args, data)
    train = encode(data.train, chat_model)
    if train is None:
        raise RunError("the training split holds no dialogue pair")
    if init is not None and _unknown_share(train[1]) > 0.2:
        print(
            f"warning: {_unknown_share(train[1]):.0%} of the training replies' tokens are "
            "<unk> in the --init model's vocabulary; is it a model of this corpus?",
            file=sys.stderr,
        )
    validation, test = encode(data.validation, chat_model), encode(data.test, chat_model)
    logger = configure(str(run_dir), ["tensorboard", "stdout"])
    try:
        if args.resume is None:
            table = "\n".join(
                [
                    "| argument | value |",
                    "|---|---|",
                    *(f"| {k} | {v} |" for k, v in vars(args).items()),
                ]
            )
            logger.record("args", table, exclude=_TEXT_ONLY)
        run = Run(args, chat_model, train, validation, logger, run_dir / CHECKPOINTS, users)

        start = time.perf_counter()
        trainer = ALGORITHMS[args.algo](run)
        seconds = time.perf_counter() - start

        trainer.save(run_dir / MODEL_FILE)
        held_out = test or validation
        result: dict[str, Any] = {
            "run_dir": str(run_dir),
            "algo": args.algo,
            "init": None
            if args.algo == "mle"
            else (args.init or SHIPPED.format(language=data.language, role="forward")),
            "language": data.language,
            "corpus": args.corpus or f"chatterbot-corpus/{data.language}",
            "seed": args.seed,
            "data_seed": args.data_seed,
            "pairs": {
                "train": len(data.train),
                "validation": len(data.validation),
                "test": len(data.test),
            },
            "vocabulary": len(chat_model.vocabulary),
            "epochs": trainer.num_epochs,
            "iterations": getattr(trainer, "num_iterations", None),
            "updates": trainer.num_updates,
            "train_seconds": round(seconds, 1),
            "test": None if test is None else trainer.evaluate(*test, prefix="test"),
            "test_beam": None
            if test is None
            else trainer.evaluate(*test, prefix="test_beam", decoding="beam"),
        }
        if isinstance(trainer, AdversarialDialogue) and test is not None:
            result["test_discriminator"] = trainer.evaluate_discriminator(*test, seed=args.seed)
        result["samples"] = (
            []
            if held_out is None
            else [
                {"context": c, "reply": r}
                for c, r in trainer.sample_texts(held_out[0], 6, decoding="beam")
            ]
        )
        result["simulation"], result["simulation_note"] = simulation(
            args, chat_model, users, logger, trainer.num_updates
        )
    finally:
        logger.close()
    atomic_write_text(run_dir / EVAL_FILE, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except RunError as error:
        sys.exit(f"{Path(sys.argv[0]).name}: error: {error}")
