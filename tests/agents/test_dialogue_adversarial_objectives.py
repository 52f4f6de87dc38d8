"""REGS with the objectives and remedies of lhyrl.nn.gan, on the reversal corpus of
test_dialogue_adversarial: every objective trains and rewards through the registry, energy
objectives get a dialogue auto-encoder, and a run with MAGAN, an ensemble and replay resumes
bit for bit."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from test_dialogue_adversarial import HELD_OUT, TRAIN, chat_model, disc_config

from lhyrl.agents import AdversarialDialogue
from lhyrl.data.text import PAD_ID
from lhyrl.nn.dialogue import DialogueAutoEncoderDiscriminator, HierarchicalDiscriminator
from lhyrl.nn.gan import DEFAULT_SETTINGS, MAGAN, objective_names

torch.set_num_threads(1)


def _regs(**kwargs: Any) -> AdversarialDialogue:
    settings: dict[str, Any] = {
        "chat_model": chat_model(),
        "n_rollouts": 2,
        "disc_lr": 3e-3,
        "learning_rate": 1e-2,
        "batch_size": 16,
        "seed": 0,
    }
    return AdversarialDialogue(**{**settings, **kwargs})


@pytest.mark.parametrize("name", objective_names())
def test_every_objective_trains_regs_and_defines_its_reward(name: str) -> None:
    energy = name in ("ebgan", "magan")
    regs = _regs(disc_loss=name, **({} if energy else {"discriminator_config": disc_config()}))
    kind = DialogueAutoEncoderDiscriminator if energy else HierarchicalDiscriminator
    assert isinstance(regs.discriminator, kind)
    regs.pretrain_discriminator(*TRAIN, steps=2)
    regs.train(*TRAIN, iterations=1)
    src = HELD_OUT[0][:8]
    replies = regs.sample_replies(src)
    rewards = regs.step_rewards(src, replies)  # (B, T)
    with torch.no_grad():
        out = regs.discriminator.eval()(regs.dialogues(src, replies))
    expected = {"bce": torch.sigmoid(out), "ebgan": -out, "magan": -out}.get(name, out)
    last = (replies != PAD_ID).sum(1) - 1
    torch.testing.assert_close(rewards[torch.arange(8), last], expected)
    measures = regs.evaluate_discriminator(*HELD_OUT, seed=1)
    assert 0 <= measures["disc_accuracy"] <= 1
    if name == "magan":
        assert isinstance(regs.discriminators.objective, MAGAN)
        assert regs.discriminators.objective.margin is not None  # set by the pretraining


def test_an_energy_objective_refuses_a_logit_discriminator() -> None:
    with pytest.raises(
        ValueError,
        match=r"the ebgan objective reads energys, but HierarchicalDiscriminator outputs logits",
    ):
        _regs(disc_loss="ebgan", discriminator=HierarchicalDiscriminator(disc_config()))


def test_regs_with_magan_an_ensemble_and_replay_resumes_bit_for_bit(tmp_path) -> None:
    def make() -> AdversarialDialogue:
        trainer = AdversarialDialogue(
            chat_model=chat_model(dropout=0.1),
            disc_loss="magan",
            ensemble_size=2,
            replay_ratio=0.5,
            replay_capacity=40,
            input_noise=0.1,
            n_rollouts=2,
            d_steps=2,
            batch_size=16,
            seed=5,
        )
        trainer.set_learn_data(TRAIN)
        return trainer

    whole = make()
    whole.learn(4)
    part = make()  # stopped after 2 of 4 iterations (input noise decays over all 4)
    part.learn(4, lambda trainer, done: done < 2, checkpoint_dir=tmp_path)
    resumed = make()
    resumed.resume(tmp_path)
    assert resumed.num_iterations == 2
    resumed.learn(4, checkpoint_dir=tmp_path)

    for a, b in zip(whole.discriminators.members, resumed.discriminators.members, strict=True):
        for key, value in a.state_dict().items():
            assert torch.equal(value, b.state_dict()[key]), key
    for key, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert (
        whole.discriminators.objective.state_dict() == resumed.discriminators.objective.state_dict()
    )
    ours, theirs = whole.discriminators.replay, resumed.discriminators.replay
    assert (
        ours is not None and theirs is not None and (ours.seen, ours.size) == (128, 40)
    )  # 4 x 2 steps x 16
    assert (theirs.seen, theirs.size) == (ours.seen, ours.size)
    assert torch.equal(ours.columns[0], theirs.columns[0])
    assert torch.equal(whole.generator.get_state(), resumed.generator.get_state())
    other = AdversarialDialogue(
        chat_model=chat_model(dropout=0.1), disc_loss="magan", n_rollouts=2, d_steps=2,
        batch_size=16, seed=5, replay_ratio=0.5, replay_capacity=40, input_noise=0.1,
    )  # fmt: skip
    with pytest.raises(ValueError, match="ensemble_size"):
        other.resume(tmp_path)


def test_a_checkpoint_from_before_the_discriminator_settings_resumes_as_the_defaults(
    tmp_path,
) -> None:
    regs = _regs(discriminator_config=disc_config())
    regs.train(*TRAIN, iterations=1, checkpoint_dir=tmp_path)
    path = tmp_path / "checkpoint.pt"
    saved = torch.load(path, weights_only=True)
    for key in DEFAULT_SETTINGS:
        del saved["state"]["hyperparameters"][key]
    del saved["state"]["extra"]["discriminator_state"]
    torch.save(saved, path)  # what lhyrl wrote before
    resumed = _regs(discriminator_config=disc_config())
    resumed.resume(tmp_path)
    assert resumed.num_iterations == 1
    for key, value in regs.discriminator.state_dict().items():
        assert torch.equal(resumed.discriminator.state_dict()[key], value), key
    with pytest.raises(ValueError, match="ensemble_size: 1 vs 2"):
        _regs(discriminator_config=disc_config(), ensemble_size=2).resume(tmp_path)
