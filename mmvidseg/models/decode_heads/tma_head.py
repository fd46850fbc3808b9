"""TMANet's temporal memory attention head (Wang et al., ICIP 2021)."""
from contextlib import contextmanager
from typing import Callable, Iterator, List

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from mmvidseg.registry import MODELS

from ..utils import memory_read_maps
from .base_temporal_head import BaseTemporalHead

LOW_PRECISION = (torch.float16, torch.bfloat16)


def _autocast_enabled(device_type: str) -> bool:
    """Whether autocast is on for ``device_type`` (any torch >= 2.1)."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: no device argument
        if device_type == 'cpu':
            return torch.is_autocast_cpu_enabled()
        return torch.is_autocast_enabled()


def _to_fp32(x: Tensor) -> Tensor:
    return x.float() if x.dtype in LOW_PRECISION else x


@MODELS.register_module()
class TMAHead(BaseTemporalHead):
    """Temporal Memory Attention head.

    Faithful to the original TMANet head:

    * every memory slot (temporal position ``i`` of the ``T`` memory frames,
      oldest first) has its own key and value embedding, each a 1x1 conv
      (in -> C) followed by a 3x3 conv (C -> C), both with norm and
      activation; the key frame (query) has one such stack for keys and one
      for values;
    * memory read ``R = softmax(Q K_m) V_m`` over all positions of all memory
      frames, **without** the 1/sqrt(Ck) scaling of the original
      (``matmul_norm=False``, the default; ``True`` scales it), computed with
      ``scaled_dot_product_attention`` (no (hw x T hw) matrix in Python);
    * output ``[V_q; R]`` (2 Cv channels), a 3x3 bottleneck to ``channels``,
      dropout and the classifier.

    Mixed precision (an addition, the original has none): the unscaled
    logits reach about 1400, so rounding the keys to bfloat16 (float16)
    moves them by up to ~3 (~0.3) and the sharp softmax follows. With
    ``fp32_attention=True`` (default) the key embeddings and the read run in
    float32 inside any autocast region (their inputs upcast); the value
    embeddings, bottleneck and classifier stay in low precision. Without
    autocast nothing changes (same operations, bit-identical results).

    Inputs follow the :class:`BaseTemporalHead` contract: clip features
    (N, T + 1, C, h, w), memory frames oldest first, key frame last.

    Args:
        num_memory_frames (int): Number of memory frames ``T`` (TMANet:
            2 on Cityscapes, 4 on CamVid).
        key_channels (int): Key channels ``Ck`` (TMANet configs: 64).
        value_channels (int): Value channels ``Cv`` (TMANet configs: 256).
        matmul_norm (bool): Scale the affinity by 1/sqrt(Ck).
        fp32_attention (bool): Under autocast, compute the key embeddings
            and the memory read in float32. Default: True.
        **kwargs: See :class:`mmseg.models.decode_heads.BaseDecodeHead`
            (``channels=512``, ``dropout_ratio=0.1`` in TMANet).
    """

    def __init__(self,
                 num_memory_frames: int,
                 key_channels: int = 64,
                 value_channels: int = 256,
                 matmul_norm: bool = False,
                 fp32_attention: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if num_memory_frames < 1:
            raise ValueError('num_memory_frames must be >= 1')
        self.num_memory_frames = num_memory_frames
        self.key_channels = key_channels
        self.value_channels = value_channels
        self.matmul_norm = matmul_norm
        self.fp32_attention = fp32_attention
        self.memory_key_convs = nn.ModuleList([
            self._embedding(key_channels) for _ in range(num_memory_frames)
        ])
        self.memory_value_convs = nn.ModuleList([
            self._embedding(value_channels)
            for _ in range(num_memory_frames)
        ])
        self.query_key_conv = self._embedding(key_channels)
        self.query_value_conv = self._embedding(value_channels)
        self.bottleneck = ConvModule(
            2 * value_channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def _embedding(self, channels: int) -> nn.Sequential:
        cfg = dict(
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        return nn.Sequential(
            ConvModule(self.in_channels, channels, 1, **cfg),
            ConvModule(channels, channels, 3, padding=1, **cfg))

    @contextmanager
    def _attention_precision(
            self, device_type: str) -> Iterator[Callable[[Tensor], Tensor]]:
        """Autocast off and a float16/bfloat16 -> float32 cast when
        ``fp32_attention`` and autocast is on; else nothing (identity)."""
        if not (self.fp32_attention and _autocast_enabled(device_type)):
            yield lambda t: t
            return
        with torch.autocast(device_type, enabled=False):
            yield _to_fp32

    def embed(self, x: Tensor) -> tuple:
        """Keys and values of a clip.

        Args:
            x (Tensor): (N, T + 1, C, h, w), key frame last.

        Returns:
            tuple[Tensor]: memory keys (N, T, Ck, h, w), memory values
            (N, T, Cv, h, w), query key (N, Ck, h, w), query value
            (N, Cv, h, w). Keys are float32 under autocast when
            ``fp32_attention``.
        """
        self.check_clip(x)
        with self._attention_precision(x.device.type) as cast:
            m_keys = torch.stack([
                conv(cast(x[:, i]))
                for i, conv in enumerate(self.memory_key_convs)
            ], 1)
            q_key = self.query_key_conv(cast(x[:, -1]))
        m_values = torch.stack(
            [conv(x[:, i])
             for i, conv in enumerate(self.memory_value_convs)], 1)
        return m_keys, m_values, q_key, self.query_value_conv(x[:, -1])

    def read(self, m_keys: Tensor, m_values: Tensor, q_key: Tensor) -> Tensor:
        """``softmax(Q K_m) V_m``.

        Args:
            m_keys (Tensor): (N, T, Ck, h, w).
            m_values (Tensor): (N, T, Cv, h, w).
            q_key (Tensor): (N, Ck, h, w).

        Returns:
            Tensor: Readout (N, Cv, h, w), float32 under autocast when
            ``fp32_attention``.
        """
        with self._attention_precision(q_key.device.type) as cast:
            return memory_read_maps(
                cast(q_key), cast(m_keys), cast(m_values),
                affinity='scaled_dot' if self.matmul_norm else 'dot')

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Forward.

        Args:
            inputs (list[Tensor]): Clip features per level, each
                (N, T + 1, C, h, w).

        Returns:
            Tensor: Key-frame logits (N, num_classes, h, w).
        """
        m_keys, m_values, q_key, q_value = self.embed(
            self._transform_inputs(inputs))
        readout = self.read(m_keys, m_values, q_key)
        return self.cls_seg(self.bottleneck(torch.cat([q_value, readout],
                                                      1)))
