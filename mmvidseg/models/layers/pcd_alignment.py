"""Pyramid, cascading deformable alignment (EDVR-style, as in SALI)."""
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from .modulated_dcn_pack import ModulatedDCNPack


def _up2(x: Tensor) -> Tensor:
    return F.interpolate(
        x, scale_factor=2, mode='bilinear', align_corners=False)


class PCDAlignment(BaseModule):
    """Align a 3-level feature pyramid to a reference pyramid.

    Coarse to fine (level 3 = coarsest, ``lrelu`` = LeakyReLU(0.1), every
    conv 3x3 with bias, ``up`` = bilinear x2, ``align_corners=False``)::

        level 3: off = lrelu(offset_conv2(lrelu(offset_conv1([nbr; ref]))))
                 a3  = lrelu(dcn(nbr, off))
        level l in (2, 1):
                 off = lrelu(offset_conv1([nbr; ref]))
                 off = lrelu(offset_conv2([off; 2 * up(off_{l+1})]))
                 off = lrelu(offset_conv3(off))
                 a_l = feat_conv([dcn(nbr, off); up(a_{l+1})])
                 (followed by lrelu at level 2 only)

    ``dcn`` is a :class:`ModulatedDCNPack` (3x3, padding 1) whose offsets
    and mask come from ``off``. Module names (``offset_conv1['l3']``, ...,
    ``dcn_pack``, ``feat_conv``) follow SALI/EDVR.

    Args:
        num_feat (int): Channels of every level. Defaults to 32.
        deform_groups (int): Deformable groups. Defaults to 8.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 num_feat: int = 32,
                 deform_groups: int = 8,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.offset_conv1 = nn.ModuleDict()
        self.offset_conv2 = nn.ModuleDict()
        self.offset_conv3 = nn.ModuleDict()
        self.dcn_pack = nn.ModuleDict()
        self.feat_conv = nn.ModuleDict()
        for i in range(3, 0, -1):
            level = f'l{i}'
            self.offset_conv1[level] = nn.Conv2d(2 * num_feat, num_feat, 3,
                                                 1, 1)
            if i == 3:
                self.offset_conv2[level] = nn.Conv2d(num_feat, num_feat, 3, 1,
                                                     1)
            else:
                self.offset_conv2[level] = nn.Conv2d(2 * num_feat, num_feat,
                                                     3, 1, 1)
                self.offset_conv3[level] = nn.Conv2d(num_feat, num_feat, 3, 1,
                                                     1)
                self.feat_conv[level] = nn.Conv2d(2 * num_feat, num_feat, 3,
                                                  1, 1)
            self.dcn_pack[level] = ModulatedDCNPack(
                num_feat, num_feat, 3, padding=1, deform_groups=deform_groups)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def init_weights(self) -> None:
        """Apply ``init_cfg``, then re-zero every DCN's ``conv_offset``."""
        super().init_weights()
        for dcn in self.dcn_pack.values():
            dcn.init_weights()

    def forward(self, nbr_feats: Sequence[Tensor],
                ref_feats: Sequence[Tensor]) -> List[Tensor]:
        """Align ``nbr_feats`` to ``ref_feats``.

        Args:
            nbr_feats (Sequence[Tensor]): Pyramid to align, fine to coarse:
                (N, C, H, W), (N, C, H/2, W/2), (N, C, H/4, W/4).
            ref_feats (Sequence[Tensor]): Reference pyramid, same shapes.

        Returns:
            list[Tensor]: Aligned pyramid, fine to coarse, same shapes.
        """
        if len(nbr_feats) != 3 or len(ref_feats) != 3:
            raise ValueError('PCDAlignment expects 3-level pyramids, got '
                             f'{len(nbr_feats)} and {len(ref_feats)} levels')
        aligned = []
        up_offset = up_feat = None
        for i in range(3, 0, -1):
            level = f'l{i}'
            nbr, ref = nbr_feats[i - 1], ref_feats[i - 1]
            offset = self.lrelu(self.offset_conv1[level](torch.cat(
                [nbr, ref], dim=1)))
            if i == 3:
                offset = self.lrelu(self.offset_conv2[level](offset))
            else:
                offset = self.lrelu(self.offset_conv2[level](torch.cat(
                    [offset, up_offset], dim=1)))
                offset = self.lrelu(self.offset_conv3[level](offset))
            feat = self.dcn_pack[level](nbr, offset)
            if i < 3:
                feat = self.feat_conv[level](torch.cat([feat, up_feat],
                                                       dim=1))
            if i > 1:
                feat = self.lrelu(feat)
                up_offset = _up2(offset) * 2
                up_feat = _up2(feat)
            aligned.append(feat)
        return aligned[::-1]
