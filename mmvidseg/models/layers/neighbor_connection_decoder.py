"""Neighbour connection decoder (NCD) of SINet-V2."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .conv_bn import ConvBN


def _up2(x: Tensor) -> Tensor:
    return F.interpolate(
        x, scale_factor=2, mode='bilinear', align_corners=True)


class NeighborConnectionDecoder(nn.Module):
    """Neighbour connection decoder: a coarse global map from 3 levels.

    With ``up`` = bilinear x2 upsampling (``align_corners=True``) and every
    ``conv_*`` a 3x3 ConvBN (no activation)::

        x2' = conv_upsample1(up(x1)) * x2
        x3' = conv_upsample2(up(x2')) * conv_upsample3(up(x2)) * x3
        y2  = conv_concat2([x2'; conv_upsample4(up(x1))])          # 2C
        y3  = conv_concat3([x3'; conv_upsample5(up(y2))])          # 3C
        out = conv5(conv4(y3))                                     # 1x1 -> 1

    Args:
        channels (int): Channels ``C`` of the three inputs.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.conv_upsample1 = ConvBN(c, c, 3, padding=1)
        self.conv_upsample2 = ConvBN(c, c, 3, padding=1)
        self.conv_upsample3 = ConvBN(c, c, 3, padding=1)
        self.conv_upsample4 = ConvBN(c, c, 3, padding=1)
        self.conv_upsample5 = ConvBN(2 * c, 2 * c, 3, padding=1)
        self.conv_concat2 = ConvBN(2 * c, 2 * c, 3, padding=1)
        self.conv_concat3 = ConvBN(3 * c, 3 * c, 3, padding=1)
        self.conv4 = ConvBN(3 * c, 3 * c, 3, padding=1)
        self.conv5 = nn.Conv2d(3 * c, 1, 1)

    def forward(self, x1: Tensor, x2: Tensor, x3: Tensor) -> Tensor:
        """Decode three levels, coarsest first.

        Args:
            x1 (Tensor): Coarsest features (N, C, h, w).
            x2 (Tensor): Middle features (N, C, 2h, 2w).
            x3 (Tensor): Finest features (N, C, 4h, 4w).

        Returns:
            Tensor: Logits (N, 1, 4h, 4w).
        """
        x2_1 = self.conv_upsample1(_up2(x1)) * x2
        x3_1 = self.conv_upsample2(_up2(x2_1)) * \
            self.conv_upsample3(_up2(x2)) * x3
        x2_2 = self.conv_concat2(
            torch.cat([x2_1, self.conv_upsample4(_up2(x1))], dim=1))
        x3_2 = self.conv_concat3(
            torch.cat([x3_1, self.conv_upsample5(_up2(x2_2))], dim=1))
        return self.conv5(self.conv4(x3_2))
