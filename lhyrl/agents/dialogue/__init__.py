"""Dialogue agents (Li et al. 2016, 2017): a base trainer of a chat model, and MLE.

:class:`DialogueTrainer` owns the chat model, its optimizer, the seeded RNG, evaluation
(NLL, distinct-1/2, BLEU, reply length), text samples, saving and bit-exact checkpoints;
:class:`DialogueMLE` is teacher-forced maximum likelihood on (context, reply) pairs.
"""

from lhyrl.agents.dialogue.base import (
    CHECKPOINT_FILE,
    DialogueTrainer,
    new_chat_model,
    paired_bleu,
    reply_tokens,
)
from lhyrl.agents.dialogue.mle import DialogueMLE

__all__ = [
    "CHECKPOINT_FILE",
    "DialogueMLE",
    "DialogueTrainer",
    "new_chat_model",
    "paired_bleu",
    "reply_tokens",
]

from lhyrl.agents.dialogue.adversarial import AdversarialDialogue
from lhyrl.agents.dialogue.mmi import DialogueMMI
from lhyrl.agents.dialogue.rl import DialoguePG, DialogueRecord, simulate

__all__ += ["AdversarialDialogue", "DialogueMMI", "DialoguePG", "DialogueRecord", "simulate"]
