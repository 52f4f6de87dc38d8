"""Imitation and inverse-RL agents: BC, DAgger, GAIL, AIRL, MaxEnt IRL, sequence trainers.

GAIL also comes third-person (:class:`ThirdPersonGAIL`, a discriminator over pictures).

Every agent takes spaces (and, where it acts, an env), never a particular env class; see
:class:`ImitationAgent` for what they share (seeding, logging, evaluation, save/load, resume).
"""

from lhyrl.agents.adversarial import DISC_LOSSES, AdversarialTrainer, ExpertTransitions
from lhyrl.agents.airl import AIRL
from lhyrl.agents.base import CHECKPOINT_FILE, FORMAT_VERSION, ImitationAgent
from lhyrl.agents.bc import BC
from lhyrl.agents.dagger import ConstantBeta, DAgger, LinearBetaSchedule
from lhyrl.agents.dialogue import DialogueMLE, DialogueTrainer
from lhyrl.agents.gail import GAIL
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
from lhyrl.agents.third_person_gail import ThirdPersonGAIL

__all__ = [
    "AIRL",
    "BC",
    "CHECKPOINT_FILE",
    "DISC_LOSSES",
    "FORMAT_VERSION",
    "GAIL",
    "MLE",
    "PGBLEU",
    "AdversarialTrainer",
    "BLEUReward",
    "ConstantBeta",
    "DAgger",
    "DialogueMLE",
    "DialogueTrainer",
    "ExpertTransitions",
    "ImitationAgent",
    "LinearBetaSchedule",
    "MaxEntIRL",
    "SamplingSchedule",
    "ScheduledSampling",
    "SeqGAN",
    "SequenceTrainer",
    "ThirdPersonGAIL",
    "monte_carlo_rewards",
    "policy_gradient_loss",
    "update_rollout_network",
]

from lhyrl.agents.dialogue import AdversarialDialogue, DialogueMMI, DialoguePG

__all__ += ["AdversarialDialogue", "DialogueMMI", "DialoguePG"]
