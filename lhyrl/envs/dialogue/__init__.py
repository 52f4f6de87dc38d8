"""The chat-bot dialogue task: ``lhyrl/Dialogue-v0`` and its simulated user."""

from lhyrl.envs.dialogue.env import DialogueDiscriminator, DialogueEnv
from lhyrl.envs.dialogue.user import load_chat_model, shipped_model_file

__all__ = ["DialogueDiscriminator", "DialogueEnv", "load_chat_model", "shipped_model_file"]
