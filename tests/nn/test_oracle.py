from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import torch

from lhyrl.metrics import nll_oracle
from lhyrl.nn import (
    SHIPPED_ORACLES,
    RecurrentConfig,
    SequenceGenerator,
    load_oracle,
    random_oracle,
    save_oracle,
)
from lhyrl.nn.oracle import ORACLE_KEYS, shipped_oracle_file

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def paper_oracle() -> SequenceGenerator:
    return load_oracle("seqgan")


def test_paper_oracle_ships_with_the_package_and_loads_by_name(paper_oracle):
    assert SHIPPED_ORACLES == ("seqgan",)
    assert shipped_oracle_file("seqgan").is_file()
    config = paper_oracle.config
    assert (config.vocab_size, config.embedding_dim, config.hidden_dim) == (5000, 32, 32)
    assert (config.cell, config.num_layers) == ("lstm", 1) and not paper_oracle.training


def test_unknown_oracle_name_or_missing_file_gets_an_error_listing_the_shipped_names(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'seqgn'.*shipped oracle \('seqgan'\)"):
        load_oracle("seqgn")
    with pytest.raises(FileNotFoundError, match=r"missing\.npz.*shipped oracle \('seqgan'\)"):
        load_oracle(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match=r"called 'seqgn'; shipped oracles: 'seqgan'"):
        shipped_oracle_file("seqgn")


def test_a_file_named_like_a_shipped_oracle_loads_by_its_path(tmp_path, monkeypatch):
    save_oracle(tmp_path / "seqgan", random_oracle(20, 4, 4, seed=0))
    monkeypatch.chdir(tmp_path)
    assert load_oracle("seqgan").config.vocab_size == 5000  # the name wins
    assert load_oracle("./seqgan").config.vocab_size == 20


def test_paper_oracle_samples_score_5_75_nats_per_token(paper_oracle):
    generator = torch.Generator().manual_seed(0)
    samples = paper_oracle.sample(4096, 20, start_token=0, generator=generator)
    assert nll_oracle(paper_oracle, samples) == pytest.approx(5.75, abs=0.05)


def test_untrained_generator_scores_far_worse_than_the_oracle(paper_oracle):
    torch.manual_seed(0)
    untrained = SequenceGenerator(RecurrentConfig(vocab_size=5000))
    samples = untrained.sample(1024, 20, start_token=0, generator=torch.Generator().manual_seed(0))
    assert nll_oracle(paper_oracle, samples) > np.log(5000) + 1.0  # paper: random 10.31


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def test_paper_oracle_is_an_lstm_with_gates_in_order_i_f_g_o(paper_oracle):
    with resources.as_file(shipped_oracle_file("seqgan")) as path:
        w = dict(np.load(path, allow_pickle=False))
    tokens = [17, 4999, 0, 123, 42]
    h = c = np.zeros(32)
    expected = []
    for prev, token in zip([0, *tokens[:-1]], tokens, strict=True):
        z = w["lstm.weight_ih_l0"] @ w["embedding.weight"][prev] + w["lstm.bias_ih_l0"]
        z = z + w["lstm.weight_hh_l0"] @ h + w["lstm.bias_hh_l0"]
        i, f, g, o = np.split(z, 4)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        logits = w["out.weight"] @ h + w["out.bias"]
        expected.append(logits[token] - np.log(np.exp(logits - logits.max()).sum()) - logits.max())
    with torch.no_grad():
        got = paper_oracle.log_prob(torch.tensor([tokens]), 0)[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def oracle_arrays(vocab_size: int = 20) -> dict[str, np.ndarray]:
    model = random_oracle(vocab_size, 4, 3, seed=0)
    state = model.state_dict()
    return {k: state[k.replace("lstm.", "rnn.")].numpy() for k in ORACLE_KEYS}


def test_loading_an_oracle_without_a_key_names_the_key_and_its_shape(tmp_path):
    arrays = oracle_arrays()
    del arrays["out.bias"]
    np.savez(tmp_path / "o.npz", **arrays)
    with pytest.raises(ValueError, match=r"missing key 'out.bias' \(expected shape \(20,\)\)"):
        load_oracle(tmp_path / "o.npz")


def test_loading_an_oracle_with_a_wrong_shape_names_the_key_and_the_expected_shape(tmp_path):
    arrays = oracle_arrays()
    arrays["lstm.weight_ih_l0"] = arrays["lstm.weight_ih_l0"][:, :3]
    np.savez(tmp_path / "o.npz", **arrays)
    with pytest.raises(
        ValueError, match=r"'lstm.weight_ih_l0' has shape \(12, 3\), expected \(12, 4\)"
    ):
        load_oracle(tmp_path / "o.npz")


def test_loading_an_oracle_refuses_extra_layers_and_integer_arrays(tmp_path):
    arrays = oracle_arrays()
    arrays["lstm.weight_ih_l1"] = arrays["lstm.weight_hh_l0"]
    np.savez(tmp_path / "extra.npz", **arrays)
    with pytest.raises(ValueError, match=r"unexpected key.*lstm\.weight_ih_l1"):
        load_oracle(tmp_path / "extra.npz")
    arrays = oracle_arrays()
    arrays["out.bias"] = arrays["out.bias"].astype(np.int64)
    np.savez(tmp_path / "int.npz", **arrays)
    with pytest.raises(ValueError, match=r"'out\.bias' has dtype int64"):
        load_oracle(tmp_path / "int.npz")


def test_save_then_load_gives_the_same_oracle(tmp_path):
    oracle = random_oracle(30, 8, 6, seed=1)
    path = save_oracle(tmp_path / "sub" / "oracle.npz", oracle)
    assert sorted(np.load(path, allow_pickle=False).files) == sorted(ORACLE_KEYS)
    assert [p.name for p in path.parent.iterdir()] == ["oracle.npz"]  # no temporary file left
    loaded = load_oracle(path)
    for (name, a), (_, b) in zip(
        oracle.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    samples = [
        m.sample(8, 10, start_token=0, generator=torch.Generator().manual_seed(3))
        for m in (oracle, loaded)
    ]
    assert torch.equal(*samples)


def test_random_oracle_is_seeded_and_drawn_from_a_standard_normal():
    oracle = random_oracle(seed=7)
    state = oracle.state_dict()
    assert torch.equal(state["out.weight"], random_oracle(seed=7).state_dict()["out.weight"])
    assert not torch.equal(state["out.weight"], random_oracle(seed=8).state_dict()["out.weight"])
    assert state["embedding.weight"].shape == (5000, 32)
    assert torch.all(state["rnn.bias_hh_l0"] == 0)
    for key in ("embedding.weight", "out.weight", "rnn.weight_hh_l0"):
        assert abs(state[key].mean().item()) < 0.05 and abs(state[key].std().item() - 1) < 0.05


def test_save_oracle_refuses_a_gru(tmp_path):
    gru = SequenceGenerator(RecurrentConfig(vocab_size=5, cell="gru"))
    with pytest.raises(ValueError, match="one-layer LSTM"):
        save_oracle(tmp_path / "o.npz", gru)
