from __future__ import annotations

import math

import pytest
import torch

from lhyrl.data.dialogue import TokenizedPair, encode_pairs
from lhyrl.data.text import EOS_ID, PAD_ID, UNK_ID, Vocabulary, tokenize
from lhyrl.nn import Seq2Seq, Seq2SeqConfig
from lhyrl.rewards.dialogue import (
    DULL_REPLIES,
    DialogueReward,
    DialogueRewardWeights,
    ease_of_answering,
    encode_dull_replies,
    encode_turns,
    information_flow,
    mean_log_likelihood,
    replies_as_sources,
    semantic_coherence,
)

torch.set_num_threads(1)

# Context -> reply. After "what ?" and "huh ?" the model learns to answer dully.
PAIRS = [
    ("how are you ?", "i am fine , thanks"),
    ("what ?", "i don't know"),
    ("huh ?", "i don't know what you are talking about"),
    ("i like pizza", "pizza is great"),
    ("what is your name ?", "my name is bot"),
    ("the sky is blue", "yes it is"),
]
LENGTH = 12


def _train(pairs: list[tuple[str, str]], vocabulary: Vocabulary, seed: int) -> Seq2Seq:
    """A tiny Seq2Seq fitted to a handful of pairs (a second or two on one thread)."""
    torch.manual_seed(seed)
    model = Seq2Seq(Seq2SeqConfig(len(vocabulary), embedding_dim=16, hidden_dim=16))
    tokenized = [TokenizedPair(tuple(tokenize(c)), tuple(tokenize(r))) for c, r in pairs]
    src, tgt = encode_pairs(tokenized, vocabulary, source_len=LENGTH, target_len=LENGTH)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        optimizer.zero_grad()
        model.loss(src, tgt).backward()
        optimizer.step()
    return model


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.build(tokenize(text) for pair in PAIRS for text in pair)


@pytest.fixture(scope="module")
def models(vocabulary: Vocabulary) -> tuple[Seq2Seq, Seq2Seq]:
    forward = _train(PAIRS, vocabulary, seed=0)
    backward = _train([(r, c) for c, r in PAIRS], vocabulary, seed=1)
    return forward, backward


def turns(vocabulary: Vocabulary, *texts: str) -> torch.Tensor:
    """Turns in target form: tokens, EOS, padding."""
    return torch.from_numpy(vocabulary.encode_batch([tokenize(t) for t in texts], LENGTH))


def sources(vocabulary: Vocabulary, *texts: str) -> torch.Tensor:
    return replies_as_sources(turns(vocabulary, *texts))


def test_dull_replies_are_encoded_in_target_form(vocabulary):
    dull = encode_dull_replies(vocabulary)
    assert dull.shape == (len(DULL_REPLIES["english"]), 9)  # the longest has 8 tokens
    assert vocabulary.decode(dull[1]) == ["i", "don't", "know"]
    assert dull[1, 3] == EOS_ID and (dull[1, 4:] == PAD_ID).all()
    assert UNK_ID in dull[3]  # "mean" is not in the tiny vocabulary
    chinese = encode_dull_replies(Vocabulary(["我", "不", "知", "道"]), "chinese")
    assert chinese.shape == (4, 6)


def test_replies_become_sources_cut_at_eos():
    replies = torch.tensor([[5, 6, EOS_ID, PAD_ID], [7, 8, 9, 10], [EOS_ID, PAD_ID, PAD_ID, 0]])
    assert replies_as_sources(replies).tolist() == [
        [5, 6, PAD_ID, PAD_ID],
        [7, 8, 9, 10],  # cut at max_len: no EOS
        [EOS_ID, PAD_ID, PAD_ID, PAD_ID],  # an empty reply keeps one token
    ]


def test_a_reply_that_invites_a_dull_answer_is_less_easy_to_answer(vocabulary, models):
    forward, _ = models
    dull = encode_dull_replies(vocabulary)
    r1 = ease_of_answering(forward, turns(vocabulary, "what ?", "huh ?", "i like pizza"), dull)
    assert r1.shape == (3,) and (r1 > 0).all()
    assert r1[0] < r1[2] - 1.0 and r1[1] < r1[2] - 1.0


def test_ease_of_answering_is_the_mean_negative_per_token_log_likelihood(vocabulary, models):
    forward, _ = models
    dull = encode_dull_replies(vocabulary)
    reply = turns(vocabulary, "pizza is great")
    forward.train()
    r1 = ease_of_answering(forward, reply, dull)
    assert forward.training  # the mode is restored
    forward.eval()
    with torch.no_grad():
        expected = -sum(
            forward.score(replies_as_sources(reply), s[None]) / (s != PAD_ID).sum() for s in dull
        ) / len(dull)
    assert torch.allclose(r1, expected, atol=1e-5)


def test_repeating_the_previous_turn_lowers_information_flow(vocabulary, models):
    forward, _ = models
    previous = encode_turns(forward, turns(vocabulary, "i like pizza", "how are you ?"))
    again = encode_turns(forward, turns(vocabulary, "i like pizza", "my name is bot"))
    r2 = information_flow(previous, again)
    assert r2[0] == pytest.approx(0.0, abs=1e-5)  # verbatim repeat
    assert r2[1] > 0.01


def test_information_flow_on_hand_made_states():
    previous = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    current = torch.tensor([[2.0, 0.0], [0.5, 0.5 * math.sqrt(3)], [0.0, 1.0], [-1.0, 0.0]])
    r2 = information_flow(previous, current, min_cosine=0.01)
    floor = -math.log(0.01)
    assert r2.tolist() == pytest.approx([0.0, math.log(2.0), floor, floor], abs=1e-6)


def test_a_reply_the_models_associate_with_the_context_is_more_coherent(vocabulary, models):
    forward, backward = models
    context = sources(vocabulary, "how are you ?", "how are you ?")
    query = turns(vocabulary, "how are you ?", "how are you ?")
    reply = turns(vocabulary, "i am fine , thanks", "pizza is great")
    r3 = semantic_coherence(forward, backward, context=context, query=query, reply=reply)
    assert (r3 <= 0).all()
    assert r3[0] > r3[1] + 1.0
    expected = mean_log_likelihood(forward, context, reply) + mean_log_likelihood(
        backward, replies_as_sources(reply), query
    )
    assert torch.allclose(r3, expected.detach(), atol=1e-5)


def test_the_reward_weights_the_terms_as_configured(vocabulary, models):
    forward, backward = models
    dull = encode_dull_replies(vocabulary)
    batch = {
        "context": sources(vocabulary, "what ?", "i like pizza"),
        "query": turns(vocabulary, "what ?", "i like pizza"),
        "reply": turns(vocabulary, "i don't know", "pizza is great"),
        "previous_reply": turns(vocabulary, "i don't know", "how are you ?"),
    }
    terms = DialogueReward(forward, backward, dull)(**batch)
    r1, r2, r3 = terms.ease_of_answering, terms.information_flow, terms.semantic_coherence
    assert torch.allclose(terms.total, 0.25 * r1 + 0.25 * r2 + 0.5 * r3)
    assert r2[0] == pytest.approx(0.0, abs=1e-5) and r2[1] > 0
    assert set(terms.info(1)) == {
        "total",
        "ease_of_answering",
        "information_flow",
        "semantic_coherence",
    }

    weights = DialogueRewardWeights(
        ease_of_answering=1.0, information_flow=0.0, semantic_coherence=2.0
    )
    custom = DialogueReward(forward, backward, dull, weights=weights)(**batch)
    assert torch.allclose(custom.total, r1 + 2.0 * r3)

    first_turn = DialogueReward(forward, backward, dull)(**{**batch, "previous_reply": None})
    assert (first_turn.information_flow == 0).all()


def test_bad_input_is_rejected_with_a_clear_error(vocabulary, models):
    forward, backward = models
    dull = encode_dull_replies(vocabulary)
    reward = DialogueReward(forward, backward, dull)
    two = turns(vocabulary, "what ?", "i like pizza")
    one = turns(vocabulary, "what ?")
    with pytest.raises(ValueError, match="empty"):
        ease_of_answering(forward, two[:0], dull)
    with pytest.raises(ValueError, match="same number of rows"):
        reward(context=replies_as_sources(two), query=two, reply=one)
    with pytest.raises(ValueError, match="2-d long"):
        ease_of_answering(forward, two.float(), dull)
    with pytest.raises(ValueError, match="same shape"):
        information_flow(torch.ones(2, 4), torch.ones(3, 4))
    with pytest.raises(ValueError, match="min_cosine"):
        information_flow(torch.ones(2, 4), torch.ones(2, 4), min_cosine=0.0)
    with pytest.raises(ValueError, match="non-empty"):
        encode_dull_replies(vocabulary, replies=[])
    with pytest.raises(ValueError, match="empty"):
        DialogueReward(forward, backward, dull[:0])
    other = Seq2Seq(Seq2SeqConfig(len(vocabulary) + 1, embedding_dim=8, hidden_dim=8))
    with pytest.raises(ValueError, match="backward model"):
        DialogueReward(forward, other, dull)
