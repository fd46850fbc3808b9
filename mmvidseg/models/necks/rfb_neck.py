"""Receptive field block neck (SINet-V2 / SALI)."""
from typing import List, Sequence

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmvidseg.registry import MODELS

from ..layers import RFBBlock


@MODELS.register_module()
class RFBNeck(BaseModule):
    """One :class:`RFBBlock` per selected backbone output.

    SALI applies RFB blocks to the PVTv2 stages 2-4 (128, 320 and 512
    channels at 1/8, 1/16 and 1/32), reducing each to 32 channels.

    Args:
        in_channels (Sequence[int]): Channels of the selected inputs.
            Defaults to (128, 320, 512).
        out_channels (int): Output channels of every level. Defaults to 32.
        in_index (Sequence[int]): Indices of the backbone outputs to use,
            one per ``in_channels`` entry. Defaults to (1, 2, 3).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (128, 320, 512),
                 out_channels: int = 32,
                 in_index: Sequence[int] = (1, 2, 3),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(in_index):
            raise ValueError(
                f'RFBNeck: in_channels {tuple(in_channels)} and in_index '
                f'{tuple(in_index)} must have the same length')
        self.in_channels = tuple(in_channels)
        self.out_channels = out_channels
        self.in_index = tuple(in_index)
        self.blocks = nn.ModuleList(
            [RFBBlock(c, out_channels) for c in self.in_channels])

    def forward(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        """Apply the blocks.

        Args:
            inputs (Sequence[Tensor]): Backbone outputs; ``inputs[i]`` for
                ``i`` in ``in_index`` must have ``in_channels`` channels.

        Returns:
            list[Tensor]: One (N, out_channels, H_i, W_i) map per selected
            input, in ``in_index`` order.
        """
        if len(inputs) <= max(self.in_index):
            raise ValueError(
                f'RFBNeck: in_index {self.in_index} needs at least '
                f'{max(self.in_index) + 1} inputs, got {len(inputs)}')
        return [
            block(inputs[i]) for i, block in zip(self.in_index, self.blocks)
        ]
