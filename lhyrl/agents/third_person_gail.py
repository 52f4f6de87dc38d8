"""Third-person imitation learning (Stadie, Abbeel and Sutskever 2017): GAIL over pictures.

The expert is seen from elsewhere: its demonstrations are pictures in a *third-person* domain
(another camera, other colours), while the learner sees its own scene in the *first-person*
domain. The discriminator therefore reads pictures, two frames of each transition (the one
before and the one after the step) stacked along the channels, through a CNN shared by two
heads:

* the discriminator head tells the expert's transitions from the others; the generator's
  reward comes from it through the objective of :mod:`lhyrl.nn.gan.objectives` (``bce``:
  ``-log(1 - D)``);
* the domain classifier tells the expert's domain from the learner's, behind a gradient
  reversal layer (:class:`~lhyrl.nn.domain.GradientReversal`): the features are trained to
  make it fail, so that they hold what the expert does, not how the camera sees it.

Were the expert's pictures the only ones from its domain, "expert" and "third-person" would
be the same label and confusing the domains would erase the very thing the discriminator
needs. So, as in the paper, the expert's domain also brings *failures*: episodes of a
non-expert (random) policy seen in the expert's domain, which are negatives of the
discriminator and positives of the domain classifier.

The policy keeps its low-dimensional observations (SB3 PPO's ``MlpPolicy``); only the
discriminator sees pictures.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
from torch import Tensor, nn

from lhyrl.agents.gail import GAIL
from lhyrl.data import Demonstrations
from lhyrl.nn.gan import Batch
from lhyrl.rewards.frames import FramePairs, FrameRewardNet
from lhyrl.rewards.learned import RewardNet

__all__ = ["FRAMES_HINT", "ThirdPersonGAIL", "frame_pairs"]

FRAMES_HINT = (
    "record demonstrations with frames: lhyrl demos --env ENV --frames third-person "
    "--frame-size 32 --out demos.npz"
)
"""How to get demonstrations that third-person GAIL can read."""


def frame_pairs(demonstrations: Demonstrations, *, what: str) -> tuple[np.ndarray, np.ndarray]:
    """The frames before and after every step of ``demonstrations``: two ``(N, H, W, 3)`` arrays.

    Raises:
        ValueError: If an episode has no frames (saying how to record them), or the frames
            are not square RGB pictures of one size.
    """
    if not isinstance(demonstrations, Demonstrations) or not demonstrations.episodes:
        raise ValueError(f"the {what} must be lhyrl.data.Demonstrations with episodes")
    if any(ep.frames is None for ep in demonstrations.episodes):
        raise ValueError(f"the {what} carry no frames; {FRAMES_HINT}")
    shapes = {ep.frames.shape[1:] for ep in demonstrations.episodes}  # type: ignore[union-attr]
    (shape,) = shapes if len(shapes) == 1 else (None,)
    if shape is None or len(shape) != 3 or shape[0] != shape[1] or shape[2] != 3:
        raise ValueError(
            f"the {what}' frames must be square RGB pictures of one size, got {sorted(shapes)}"
        )
    before = np.concatenate([ep.frames[:-1] for ep in demonstrations.episodes])  # type: ignore[index]
    after = np.concatenate([ep.frames[1:] for ep in demonstrations.episodes])  # type: ignore[index]
    return before, after


class ThirdPersonGAIL(GAIL):
    """GAIL whose discriminator reads frame pairs and is trained to confuse the domains.

    ``learn(total)`` counts the generator's env steps, as GAIL's. One discriminator step
    draws ``demo_batch_size`` expert frame pairs (the expert's domain; discriminator label
    1), and as many negatives (label 0): a ``failure_ratio`` share of failure frame pairs
    (the expert's domain) and the rest the learner's latest (its own domain). The step's loss
    is the objective's (``disc_loss``) plus ``domain_loss_weight`` times the domain
    classifier's binary cross-entropy (expert's domain 1, learner's 0, both domains weighing
    alike), whose gradient reaches the shared CNN multiplied by ``-reversal``.

    Logs, besides GAIL's: ``train/disc_accuracy`` (expert against learner, the mean of the
    two classes' accuracies), ``train/domain_accuracy`` (balanced over the two domains: 0.5 is
    chance, which domain confusion drives it towards), ``train/domain_loss`` and
    ``train/disc_acc_failure``.

    Args:
        demonstrations: The expert's episodes with frames (``Episode.frames``, e.g. from
            ``lhyrl demos --frames third-person``), in the env's observation and action
            spaces.
        venv: The learner's env, each sub-env wrapped in
            :class:`~lhyrl.envs.third_person.DomainFrames` (its domain, frames of the
            demonstrations' size): an SB3 ``VecEnv`` or one Gymnasium env.
        failure_demonstrations: Episodes of a non-expert (e.g. random) policy with frames in
            the expert's domain; ``None``: no failures (then the expert's domain holds only
            the expert, and domain confusion works against the discriminator).
        own_failure_demonstrations: Episodes of a non-expert (random) policy with frames in
            the learner's own domain. With them (and ``failure_demonstrations``), the domain
            classifier compares the two domains on non-expert frames only: the failures of
            each. Otherwise it compares the expert's domain (expert and failures) with the
            learner's frames, and when the two show different behaviour (an upright pole
            against a falling one), features that hide the domain must hide the behaviour too.
        failure_ratio: Share of each batch of negatives drawn from the failures.
        domain_confusion: Reverse the domain classifier's gradient into the features. False
            gives plain image GAIL: the domain classifier is still trained, but as a probe
            that leaves the features alone (its accuracy shows how much of the domain they
            hold).
        domain_loss_weight: Weight of the domain classifier's loss.
        reversal: The gradient reversal's coefficient (lambda) with ``domain_confusion``. On
            InvertedPendulum-v5 (12 rounds of 512 steps, 20 discriminator steps each, seed
            0), 1.0 left the domain accuracy of the last 5 rounds at 0.60 and the
            discriminator's at 0.86; 2.0 at 0.53 and 0.76; 3.0 at 0.49 and 0.71 (plain image
            GAIL: 0.99 and 0.98).
        frame_channels: Output channels of the CNN's stride-2 convolutions.
        frame_features: Size of the CNN's features.
        domain_hidden: Hidden width of the domain classifier.
        normalize_input: Must stay False (pictures are scaled to [0, 1]).
        **kwargs: Everything else goes to :class:`~lhyrl.agents.adversarial.AdversarialTrainer`
            (``gen_kwargs``, ``disc_loss``, the remedies, ``seed``, ``logger``, ...).

    Raises:
        ValueError: If the demonstrations (or failures) carry no frames, saying how to record
            them; if ``failure_ratio`` is outside [0, 1), or positive without failures.
    """

    def __init__(
        self,
        *,
        demonstrations: Demonstrations,
        venv: VecEnv | gym.Env[Any, Any],
        failure_demonstrations: Demonstrations | None = None,
        own_failure_demonstrations: Demonstrations | None = None,
        failure_ratio: float = 0.5,
        domain_confusion: bool = True,
        domain_loss_weight: float = 1.0,
        reversal: float = 2.0,
        frame_channels: tuple[int, ...] = (16, 32, 32),
        frame_features: int = 128,
        domain_hidden: int = 64,
        normalize_input: bool = False,
        **kwargs: Any,
    ) -> None:
        expert_frames = frame_pairs(demonstrations, what="demonstrations")
        failures = None
        if failure_demonstrations is not None:
            failures = frame_pairs(failure_demonstrations, what="failure demonstrations")
            if failures[0].shape[1:] != expert_frames[0].shape[1:]:
                raise ValueError(
                    f"the failures' frames are {failures[0].shape[1:]}, the demonstrations' "
                    f"{expert_frames[0].shape[1:]}"
                )
        own_failures = None
        if own_failure_demonstrations is not None:
            if failures is None:
                raise ValueError(
                    "own_failure_demonstrations are compared with failure_demonstrations: give both"
                )
            own_failures = frame_pairs(
                own_failure_demonstrations, what="own failure demonstrations"
            )
            if own_failures[0].shape[1:] != expert_frames[0].shape[1:]:
                raise ValueError(
                    f"the own failures' frames are {own_failures[0].shape[1:]}, the "
                    f"demonstrations' {expert_frames[0].shape[1:]}"
                )
        if not 0.0 <= failure_ratio < 1.0:
            raise ValueError(f"failure_ratio must lie in [0, 1), got {failure_ratio}")
        if domain_loss_weight < 0 or reversal < 0:
            raise ValueError("domain_loss_weight and reversal must be >= 0")
        if normalize_input:
            raise ValueError("third-person GAIL reads pictures in [0, 1]: normalize_input=False")
        if not isinstance(venv, VecEnv):
            env = venv
            venv = DummyVecEnv([lambda: Monitor(env)])
        frame_shape = expert_frames[0].shape[1:]
        reward_net = partial(
            FrameRewardNet,
            observation_space=venv.observation_space,
            action_space=venv.action_space,
            frame_size=frame_shape[0],
            channels=tuple(frame_channels),
            feature_dim=frame_features,
            domain_hidden=domain_hidden,
            reversal=reversal if domain_confusion else 0.0,
        )
        super().__init__(
            demonstrations=demonstrations,
            venv=FramePairs(venv, frame_shape=frame_shape),
            reward_net=reward_net,
            **kwargs,
        )
        self.expert_frames = expert_frames
        """The expert's frame pairs: before and after each step, ``(N, S, S, 3)`` each."""
        self.failure_frames = failures
        """The failures' frame pairs, or None."""
        self.own_failure_frames = own_failures
        """The learner's domain's failure frame pairs (the domain classifier's), or None."""
        self.failure_ratio = float(failure_ratio) if failures is not None else 0.0
        self.domain_confusion = bool(domain_confusion)
        self.domain_loss_weight = float(domain_loss_weight)

    @property
    def frame_venv(self) -> FramePairs:
        """The learner's env as the trainer sees it: it keeps each step's frame pairs."""
        assert isinstance(self.venv, FramePairs)
        return self.venv

    @property
    def frame_net(self) -> FrameRewardNet:
        """The (first) discriminator."""
        net = self.reward_net
        assert isinstance(net, FrameRewardNet)
        return net

    # --- the discriminator ---------------------------------------------------------------

    def train_discriminator(self, *, noise_scale: float = 1.0) -> dict[str, float]:
        """Take ``n_disc_updates_per_round`` steps of both heads; returns their mean stats.

        The means over the round's steps (GAIL reports its last step's) are what is logged:
        the domain classifier and the features fight, so one step's accuracy swings widely.

        Args:
            noise_scale: Multiplies ``input_noise`` (decays over the run).
        """
        if self._generated.size == 0:
            raise RuntimeError("the generator has produced no transitions yet; train it first")
        frames, _, next_frames, _ = self._generated.arrays()
        replay = self.discriminators.replay
        n_failures = round(self.failure_ratio * self.demo_batch_size)
        n_learner = self.demo_batch_size - n_failures
        net = self.frame_net
        steps: list[dict[str, float]] = []
        self.discriminators.members.train()
        for _ in range(self.n_disc_updates_per_round):
            idx = self.np_rng.integers(len(self.expert_frames[0]), size=self.demo_batch_size)
            real = self._frame_batch(*(f[idx] for f in self.expert_frames), domain=1.0)
            idx = self.np_rng.integers(len(frames), size=n_learner)
            learner_x = net.frame_features(frames[idx], next_frames[idx])  # (B_l, D)
            if replay is not None:
                (learner_x,) = replay.mix(learner_x.cpu())
                learner_x = learner_x.to(self.device)
            fake = self._batch_of(learner_x, domain=0.0)
            if n_failures:
                assert self.failure_frames is not None
                idx = self.np_rng.integers(len(self.failure_frames[0]), size=n_failures)
                failed = self._frame_batch(*(f[idx] for f in self.failure_frames), domain=1.0)
                fake = {k: torch.cat([fake[k], failed[k]]) for k in fake}
            step = self.discriminators.update(
                real, fake, noise_scale=noise_scale, extra_loss=self._domain_loss
            )
            steps.append(
                {
                    "disc_loss": step["loss"],
                    "disc_accuracy": step["disc_accuracy"],
                    "disc_acc_expert": step["real_accuracy"],
                    "disc_acc_gen": step["fake_accuracy"],
                    "disc_acc_failure": step["disc_acc_failure"],
                    "disc_logit_expert": step["real_output"],
                    "disc_logit_gen": step["fake_output"],
                    "disc_grad_penalty": step["grad_penalty"],
                    "disc_input_noise": step["input_noise"],
                    "domain_loss": step["domain_loss"],
                    "domain_accuracy": step["domain_accuracy"],
                }
            )
        self.discriminators.end_epoch()
        stats = (
            {key: float(np.mean([row[key] for row in steps])) for key in steps[0]} if steps else {}
        )
        for key, value in stats.items():
            self.logger.record(f"train/{key}", value)
        return stats

    def _domain_loss(
        self, member: nn.Module, real: Batch, fake: Batch
    ) -> tuple[Tensor, Mapping[str, float]]:
        """The domain classifier's weighted loss on the step's items, and the step's measures."""
        assert isinstance(member, FrameRewardNet) and isinstance(real, Mapping)
        assert isinstance(fake, Mapping)
        x = torch.cat([real["features"], fake["features"]])  # (2B, D)
        domain = torch.cat([real["domain"], fake["domain"]])  # (2B,) 1 = the expert's
        expert = torch.cat([torch.ones_like(real["domain"]), torch.zeros_like(fake["domain"])])
        disc_logits, domain_logits = member.heads(x)  # (2B,), (2B,)
        says_expert = self.objective.says_real(disc_logits.detach())
        learner = (domain <= 0.5) & (expert < 0.5)
        failure = (domain > 0.5) & (expert < 0.5)
        if self.own_failure_frames is not None:  # the domains compared on failures only
            assert self.failure_frames is not None
            n = max(1, len(x) // 4)
            pairs = [
                self._frame_batch(*(f[idx] for f in frames), domain=label)
                for frames, label in ((self.failure_frames, 1.0), (self.own_failure_frames, 0.0))
                for idx in [self.np_rng.integers(len(frames[0]), size=n)]
            ]
            domain = torch.cat([pair["domain"] for pair in pairs])  # (2n,)
            x = torch.cat([pair["features"] for pair in pairs])  # (2n, D)
            _, domain_logits = member.heads(x)
        losses = F.binary_cross_entropy_with_logits(domain_logits, domain, reduction="none")
        theirs, ours = domain > 0.5, domain <= 0.5
        loss = 0.5 * (_mean(losses, theirs) + _mean(losses, ours))  # both domains weigh alike
        says_theirs = domain_logits > 0
        measures = {
            "domain_loss": float(loss.detach()),
            "domain_accuracy": 0.5
            * float(_mean(says_theirs.float(), theirs) + _mean((~says_theirs).float(), ours)),
            "disc_accuracy": 0.5
            * float(
                _mean(says_expert.float(), expert > 0.5) + _mean((~says_expert).float(), learner)
            ),
            "disc_acc_failure": float(_mean((~says_expert).float(), failure)),
        }
        return self.domain_loss_weight * loss, measures

    def _frame_batch(
        self, frames: np.ndarray, next_frames: np.ndarray, *, domain: float
    ) -> dict[str, Tensor]:
        return self._batch_of(self.frame_net.frame_features(frames, next_frames), domain=domain)

    def _batch_of(self, features: Tensor, *, domain: float) -> dict[str, Tensor]:
        n = len(features)
        return {
            "features": features,  # (B, D)
            "terminal": features.new_zeros(n),  # (B,)
            "domain": features.new_full((n,), domain),  # (B,) 1 = the expert's domain
        }

    def _score(self, net: nn.Module, batch: Batch) -> Tensor:
        assert isinstance(net, RewardNet) and isinstance(batch, Mapping)
        return net.discriminator_features(batch["features"], batch["terminal"])

    # --- the generator's side ------------------------------------------------------------

    def _generator_batch(
        self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, terminal: np.ndarray
    ) -> Batch:
        """The learner's last frame pairs, the discriminators' input for its reward."""
        del obs, acts, next_obs
        venv = self.frame_venv
        assert venv.frames is not None and venv.next_frames is not None
        features = self.frame_net.frame_features(venv.frames, venv.next_frames)  # (N, D)
        batch = self._batch_of(features, domain=0.0)
        batch["terminal"] = torch.as_tensor(terminal, device=features.device).float()
        return batch

    def _record_generated(
        self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, terminal: np.ndarray
    ) -> None:
        """Keep the learner's frame pairs (in the places of ``obs`` and ``next_obs``)."""
        del obs, next_obs
        venv = self.frame_venv
        assert venv.frames is not None and venv.next_frames is not None
        self._generated.add(venv.frames, acts, venv.next_frames, terminal)
        self._round_generated += len(acts)

    def _replay_round(self) -> None:
        """Offer the round's learner frame pairs (as features) to the replay, if any."""
        replay = self.discriminators.replay
        if replay is None or self._round_generated == 0:
            return
        frames, _, next_frames, _ = self._generated.arrays()
        newest = min(self._round_generated, len(frames))
        replay.add(self.frame_net.frame_features(frames[-newest:], next_frames[-newest:]).cpu())


def _mean(values: Tensor, mask: Tensor) -> Tensor:
    """The mean of ``values`` where ``mask`` holds (0 where it holds nowhere)."""
    count = mask.sum()
    return (values * mask).sum() / count.clamp(min=1)
