"""A light temporal attention head (the foundation's demo temporal head)."""
from typing import List

import torch
from mmcv.cnn import ConvModule
from torch import Tensor

from mmvidseg.registry import MODELS

from ..utils import memory_read_maps
from .base_temporal_head import BaseTemporalHead


@MODELS.register_module()
class TemporalAttentionHead(BaseTemporalHead):
    """Key frame attends to memory frames, then fuse and classify.

    Inputs are clip features (N, T, C, h, w) with the key frame last (the
    :class:`BaseTemporalHead` contract); any T works
    (``num_memory_frames`` is None). Shared 3x3 key/value convolutions
    embed every frame; the key frame's key queries the keys of the T-1 memory
    frames (all positions of all frames) and reads their values with
    :func:`memory_read_maps`; the readout is concatenated with the key frame's
    value, fused by a 3x3 conv and classified. With T = 1 the frame attends to
    itself.

    Args:
        key_channels (int): Key embedding channels.
        value_channels (int): Value embedding channels.
        affinity (str): Affinity of the read (see ``AFFINITIES``).
        **kwargs: See :class:`mmseg.models.decode_heads.BaseDecodeHead`.
    """

    def __init__(self,
                 key_channels: int = 32,
                 value_channels: int = 64,
                 affinity: str = 'scaled_dot',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        cfg = dict(
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.affinity = affinity
        self.key_conv = ConvModule(
            self.in_channels, key_channels, 3, padding=1, **cfg)
        self.value_conv = ConvModule(
            self.in_channels, value_channels, 3, padding=1, **cfg)
        self.fuse = ConvModule(
            2 * value_channels, self.channels, 3, padding=1, **cfg)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Forward.

        Args:
            inputs (list[Tensor]): Clip features, each (N, T, C, h, w).

        Returns:
            Tensor: Key-frame logits (N, num_classes, h, w).
        """
        x = self.check_clip(self._transform_inputs(inputs))
        n, t, c, h, w = x.shape
        keys = self.key_conv(x.flatten(0, 1)).view(n, t, -1, h, w)
        values = self.value_conv(x.flatten(0, 1)).view(n, t, -1, h, w)
        q_key, q_val = keys[:, -1], values[:, -1]
        m_key = keys[:, :-1] if t > 1 else keys
        m_val = values[:, :-1] if t > 1 else values
        read = memory_read_maps(q_key, m_key, m_val, affinity=self.affinity)
        return self.cls_seg(self.fuse(torch.cat([read, q_val], 1)))
