"""SALI's head: long-term memory read, short-term alignment, fusion and the
SINet-V2 decoder."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmvidseg.registry import MODELS

from ..layers import NonLocalFusion, PCDAlignment, SINetV2Decoder
from ..utils import memory_read

Maps = List[Tensor]


@MODELS.register_module()
class SALIHead(BaseModule):
    """Short-term Alignment and Long-term Interaction head (SALI, MICCAI
    2024), as the original code (``lib/model.py``) computes it.

    Per scale ``s`` (1/8, 1/16, 1/32 of the input, ``channels`` each, from
    :class:`RFBNeck`):

    1. **Long-term interaction**: key (``key_channels``) and value
       (``value_channels``) 3x3 convolutions, one pair per scale, shared by
       the query and the memory frames; memory values are weighted by
       ``softmax over positions(mask) + 1`` (:meth:`weight_values`; the mask
       is the memory frame's ground truth in training, the decoder's own
       logits at test); the read is a top-k softmax over the negative
       squared L2 affinity / sqrt(Ck) (:func:`memory_read` or the
       :class:`MemoryBank`), and the readout is concatenated with the
       query's value (``[R_s; V_q,s]``, ``channels`` wide).
    2. **Short-term alignment**: one :class:`PCDAlignment` (modulated
       deformable convolutions) aligns the readout, then the neighbour
       frame's features, to the current frame's features.
    3. **Fusion**: :class:`NonLocalFusion` of the two aligned pyramids.
    4. **Decoder**: :class:`SINetV2Decoder` (NCD + reverse attention) gives
       ``S_g, S_5, S_4, S_3``; the prediction is ``S_3``, and ``[S_3, S_4,
       S_5]`` weight the memory values at test.

    Args:
        channels (int): Feature width of every scale.
        key_channels (int): Memory key width (SALI: ``channels // 8``).
        value_channels (int): Memory value width (``channels // 2``).
        num_scales (int): Feature scales (3).
        deform_groups (int): Deformable groups of the alignment.
        pool_sizes (Sequence[int]): Non-local pooling per scale.
        topk (int): Memory positions kept per query.
        loss_decode (dict): Loss of each deep-supervision output.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 channels: int = 32,
                 key_channels: int = 4,
                 value_channels: int = 16,
                 num_scales: int = 3,
                 deform_groups: int = 8,
                 pool_sizes: Sequence[int] = (2, 4, 8),
                 topk: int = 20,
                 loss_decode: dict = dict(type='StructureLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if 2 * value_channels != channels:
            raise ValueError('the readout [R; V_q] must be `channels` wide: '
                             f'value_channels={value_channels} must be '
                             f'channels/2 ({channels / 2})')
        if len(pool_sizes) != num_scales:
            raise ValueError(f'{len(pool_sizes)} pool sizes for '
                             f'{num_scales} scales')
        self.channels = channels
        self.key_channels = key_channels
        self.value_channels = value_channels
        self.num_scales = num_scales
        self.topk = topk
        self.key_convs = nn.ModuleList(
            nn.Conv2d(channels, key_channels, 3, padding=1)
            for _ in range(num_scales))
        self.value_convs = nn.ModuleList(
            nn.Conv2d(channels, value_channels, 3, padding=1)
            for _ in range(num_scales))
        self.alignment = PCDAlignment(channels, deform_groups)
        self.fusion = NonLocalFusion(channels, tuple(pool_sizes))
        self.decoder = SINetV2Decoder(channels)
        self.loss_decode = MODELS.build(loss_decode)

    # ------------------------------------------------------- memory parts
    def encode(self, feats: Sequence[Tensor]) -> Tuple[Maps, Maps]:
        """Keys (B, Ck, h_s, w_s) and values (B, Cv, h_s, w_s) per scale."""
        self._check_scales(feats)
        return ([conv(f) for conv, f in zip(self.key_convs, feats)],
                [conv(f) for conv, f in zip(self.value_convs, feats)])

    @staticmethod
    def weight_values(values: Sequence[Tensor],
                      masks: Sequence[Tensor]) -> Maps:
        """Memory values weighted by their frame's mask.

        Args:
            values (Sequence[Tensor]): Per scale (B, Cv, h, w).
            masks (Sequence[Tensor]): Per scale (B, 1, h, w) mask or logits.

        Returns:
            list[Tensor]: Per scale ``V * (softmax_positions(mask) + 1)``,
            flattened to (B, Cv, h w).
        """
        out = []
        for v, m in zip(values, masks):
            if m.shape[-2:] != v.shape[-2:]:
                raise ValueError(f'mask {tuple(m.shape)} and value '
                                 f'{tuple(v.shape)} grids differ')
            out.append(v.flatten(2) * (m.flatten(2).softmax(-1) + 1))
        return out

    @staticmethod
    def memory_masks(mask: Tensor, num_scales: int = 3) -> Maps:
        """A full-size mask (B, 1, H, W) at 1/8, 1/16, ... as the original
        (bilinear, by scale factor)."""
        return [
            F.interpolate(mask, scale_factor=1 / (8 * 2**i), mode='bilinear')
            for i in range(num_scales)
        ]

    def read(self, keys_q: Sequence[Tensor], values_q: Sequence[Tensor],
             keys_m: Sequence[Tensor], values_m: Sequence[Tensor]) -> Maps:
        """One-shot read of one memory frame (training; a video's first
        frame reading itself at test).

        Args:
            keys_q, values_q: Query keys / values per scale (B, C, h, w).
            keys_m: Memory keys per scale (B, Ck, h, w) or (B, Ck, P).
            values_m: Memory values per scale (B, Cv, h, w) or (B, Cv, P).

        Returns:
            list[Tensor]: Per scale ``[R_s; V_q,s]`` (B, channels, h, w).
        """
        out = []
        for kq, vq, km, vm in zip(keys_q, values_q, keys_m, values_m):
            r = memory_read(
                kq.flatten(2).transpose(1, 2),
                km.flatten(2).transpose(1, 2),
                vm.flatten(2).transpose(1, 2), 'neg_l2', topk=self.topk)
            out.append(self.readout(r.transpose(1, 2).view_as(vq), vq))
        return out

    @staticmethod
    def readout(read: Tensor, value_q: Tensor) -> Tensor:
        """``[R_s; V_q,s]``: (B, Cv, h, w) x 2 -> (B, 2 Cv, h, w)."""
        return torch.cat([read, value_q], 1)

    # ---------------------------------------------------------- decoding
    def decode(self, readouts: Sequence[Tensor], feats: Sequence[Tensor],
               feats_nb: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Align, fuse and decode.

        Args:
            readouts: Per scale ``[R_s; V_q,s]`` (B, C, h_s, w_s).
            feats: Current frame features per scale.
            feats_nb: Neighbour frame features per scale.

        Returns:
            tuple[Tensor]: ``S_g, S_5, S_4, S_3`` logits (B, 1, h, w) at
            their own resolutions (1/8, 1/32, 1/16, 1/8).
        """
        aligned_mem = self.alignment(list(readouts), list(feats))
        aligned_nb = self.alignment(list(feats_nb), list(feats))
        fused = self.fusion(aligned_mem, aligned_nb)
        return tuple(self.decoder(fused))

    @staticmethod
    def memory_logits(preds: Sequence[Tensor]) -> Maps:
        """``[S_3, S_4, S_5]`` (scales 1/8, 1/16, 1/32) from
        :meth:`decode`'s outputs: the logits that weight test memory."""
        return [preds[3], preds[2], preds[1]]

    def upsample(self, preds: Sequence[Tensor]) -> List[Tensor]:
        """The four outputs at the input size, as the original."""
        return list(self.decoder.upsample_predictions(preds))

    def loss_by_feat(self, preds: Sequence[Tensor],
                     target: Tensor) -> Dict[str, Tensor]:
        """Deep supervision: the loss of every upsampled output, summed.

        Args:
            preds: :meth:`decode`'s four outputs.
            target (Tensor): (B, 1, H, W) soft mask in [0, 1].
        """
        total = 0
        for p in self.upsample(preds):
            if p.shape[-2:] != target.shape[-2:]:
                p = F.interpolate(p, target.shape[-2:], mode='bilinear')
            total = total + self.loss_decode(p, target)
        return {self.loss_decode.loss_name: total}

    def _check_scales(self, feats: Sequence[Tensor]) -> None:
        if len(feats) != self.num_scales:
            raise ValueError(f'SALIHead takes {self.num_scales} feature '
                             f'scales, got {len(feats)}')
        for f in feats:
            if f.size(1) != self.channels:
                raise ValueError(f'SALIHead expects {self.channels}-channel '
                                 f'features, got {tuple(f.shape)}')
