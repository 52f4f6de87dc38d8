"""Imitation agents: behavior cloning and DAgger over Stable-Baselines3 policies.

Every agent takes spaces (and, where it acts, an env), never a particular env class; see
:class:`ImitationAgent` for what they share (seeding, logging, evaluation, save/load, resume).
"""

from lhyrl.agents.base import CHECKPOINT_FILE, FORMAT_VERSION, ImitationAgent
from lhyrl.agents.bc import BC
from lhyrl.agents.dagger import ConstantBeta, DAgger, LinearBetaSchedule
from lhyrl.agents.maxent_irl import MaxEntIRL
from lhyrl.agents.seqgan import (
    PGBLEU,
    BLEUReward,
    SeqGAN,
    monte_carlo_rewards,
    policy_gradient_loss,
    update_rollout_network,
)
from lhyrl.agents.sequence_base import MLE, SamplingSchedule, ScheduledSampling, SequenceTrainer

__all__ = [
    "BC",
    "CHECKPOINT_FILE",
    "FORMAT_VERSION",
    "MLE",
    "PGBLEU",
    "BLEUReward",
    "ConstantBeta",
    "DAgger",
    "ImitationAgent",
    "LinearBetaSchedule",
    "MaxEntIRL",
    "SamplingSchedule",
    "ScheduledSampling",
    "SeqGAN",
    "SequenceTrainer",
    "monte_carlo_rewards",
    "policy_gradient_loss",
    "update_rollout_network",
]
