"""The discriminator side of every adversarial trainer: members, objective, remedies, optimizer.

:class:`DiscriminatorEnsemble` is what GAIL, AIRL, SeqGAN and REGS hold in place of a bare
discriminator. It owns k discriminators (k = 1 unless an ensemble is asked for), one Adam
optimizer over all of them, the objective of :mod:`lhyrl.nn.gan.objectives` and the remedies of
:class:`~lhyrl.nn.gan.remedies.DiscriminatorRemedies`, and does the two things a trainer needs:

* :meth:`DiscriminatorEnsemble.update`: one gradient step of every member on a batch of real
  and a batch of generated items (each member on its own bootstrap resample when k > 1, with
  input noise and the gradient penalty when asked);
* :meth:`DiscriminatorEnsemble.reward`: the generator's reward per item, the objective's
  reward of each member combined by mean or min.

What a batch is stays the trainer's business: a tensor of tokens (SeqGAN, REGS) or a mapping
of named tensors or arrays of one leading dimension (GAIL, AIRL: features, terminal flags,
observations, actions), and ``score(member, batch)`` says how a member scores one. Every random
draw (bootstrap, noise, replay, penalty points) comes from the trainer's own generator, so the
defaults draw nothing and training stays a function of the trainer's seed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from lhyrl.nn.gan.losses import gradient_penalty
from lhyrl.nn.gan.objectives import DiscriminatorObjective
from lhyrl.nn.gan.remedies import (
    DiscriminatorRemedies,
    EmbeddingTap,
    SampleReplay,
    bootstrap_indices,
)

__all__ = ["Batch", "DiscriminatorEnsemble", "ExtraLoss", "batch_size", "select_items"]

Batch = Tensor | Mapping[str, Any]
"""What a discriminator reads: a tensor, or named tensors / numpy arrays of one leading size."""

InputKind = Literal["vectors", "tokens"]

ExtraLoss = Callable[[nn.Module, Batch, Batch], tuple[Tensor, Mapping[str, float]]]
"""``(member, real, fake) -> (loss, stats)``: a further term of a member's loss."""


def batch_size(batch: Batch) -> int:
    """Items in a batch."""
    if isinstance(batch, Tensor):
        return len(batch)
    return len(next(iter(batch.values())))


def select_items(batch: Batch, index: Tensor) -> Batch:
    """Rows ``index`` (a long tensor) of every tensor or array of a batch."""
    if isinstance(batch, Tensor):
        return batch[index.to(batch.device)]
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if isinstance(value, Tensor):
            out[key] = value[index.to(value.device)]
        else:
            out[key] = np.asarray(value)[index.cpu().numpy()]
    return out


def _with_vectors(batch: Batch, key: str, vectors: Tensor) -> Batch:
    return vectors if isinstance(batch, Tensor) else {**batch, key: vectors}


def _vectors(batch: Batch, key: str) -> Tensor:
    value = batch if isinstance(batch, Tensor) else batch[key]
    assert isinstance(value, Tensor)
    return value


class DiscriminatorEnsemble:
    """k discriminators trained on one objective with the shared remedies, and their reward.

    Args:
        members: The discriminators (k of them, k = ``remedies.ensemble_size``), built by the
            trainer (spectral normalisation applied, see
            :func:`~lhyrl.nn.gan.remedies.apply_spectral_norm`).
        objective: The loss and reward (its ``output_kind`` must be the members').
        remedies: Input noise, replay and the ensemble's reward combination (label smoothing
            and the gradient penalty are the objective's).
        generator: The trainer's generator: every draw of the remedies comes from it.
        inputs: ``"vectors"`` (noise and the gradient penalty act on the continuous input,
            interpolating real and generated items as in WGAN-GP) or ``"tokens"`` (they act
            on the token embeddings; the penalty is taken at the embeddings of the real and of
            the generated items themselves, for token sequences have no interpolates: a
            two-sided version of the data-point penalties of DRAGAN, Kodali et al. 2017).
        learning_rate: Adam's learning rate.
        betas: Adam's betas.
        grad_clip: Largest gradient norm of each member's step; ``None``: no clipping.
        score: ``score(member, batch) -> (B,)`` outputs; default ``member(batch)``.
        vector_key: For mapping batches of vectors, the key of the continuous input.
        replay_pad_value: Pads replayed items of different shapes (see
            :class:`~lhyrl.nn.gan.remedies.SampleReplay`).

    Raises:
        ValueError: If the members are not ``remedies.ensemble_size``, or output another kind
            than the objective reads.
    """

    def __init__(
        self,
        members: Sequence[nn.Module],
        *,
        objective: DiscriminatorObjective,
        remedies: DiscriminatorRemedies,
        generator: torch.Generator,
        inputs: InputKind,
        learning_rate: float,
        betas: tuple[float, float] = (0.9, 0.999),
        grad_clip: float | None = None,
        score: Callable[[nn.Module, Batch], Tensor] | None = None,
        vector_key: str = "features",
        replay_pad_value: float | None = None,
    ) -> None:
        if len(members) != remedies.ensemble_size:
            raise ValueError(
                f"ensemble_size={remedies.ensemble_size} but {len(members)} discriminator(s)"
            )
        if inputs not in ("vectors", "tokens"):
            raise ValueError(f"inputs must be 'vectors' or 'tokens', got {inputs!r}")
        for member in members:
            kind = getattr(member, "output_kind", "logit")
            if kind != objective.output_kind:
                raise ValueError(
                    f"the {objective.name} objective reads {objective.output_kind}s, but "
                    f"{type(member).__name__} outputs {kind}s"
                    + (
                        " (ebgan and magan need an auto-encoder discriminator)"
                        if objective.needs_energy
                        else " (an auto-encoder's energies go with ebgan or magan)"
                    )
                )
        self.members = nn.ModuleList(members)
        self.objective = objective
        self.remedies = remedies
        self.generator = generator
        self.inputs = inputs
        self.learning_rate = float(learning_rate)
        self.betas = betas
        self.grad_clip = grad_clip
        self.score = score or (lambda member, batch: member(batch))
        self.vector_key = vector_key
        self.optimizer = self._new_optimizer()
        self.replay: SampleReplay | None = None
        """The reservoir of past generated items, when ``remedies.replay_ratio > 0``; the
        trainer mixes its negatives with it and adds its fresh ones."""
        if remedies.replay_ratio > 0:
            self.replay = SampleReplay(
                capacity=remedies.replay_capacity,
                ratio=remedies.replay_ratio,
                generator=generator,
                pad_value=replay_pad_value,
            )
        if inputs == "tokens" and (remedies.input_noise > 0 or objective.penalty_weight > 0):
            for member in members:
                EmbeddingTap(member)  # refuses a member without embeddings now, not mid-run

    def _new_optimizer(self) -> torch.optim.Adam:
        # One group, possibly empty (a parameterless stand-in discriminator in a test).
        group = {"params": list(self.members.parameters())}
        return torch.optim.Adam([group], lr=self.learning_rate, betas=self.betas)

    def __len__(self) -> int:
        return len(self.members)

    def replace_member(self, index: int, member: nn.Module) -> None:
        """Put ``member`` in place ``index``; the optimizer starts afresh."""
        self.members[index] = member
        self.optimizer = self._new_optimizer()

    # --- training --------------------------------------------------------------------------

    def update(
        self,
        real: Batch,
        fake: Batch,
        *,
        noise_scale: float = 1.0,
        extra_loss: ExtraLoss | None = None,
    ) -> dict[str, float]:
        """One gradient step of every member on real and generated items.

        Each member scores the real and then the generated batch (its own bootstrap resample
        of each when k > 1); the members' losses (the objective's, plus the gradient penalty)
        are summed and one optimizer step taken (each member's gradient is its own loss's),
        each member's gradient clipped to ``grad_clip`` first.

        Args:
            real: Real items.
            fake: Generated items (replay already mixed in, if any).
            noise_scale: Multiplies ``remedies.input_noise`` (trainers decay it over a run).
            extra_loss: ``extra_loss(member, real, fake) -> (loss, stats)``, a further term
                of each member's loss on the same (resampled) items, such as a domain
                classifier's (third-person GAIL); its stats join the returned ones.

        Returns:
            Means over the members: ``loss`` (with the penalty, without ``extra_loss``),
            ``real_accuracy`` and ``fake_accuracy`` (shares the objective classifies
            rightly), ``real_output`` and ``fake_output`` (mean outputs), ``grad_penalty``
            (unweighted), ``input_noise`` (the std used), the objective's own measures (e.g.
            ``margin``) and ``extra_loss``'s.
        """
        noise = self.remedies.input_noise * noise_scale
        weight = self.objective.penalty_weight
        bootstrap = len(self.members) > 1
        losses: list[Tensor] = []
        rows: list[dict[str, float]] = []
        real_outputs, fake_outputs = [], []
        for member in self.members:
            real_m = select_items(real, self._resample(real)) if bootstrap else real
            fake_m = select_items(fake, self._resample(fake)) if bootstrap else fake
            real_out, fake_out, penalty = self._scores(member, real_m, fake_m, noise, weight)
            loss = self.objective.discriminator_loss(real_out, fake_out)
            if weight > 0:
                loss = loss + weight * penalty
            reported = float(loss.detach())  # the objective's loss, without the extra term
            extra: Mapping[str, float] = {}
            if extra_loss is not None:
                extra_term, extra = extra_loss(member, real_m, fake_m)
                loss = loss + extra_term
            losses.append(loss)
            real_outputs.append(real_out.detach())
            fake_outputs.append(fake_out.detach())
            rows.append(
                {
                    "loss": reported,
                    "real_accuracy": float(self.objective.says_real(real_out).float().mean()),
                    "fake_accuracy": float((~self.objective.says_real(fake_out)).float().mean()),
                    "real_output": float(real_out.detach().mean()),
                    "fake_output": float(fake_out.detach().mean()),
                    "grad_penalty": float(penalty.detach()),
                    **extra,
                }
            )
        self.optimizer.zero_grad(set_to_none=True)
        total = losses[0] if len(losses) == 1 else torch.stack(losses).sum()
        total.backward()
        if self.grad_clip is not None:
            for member in self.members:
                nn.utils.clip_grad_norm_(member.parameters(), self.grad_clip)
        self.optimizer.step()
        stats_before = self.objective.stats()
        self.objective.observe(torch.cat(real_outputs), torch.cat(fake_outputs))
        stats = {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}
        return {**stats, "input_noise": noise, **stats_before}

    def end_epoch(self) -> None:
        """Close an epoch of steps (MAGAN adapts its margin); the trainer says when."""
        self.objective.end_epoch()

    def _resample(self, batch: Batch) -> Tensor:
        return bootstrap_indices(batch_size(batch), self.generator)

    def _noisy(self, vectors: Tensor, noise: float) -> Tensor:
        device = self.generator.device
        draw = torch.randn(vectors.shape, generator=self.generator, device=device)
        return vectors + noise * draw.to(vectors.device, vectors.dtype)

    def _scores(
        self, member: nn.Module, real: Batch, fake: Batch, noise: float, weight: float
    ) -> tuple[Tensor, Tensor, Tensor]:
        """A member's outputs on real and generated items, and the gradient penalty (or 0)."""
        if self.inputs == "vectors":
            if noise > 0:
                real = _with_vectors(
                    real, self.vector_key, self._noisy(_vectors(real, self.vector_key), noise)
                )
                fake = _with_vectors(
                    fake, self.vector_key, self._noisy(_vectors(fake, self.vector_key), noise)
                )
            real_out, fake_out = self.score(member, real), self.score(member, fake)
            penalty = real_out.new_zeros(())
            if weight > 0:
                real_in = real

                def critic(x: Tensor) -> Tensor:
                    return self.score(member, _with_vectors(real_in, self.vector_key, x))

                penalty = gradient_penalty(
                    critic,
                    _vectors(real, self.vector_key),
                    _vectors(fake, self.vector_key),
                    generator=self.generator,
                )
            return real_out, fake_out, penalty
        record = weight > 0
        if noise == 0 and not record:
            real_out, fake_out = self.score(member, real), self.score(member, fake)
            return real_out, fake_out, real_out.new_zeros(())
        # cuDNN's RNNs cannot be differentiated twice: a penalty on embeddings needs the
        # native kernels for the forward pass whose gradient it differentiates.
        no_cudnn = torch.backends.cudnn.flags(enabled=False) if record else contextlib.nullcontext()
        tap = EmbeddingTap(member, noise=noise, generator=self.generator, record=record)
        with no_cudnn, tap:
            real_out = self.score(member, real)
            real_embedded = tap.take()
            fake_out = self.score(member, fake)
            fake_embedded = tap.take()
        penalty = real_out.new_zeros(())
        if record:
            penalty = 0.5 * (
                _embedding_penalty(real_out, real_embedded)
                + _embedding_penalty(fake_out, fake_embedded)
            )
        return real_out, fake_out, penalty

    # --- the generator's reward --------------------------------------------------------------

    @torch.no_grad()
    def outputs(self, batch: Batch) -> Tensor:
        """Every member's outputs (k, B), without gradients (modes are the caller's)."""
        return torch.stack([self.score(member, batch) for member in self.members])

    @torch.no_grad()
    def reward(self, batch: Batch) -> Tensor:
        """The generator's reward per item (B,), without gradients.

        The objective's reward of each member's outputs, combined by their mean or min over
        the members (``remedies.ensemble_reward``).
        """
        if len(self.members) == 1:
            return self.objective.generator_reward(self.score(self.members[0], batch))
        rewards = torch.stack([self.objective.generator_reward(o) for o in self.outputs(batch)])
        if self.remedies.ensemble_reward == "min":
            return rewards.amin(0)
        return rewards.mean(0)

    def says_real(self, batch: Batch) -> Tensor:
        """Which items the ensemble (its mean output) takes for real: (B,) bool."""
        return self.objective.says_real(self.outputs(batch).mean(0))

    # --- state ----------------------------------------------------------------------------

    def extra_state(self, *, members: bool = True) -> dict[str, Any]:
        """The other members, the objective's state and the replay, for a checkpoint.

        Member 0 and the optimizer are the trainer's to save under its own names (and, with
        ``members=False``, the other members too).
        """
        state: dict[str, Any] = {
            "objective": self.objective.state_dict(),
            "replay": None if self.replay is None else self.replay.state_dict(),
        }
        if members:
            state["members"] = [
                {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
                for m in self.members[1:]
            ]
        return state

    def load_extra_state(
        self, state: Mapping[str, Any] | None, *, where: str = "", members: bool = True
    ) -> None:
        """Restore :meth:`extra_state` (saved with the same ``members``).

        ``None`` (a file from before ensembles) fits a single discriminator, a stateless
        objective and no replay.

        Raises:
            ValueError: If the saved state does not fit this ensemble.
        """
        state = state or {"members": [], "objective": {}, "replay": None}
        if members:
            saved = list(state.get("members", []))
            if len(saved) != len(self.members) - 1:
                raise ValueError(
                    f"{where}holds {len(saved) + 1} discriminator(s); this trainer has "
                    f"ensemble_size={len(self.members)}"
                )
            for member, weights in zip(self.members[1:], saved, strict=True):
                member.load_state_dict(weights)
        if state["objective"] or self.objective.state_dict():
            try:
                self.objective.load_state_dict(state["objective"])
            except (KeyError, ValueError) as err:
                raise ValueError(
                    f"{where}holds no state of the {self.objective.name} objective: {err}"
                ) from err
        if (state["replay"] is None) != (self.replay is None):
            raise ValueError(
                f"{where}was written with replay_ratio {'0' if state['replay'] is None else '> 0'}"
                f"; this trainer has replay_ratio={self.remedies.replay_ratio}"
            )
        if self.replay is not None:
            self.replay.load_state_dict(state["replay"])


def _embedding_penalty(out: Tensor, embedded: list[Tensor]) -> Tensor:
    """``mean((||d sum(out) / d e_row|| - 1)^2)`` over the rows of the recorded embeddings."""
    if not embedded:
        raise RuntimeError("no embedding was recorded during the forward pass")
    grads = torch.autograd.grad(out.sum(), embedded, create_graph=True)
    norms = torch.cat([g.flatten(1).norm(dim=1) for g in grads])  # (rows,)
    return ((norms - 1.0) ** 2).mean()
