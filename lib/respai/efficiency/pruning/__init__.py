"""Pruning: remove weights, channels, neurons and attention heads, and measure what it buys.

* :mod:`~respai.efficiency.pruning.magnitude`: unstructured magnitude masks,
  global or per layer (equal to :mod:`torch.nn.utils.prune`'s), applied with
  torch's re-parametrisation.
* :mod:`~respai.efficiency.pruning.structured`: channel and neuron pruning that
  rebuilds a physically smaller model.
* :mod:`~respai.efficiency.pruning.schedule`: iterative prune / fine-tune.
* :mod:`~respai.efficiency.pruning.lottery`: lottery tickets with rewinding.
* :mod:`~respai.efficiency.pruning.transformer`: attention heads and FFN
  neurons of a BERT encoder.
"""

from respai.efficiency.pruning.lottery import LotteryTicket, find_lottery_ticket, rewind, snapshot
from respai.efficiency.pruning.magnitude import (
    DEFAULT_LAYERS,
    apply_masks,
    global_magnitude_masks,
    magnitude_mask,
    magnitude_masks,
    prunable_weights,
    prune_magnitude,
    remove_masks,
    sparsity,
)
from respai.efficiency.pruning.schedule import PruningStep, iterative_pruning, sparsity_schedule
from respai.efficiency.pruning.structured import (
    CHANNELWISE,
    ChannelPlan,
    channel_importance,
    flatten_chain,
    mask_channels,
    plan_channel_pruning,
    prune_channels,
    select_channels,
)
from respai.efficiency.pruning.transformer import (
    encoder_layers,
    head_importance,
    neuron_importance,
    prune_ffn_neurons,
    prune_heads,
    prune_transformer,
    select_to_remove,
)

__all__ = [
    "DEFAULT_LAYERS",
    "magnitude_mask",
    "global_magnitude_masks",
    "prunable_weights",
    "magnitude_masks",
    "apply_masks",
    "remove_masks",
    "prune_magnitude",
    "sparsity",
    "CHANNELWISE",
    "ChannelPlan",
    "channel_importance",
    "select_channels",
    "flatten_chain",
    "plan_channel_pruning",
    "prune_channels",
    "mask_channels",
    "sparsity_schedule",
    "PruningStep",
    "iterative_pruning",
    "snapshot",
    "rewind",
    "LotteryTicket",
    "find_lottery_ticket",
    "encoder_layers",
    "head_importance",
    "neuron_importance",
    "select_to_remove",
    "prune_heads",
    "prune_ffn_neurons",
    "prune_transformer",
]
