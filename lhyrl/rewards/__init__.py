"""Rewards: tabular planners and evaluation for inverse RL, and learned reward models.

:mod:`lhyrl.rewards.tabular` holds what both experts and agents need on a tabular MDP (value
and policy iteration, soft value and soft policy iteration, policy evaluation, expected state
visitation frequencies, the expected value difference) and the reward models over state
features that MaxEnt IRL learns. :mod:`lhyrl.rewards.learned` holds the reward networks over
transitions that GAIL and AIRL learn, and wrappers that train a fresh agent on one;
:mod:`lhyrl.rewards.frames` the one over frame pairs that third-person GAIL learns.
"""

from lhyrl.rewards.dialogue import (
    DULL_REPLIES,
    DialogueReward,
    DialogueRewardTerms,
    DialogueRewardWeights,
    ease_of_answering,
    encode_dull_replies,
    information_flow,
    semantic_coherence,
)
from lhyrl.rewards.frames import FramePairs, FrameRewardNet
from lhyrl.rewards.learned import (
    AutoEncoderRewardNet,
    BasicRewardNet,
    LearnedRewardWrapper,
    RewardNet,
    RewardNetError,
    RewardVecEnvWrapper,
    ShapedRewardNet,
    load_reward_net,
    save_reward_net,
)
from lhyrl.rewards.tabular import (
    FEATURE_REWARD_KINDS,
    LinearFeatureReward,
    MLPFeatureReward,
    check_transition_matrix,
    expected_value_difference,
    greedy_policy,
    make_feature_reward,
    optimal_policy,
    policy_evaluation,
    policy_iteration,
    policy_value,
    soft_policy_iteration,
    soft_value_iteration,
    state_visitation_frequencies,
    value_iteration,
)

__all__ = [
    "DULL_REPLIES",
    "FEATURE_REWARD_KINDS",
    "AutoEncoderRewardNet",
    "BasicRewardNet",
    "DialogueReward",
    "DialogueRewardTerms",
    "DialogueRewardWeights",
    "FramePairs",
    "FrameRewardNet",
    "LearnedRewardWrapper",
    "LinearFeatureReward",
    "MLPFeatureReward",
    "RewardNet",
    "RewardNetError",
    "RewardVecEnvWrapper",
    "ShapedRewardNet",
    "check_transition_matrix",
    "ease_of_answering",
    "encode_dull_replies",
    "expected_value_difference",
    "greedy_policy",
    "information_flow",
    "load_reward_net",
    "make_feature_reward",
    "optimal_policy",
    "policy_evaluation",
    "policy_iteration",
    "policy_value",
    "save_reward_net",
    "semantic_coherence",
    "soft_policy_iteration",
    "soft_value_iteration",
    "state_visitation_frequencies",
    "value_iteration",
]
