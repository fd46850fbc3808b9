"""Reverse stage of SINet-V2: three group-reversal attention blocks."""
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor


class _GRABlock(nn.Module):
    """Group-reversal attention block.

    The guidance map ``y`` (N, 1, H, W) is interleaved after each of the
    ``groups`` channel groups of ``x`` (C channels), giving C + groups
    channels; then ``x <- x + ReLU(conv(x_cat))`` and
    ``y <- y + score(x)`` (3x3 convs with bias).

    Args:
        channels (int): Channels ``C`` of ``x``.
        groups (int): Number of channel groups; must divide ``channels``.
    """

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        if groups < 1 or channels % groups:
            raise ValueError(f'groups ({groups}) must divide channels '
                             f'({channels})')
        self.groups = groups
        self.conv = nn.Conv2d(channels + groups, channels, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.score = nn.Conv2d(channels, 1, 3, padding=1)

    def forward(self, x: Tensor, y: Tensor) -> Tuple[Tensor, Tensor]:
        """(N, C, H, W), (N, 1, H, W) -> updated (x, y), same shapes."""
        n, c, h, w = x.shape
        grouped = x.reshape(n, self.groups, c // self.groups, h, w)
        guide = y.unsqueeze(1).expand(n, self.groups, 1, h, w)
        x_cat = torch.cat([grouped, guide], dim=2).reshape(
            n, c + self.groups, h, w)
        x = x + self.relu(self.conv(x_cat))
        y = y + self.score(x)
        return x, y


class ReverseStage(nn.Module):
    """Reverse stage: refine a coarse map with reverse attention.

    The guidance logits ``g`` become the reverse attention ``1 - sigmoid(g)``
    that three group-reversal attention blocks refine together with the
    features: the first with one group of C channels (``weak_gra``), the
    second with groups of 8 channels (``medium_gra``), the third with groups
    of 1 channel (``strong_gra``). The stage returns the refined map; SINet-V2
    adds the guidance back outside the stage.

    Args:
        channels (int): Feature channels ``C``; must be divisible by 8.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels % 8:
            raise ValueError(f'channels ({channels}) must be divisible by 8')
        self.weak_gra = _GRABlock(channels, 1)
        self.medium_gra = _GRABlock(channels, channels // 8)
        self.strong_gra = _GRABlock(channels, channels)

    def forward(self, x: Tensor, guidance: Tensor) -> Tensor:
        """Refine ``guidance`` with the features ``x``.

        Args:
            x (Tensor): Features (N, C, H, W).
            guidance (Tensor): Guidance logits (N, 1, H, W).

        Returns:
            Tensor: Refined map (N, 1, H, W) (without the guidance added).
        """
        y = 1 - torch.sigmoid(guidance)
        x, y = self.weak_gra(x, y)
        x, y = self.medium_gra(x, y)
        _, y = self.strong_gra(x, y)
        return y
