"""REGS (Li et al. 2017) on a synthetic corpus: every human reply is its context reversed."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from log_recorder import Recorder
from stable_baselines3.common.logger import Logger

from lhyrl.agents import AdversarialDialogue
from lhyrl.agents.dialogue import new_chat_model
from lhyrl.agents.dialogue.adversarial import dialogue_batch, split_turns
from lhyrl.data.dialogue import SEP_ID, TURN_SEPARATOR
from lhyrl.data.text import EOS_ID, PAD_ID, Vocabulary
from lhyrl.nn import Seq2SeqConfig
from lhyrl.nn.chat_model import ChatModel
from lhyrl.nn.dialogue import HierarchicalDiscriminator, HierarchicalDiscriminatorConfig

torch.set_num_threads(1)

SYMBOLS = [chr(ord("a") + i) for i in range(8)]
VOCABULARY = Vocabulary([TURN_SEPARATOR, *SYMBOLS])  # ids 5 .. 12 are the symbols
LENGTH = 8  # source_len and target_len
SIZES = {"embedding_dim": 16, "hidden_dim": 16}


def corpus(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Contexts of 2-5 symbols and their reversals, then <eos>."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, 6, (n,), generator=generator)
    src = torch.randint(5, 5 + len(SYMBOLS), (n, LENGTH), generator=generator)
    src = src.masked_fill(torch.arange(LENGTH) >= lengths[:, None], PAD_ID)  # (n, S)
    tgt = torch.full((n, LENGTH), PAD_ID)  # (n, T)
    for row, length in enumerate(lengths.tolist()):
        tgt[row, :length] = src[row, :length].flip(0)
        tgt[row, length] = EOS_ID
    return src, tgt


TRAIN = corpus(512, 0)
HELD_OUT = corpus(256, 1)


def chat_model(*, dropout: float = 0.0) -> ChatModel:
    return new_chat_model(
        config=Seq2SeqConfig(len(VOCABULARY), dropout=dropout, **SIZES),
        vocabulary=VOCABULARY,
        language="english",
        source_len=LENGTH,
        target_len=LENGTH,
        seed=0,
    )


def disc_config(*, dropout: float = 0.0) -> HierarchicalDiscriminatorConfig:
    return HierarchicalDiscriminatorConfig(
        len(VOCABULARY), dialogue_hidden_dim=16, dropout=dropout, **SIZES
    )


def trainer(**kwargs: Any) -> AdversarialDialogue:
    settings: dict[str, Any] = {
        "chat_model": chat_model(),
        "n_rollouts": 4,
        "disc_lr": 3e-3,
        "learning_rate": 1e-2,
        "batch_size": 32,
        "seed": 0,
    }
    if "discriminator" not in kwargs:
        settings["discriminator_config"] = disc_config()
    return AdversarialDialogue(**{**settings, **kwargs})


@pytest.fixture(scope="module")
def pretrained() -> tuple[dict[str, torch.Tensor], dict[str, float], dict[str, float]]:
    """A discriminator pretrained against the untrained generator; accuracies before, after."""
    gan = trainer()
    before = gan.evaluate_discriminator(*HELD_OUT)
    gan.pretrain_discriminator(*TRAIN, steps=60)
    after = gan.evaluate_discriminator(*HELD_OUT)
    return gan.discriminator.state_dict(), before, after


def test_split_turns_and_dialogue_batch():
    src = torch.tensor([[5, 6, SEP_ID, 7, PAD_ID], [8, PAD_ID, PAD_ID, PAD_ID, PAD_ID]])
    turns = split_turns(src)
    assert turns.tolist() == [
        [[5, 6, EOS_ID], [7, EOS_ID, PAD_ID]],
        [[PAD_ID] * 3, [8, EOS_ID, PAD_ID]],  # the missing turn is absent, first
    ]
    replies = torch.tensor([[9, 10, 11, EOS_ID], [EOS_ID, PAD_ID, PAD_ID, PAD_ID]])
    dialogues = dialogue_batch(turns, replies)  # (2, 3, 4)
    assert dialogues.shape == (2, 3, 4)
    assert torch.equal(dialogues[:, 2], replies) and (dialogues[:, :2, 3] == PAD_ID).all()


def test_discriminator_tells_human_replies_from_an_untrained_generators(pretrained):
    _, before, after = pretrained
    assert before["disc_accuracy"] == pytest.approx(0.5, abs=0.1)  # an untrained one guesses
    assert after["disc_accuracy"] > 0.75, after
    assert after["disc_acc_human"] > 0.75 and after["disc_acc_machine"] > 0.6


def test_regs_raises_the_generators_reward_against_a_fixed_discriminator(pretrained):
    state, _, after_pretraining = pretrained
    discriminator = HierarchicalDiscriminator(disc_config())
    discriminator.load_state_dict(state)
    gan = trainer(discriminator=discriminator, d_steps=0, g_steps=1, teacher_forcing=False)
    start = gan.evaluate_discriminator(*HELD_OUT)["reward_mean"]
    assert start == pytest.approx(after_pretraining["reward_mean"])
    gan.train(*TRAIN, iterations=10)
    end = gan.evaluate_discriminator(*HELD_OUT)["reward_mean"]
    assert start < 0.35 and end > start + 0.2, (start, end)


def test_teacher_forcing_keeps_the_generator_close_to_human_replies():
    nll, recorder = {}, Recorder()
    for teacher_forcing in (True, False):
        logger = Logger(folder=None, output_formats=[recorder]) if teacher_forcing else None
        gan = trainer(teacher_forcing=teacher_forcing, n_rollouts=2, logger=logger)
        nll["before"] = gan.nll(*HELD_OUT)
        gan.train(*TRAIN, iterations=8, validation=HELD_OUT, eval_every=4, sample_every=4)
        nll[str(teacher_forcing)] = gan.nll(*HELD_OUT)
    assert nll["True"] < nll["before"] - 0.2, nll
    assert nll["True"] < nll["False"] - 0.2, nll
    logged = {key for dump in recorder.dumps for key in dump}
    for key in (
        "train/disc_loss",
        "train/disc_acc_human",
        "train/disc_acc_machine",
        "train/reward_mean",
        "train/pg_loss",
        "train/mle_loss",
        "samples/replies",
        "eval/nll",
        "eval/disc_accuracy",
    ):
        assert key in logged, key
    assert len(recorder.dumps) == 8


def test_monte_carlo_rewards_are_probabilities_per_step_and_zero_after_eos(pretrained):
    state, _, _ = pretrained
    discriminator = HierarchicalDiscriminator(disc_config())
    discriminator.load_state_dict(state)
    gan = trainer(discriminator=discriminator)
    src = HELD_OUT[0][:32]
    replies = gan.sample_replies(src)  # (B, T)
    replies[0] = torch.tensor([EOS_ID] + [PAD_ID] * (replies.shape[1] - 1))  # an empty reply
    rewards = gan.step_rewards(src, replies)
    assert rewards.shape == replies.shape
    assert ((rewards >= 0) & (rewards <= 1)).all()
    lengths = (replies != PAD_ID).sum(1)
    after_end = torch.arange(replies.shape[1]) >= lengths[:, None]
    assert (rewards[after_end] == 0).all() and (rewards[~after_end] > 0).all()
    with torch.no_grad():
        whole = discriminator.eval().prob_human(gan.dialogues(src, replies))
    torch.testing.assert_close(rewards[torch.arange(32), lengths - 1], whole)
    assert lengths.max() > 2  # some rewards come from Monte Carlo search


def test_resume_equals_uninterrupted_training_bit_for_bit(tmp_path):
    def make() -> AdversarialDialogue:
        return AdversarialDialogue(
            chat_model=chat_model(dropout=0.1),
            discriminator_config=disc_config(dropout=0.1),
            n_rollouts=2,
            d_steps=2,
            g_steps=1,
            batch_size=16,
            seed=5,
        )

    whole = make()
    whole.train(*TRAIN, iterations=4, checkpoint_dir=tmp_path / "whole", checkpoint_every=2)
    part = make()
    part.train(*TRAIN, iterations=2, checkpoint_dir=tmp_path / "part")
    resumed = make()
    resumed.resume(tmp_path / "part")
    assert resumed.num_iterations == 2
    resumed.train(*TRAIN, iterations=4, checkpoint_dir=tmp_path / "part")

    assert resumed.num_updates == whole.num_updates == 8  # pg + teacher forcing per iteration
    for a, b in ((whole.model, resumed.model), (whole.discriminator, resumed.discriminator)):
        for name, value in a.state_dict().items():
            assert torch.equal(value, b.state_dict()[name]), name
    for a, b in (
        (whole.optimizer, resumed.optimizer),
        (whole.disc_optimizer, resumed.disc_optimizer),
    ):
        for x, y in zip(
            a.state_dict()["state"].values(), b.state_dict()["state"].values(), strict=True
        ):
            assert torch.equal(x["exp_avg_sq"], y["exp_avg_sq"])
    assert torch.equal(whole.generator.get_state(), resumed.generator.get_state())
    other = AdversarialDialogue(
        chat_model=chat_model(dropout=0.1),
        discriminator_config=disc_config(dropout=0.1),
        n_rollouts=3,
        d_steps=2,
        batch_size=16,
        seed=5,
    )
    with pytest.raises(ValueError, match="n_rollouts"):
        other.resume(tmp_path / "part")


def test_a_discriminator_of_another_vocabulary_is_refused():
    wrong = HierarchicalDiscriminator(HierarchicalDiscriminatorConfig(len(VOCABULARY) + 1))
    with pytest.raises(ValueError, match="token ids"):
        AdversarialDialogue(chat_model=chat_model(), discriminator=wrong)
    with pytest.raises(ValueError, match="not both"):
        AdversarialDialogue(
            chat_model=chat_model(), discriminator=wrong, discriminator_config=disc_config()
        )
