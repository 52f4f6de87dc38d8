"""The oracle LSTM of SeqGAN's synthetic experiment: load, save, or make a random one.

An oracle is a :class:`~lhyrl.nn.recurrent.SequenceGenerator` with one LSTM layer. Its file is
an ``.npz`` of float32 arrays in PyTorch ``nn.LSTM`` layout (gates i, f, g, o), with V tokens,
embeddings of size E and a state of size H:

==========================  ==========  ==========================================
key                         shape       meaning
==========================  ==========  ==========================================
``embedding.weight``        (V, E)      token embeddings
``lstm.weight_ih_l0``       (4H, E)     input-to-hidden, gates stacked
``lstm.weight_hh_l0``       (4H, H)     hidden-to-hidden
``lstm.bias_ih_l0``         (4H,)       bias
``lstm.bias_hh_l0``         (4H,)       second bias (zeros in the paper's oracle)
``out.weight``              (V, H)      output projection
``out.bias``                (V,)        output bias
==========================  ==========  ==========================================

The SeqGAN paper's oracle (Yu et al., AAAI 2017; V = 5000, E = H = 32) ships with lhyrl as
``lhyrl/nn/weights/seqgan_oracle.npz`` and loads by name: ``load_oracle("seqgan")``. It is the
oracle of the paper's synthetic experiment converted to this layout (TensorFlow's LSTM has one
bias, so ``lstm.bias_hh_l0`` is zero). The paper's protocol with it:

- sequences of 20 tokens; generation starts from h = c = 0 with token 0 fed as the first input,
  and each sampled token is fed back as the next input. Token 0 is an ordinary token (no EOS,
  no padding);
- the training set is 9,984 oracle samples (156 batches of 64);
- NLL-oracle (:func:`lhyrl.metrics.nll_oracle`) is the average over the 20 generated tokens of
  ``-log p_oracle(x_t | x_<t)`` (the start token is not scored), averaged over full batches of
  64 sequences. The oracle's own samples score about 5.75 nats per token (5.752 ± 0.002 over
  100,000 samples); the paper's Table 1 reports Random 10.310, MLE 9.038, Scheduled Sampling
  8.985, PG-BLEU 8.946 and SeqGAN 8.736.
"""

from __future__ import annotations

import os
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np
import torch

from lhyrl.files import atomic_write
from lhyrl.nn.recurrent import RecurrentConfig, SequenceGenerator

ORACLE_KEYS = (
    "embedding.weight",
    "lstm.weight_ih_l0",
    "lstm.weight_hh_l0",
    "lstm.bias_ih_l0",
    "lstm.bias_hh_l0",
    "out.weight",
    "out.bias",
)
"""The arrays of an oracle file, in the order :func:`random_oracle` draws them."""

SHIPPED_ORACLES = ("seqgan",)
"""Names of the oracles that ship with lhyrl: ``"seqgan"`` is the SeqGAN paper's."""


def _module_key(file_key: str) -> str:
    """Name of a file array in the generator's ``state_dict`` (its LSTM is called ``rnn``)."""
    return "rnn." + file_key[len("lstm.") :] if file_key.startswith("lstm.") else file_key


def _expected_shapes(vocab_size: int, embedding_dim: int, hidden_dim: int) -> dict[str, tuple]:
    gates = 4 * hidden_dim
    return {
        "embedding.weight": (vocab_size, embedding_dim),
        "lstm.weight_ih_l0": (gates, embedding_dim),
        "lstm.weight_hh_l0": (gates, hidden_dim),
        "lstm.bias_ih_l0": (gates,),
        "lstm.bias_hh_l0": (gates,),
        "out.weight": (vocab_size, hidden_dim),
        "out.bias": (vocab_size,),
    }


def _oracle_config(vocab_size: int, embedding_dim: int, hidden_dim: int) -> RecurrentConfig:
    return RecurrentConfig(
        vocab_size=vocab_size, embedding_dim=embedding_dim, hidden_dim=hidden_dim, cell="lstm"
    )


def _generator_from_arrays(arrays: dict[str, np.ndarray], source: str) -> SequenceGenerator:
    """Check an oracle's arrays against the layout and build the generator."""

    def require(key: str, what: str, ndim: int) -> np.ndarray:
        if key not in arrays:
            raise ValueError(f"{source}: missing key {key!r} (expected shape {what})")
        if arrays[key].ndim != ndim:
            raise ValueError(
                f"{source}: key {key!r} has shape {arrays[key].shape}, expected {what}"
            )
        return arrays[key]

    vocab_size, embedding_dim = require("embedding.weight", "(V, E)", 2).shape
    gates, hidden_dim = require("lstm.weight_hh_l0", "(4 * H, H)", 2).shape
    if gates != 4 * hidden_dim:
        raise ValueError(
            f"{source}: key 'lstm.weight_hh_l0' has shape {(gates, hidden_dim)}, "
            f"expected (4 * H, H) = {(4 * hidden_dim, hidden_dim)}"
        )
    expected = _expected_shapes(vocab_size, embedding_dim, hidden_dim)
    for key, shape in expected.items():
        if key not in arrays:
            raise ValueError(f"{source}: missing key {key!r} (expected shape {shape})")
        if arrays[key].shape != shape:
            raise ValueError(
                f"{source}: key {key!r} has shape {arrays[key].shape}, expected {shape}"
            )
        if not np.issubdtype(arrays[key].dtype, np.floating):
            raise ValueError(f"{source}: key {key!r} has dtype {arrays[key].dtype}, expected float")
    unexpected = sorted(set(arrays) - set(expected))
    if unexpected:
        raise ValueError(
            f"{source}: unexpected key(s) {unexpected}; an oracle is one LSTM layer with keys "
            f"{list(ORACLE_KEYS)}"
        )
    model = SequenceGenerator(_oracle_config(vocab_size, embedding_dim, hidden_dim))
    state = {
        _module_key(k): torch.from_numpy(np.asarray(a, dtype=np.float32)) for k, a in arrays.items()
    }
    model.load_state_dict(state)
    return model.eval()


def _shipped_names() -> str:
    return ", ".join(repr(name) for name in SHIPPED_ORACLES)


def shipped_oracle_file(name: str) -> Traversable:
    """The resource of a shipped oracle.

    Args:
        name: One of :data:`SHIPPED_ORACLES`.

    Returns:
        ``lhyrl/nn/weights/<name>_oracle.npz`` as an importlib resource, found wherever lhyrl
        is installed.

    Raises:
        ValueError: If ``name`` is not a shipped oracle; the message lists those that are.
    """
    if name not in SHIPPED_ORACLES:
        raise ValueError(
            f"no shipped oracle is called {name!r}; shipped oracles: {_shipped_names()}"
        )
    return resources.files("lhyrl.nn") / "weights" / f"{name}_oracle.npz"


def _read_npz(path: str | os.PathLike[str], source: str) -> SequenceGenerator:
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return _generator_from_arrays(arrays, source)


def load_oracle(path: str | os.PathLike[str]) -> SequenceGenerator:
    """Read an oracle LSTM from an ``.npz`` file in the layout of this module's docstring.

    Args:
        path: The ``.npz`` file, or the name of a shipped oracle (:data:`SHIPPED_ORACLES`;
            ``"seqgan"`` is the SeqGAN paper's). A name is looked up before the file system:
            write ``./seqgan`` for a file of that name. Nothing is unpickled.

    Returns:
        The oracle, a one-layer LSTM :class:`SequenceGenerator` in eval mode.

    Raises:
        FileNotFoundError: If ``path`` is neither a shipped oracle's name nor a file, or a
            shipped oracle's file is missing from the installation.
        ValueError: If a key is missing or unexpected, or an array has the wrong shape or a
            non-float dtype; the message names the key and the expected shape.
    """
    if isinstance(path, str) and path in SHIPPED_ORACLES:
        resource = shipped_oracle_file(path)
        if not resource.is_file():
            raise FileNotFoundError(
                f"lhyrl/nn/weights/{path}_oracle.npz is missing (is lhyrl installed with its "
                "package data?)"
            )
        with resources.as_file(resource) as file:
            return _read_npz(file, f"lhyrl/nn/weights/{path}_oracle.npz")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"no oracle file {os.fspath(path)!r}; give an .npz file or the name of a shipped "
            f"oracle ({_shipped_names()})"
        )
    return _read_npz(path, str(path))


def random_oracle(
    vocab_size: int = 5000, embedding_dim: int = 32, hidden_dim: int = 32, *, seed: int
) -> SequenceGenerator:
    """Make a random oracle LSTM the way the SeqGAN paper made its own.

    The paper initialises its oracle's parameters from N(0, 1); the file of the paper's
    oracle agrees (every array has mean ≈ 0 and standard deviation ≈ 1), except
    ``lstm.bias_hh_l0``, which is zero because TensorFlow's LSTM has one bias. So every array
    is drawn from N(0, 1), in the order of :data:`ORACLE_KEYS`, and ``lstm.bias_hh_l0`` is zero.

    Args:
        vocab_size: Number of tokens V.
        embedding_dim: Embedding size E.
        hidden_dim: LSTM state size H.
        seed: Seeds the only source of randomness.

    Returns:
        The oracle, in eval mode.
    """
    generator = torch.Generator().manual_seed(seed)
    arrays = {}
    for key, shape in _expected_shapes(vocab_size, embedding_dim, hidden_dim).items():
        if key == "lstm.bias_hh_l0":
            arrays[key] = np.zeros(shape, dtype=np.float32)
        else:
            arrays[key] = torch.randn(shape, generator=generator).numpy()
    return _generator_from_arrays(arrays, "random_oracle")


def save_oracle(path: str | os.PathLike[str], model: SequenceGenerator) -> Path:
    """Write a one-layer LSTM generator as an oracle ``.npz`` file, atomically.

    The arrays go to a temporary file in the same folder, which is then renamed into place.

    Args:
        path: The file to create or replace.
        model: A one-layer LSTM :class:`SequenceGenerator`.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: If ``model`` is not a one-layer LSTM.
    """
    config = model.config
    if config.cell != "lstm" or config.num_layers != 1:
        raise ValueError(
            f"an oracle file holds a one-layer LSTM; got cell={config.cell!r}, "
            f"num_layers={config.num_layers}"
        )
    state = model.state_dict()
    arrays = {key: state[_module_key(key)].detach().cpu().float().numpy() for key in ORACLE_KEYS}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    return atomic_write(path, write)
