"""Per-scale non-local fusion of two aligned pyramids (SALI's SAM fusion)."""
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from .conv_bn import ConvBN


class _NonLocalBlock(nn.Module):
    """Non-local block with sub-sampled keys and a concatenating residual.

    For ``x`` (N, D, H, W) and ``pool`` = max pooling by ``pool_size``::

        theta = x                         (identity, D channels)
        phi   = pool(x)                   (D channels)
        g     = pool(g_conv(x))           (D / 2 channels, 1x1 conv)
        y     = softmax(theta^T phi) g    (no 1/sqrt(D) scaling)
        z     = out_proj(y) + x           (1x1 conv D/2 -> D, zero-init)
        out   = residual_conv([x; z])     (1x1 conv 2D -> D)

    Args:
        channels (int): Channels ``D`` of ``x``.
        pool_size (int): Max-pooling kernel and stride for ``phi`` and ``g``.
    """

    def __init__(self, channels: int, pool_size: int) -> None:
        super().__init__()
        inter = max(channels // 2, 1)
        self.pool_size = pool_size
        self.g = nn.Conv2d(channels, inter, 1)
        self.out_proj = nn.Conv2d(inter, channels, 1)
        self.residual_conv = nn.Conv2d(2 * channels, channels, 1)
        self.init_weights()

    def init_weights(self) -> None:
        """Zero ``out_proj`` so that the block starts as ``z = x``."""
        nn.init.zeros_(self.out_proj.weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        """(N, D, H, W) -> (N, D, H, W)."""
        n, c, h, w = x.shape
        phi = F.max_pool2d(x, self.pool_size).flatten(2)  # N, D, M
        g = F.max_pool2d(self.g(x), self.pool_size).flatten(2)  # N, D/2, M
        theta = x.flatten(2).transpose(1, 2)  # N, HW, D
        attn = torch.softmax(theta @ phi, dim=-1)  # N, HW, M
        y = (attn @ g.transpose(1, 2)).transpose(1, 2)  # N, D/2, HW
        z = self.out_proj(y.reshape(n, -1, h, w)) + x
        return self.residual_conv(torch.cat([x, z], dim=1))


class NonLocalFusion(BaseModule):
    """Fuse two aligned 3-level pyramids scale by scale.

    At scale ``s``: ``x = [a_s; b_s]`` (2C channels) goes through a
    non-local block whose keys/values are max-pooled by ``pool_sizes[s]``
    (see ``_NonLocalBlock``; SALI's ``SAM`` with ``bn_layer=False``), then a
    3x3 :class:`ConvBN` 2C -> C (``fuse_convs[s]``).

    Args:
        channels (int): Channels ``C`` of each input. Defaults to 32.
        pool_sizes (Sequence[int]): Pooling per scale, fine to coarse.
            Defaults to (2, 4, 8).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 channels: int = 32,
                 pool_sizes: Sequence[int] = (2, 4, 8),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.blocks = nn.ModuleList(
            [_NonLocalBlock(2 * channels, k) for k in pool_sizes])
        self.fuse_convs = nn.ModuleList([
            ConvBN(2 * channels, channels, 3, padding=1) for _ in pool_sizes
        ])

    def init_weights(self) -> None:
        """Apply ``init_cfg``, then re-zero the non-local output convs."""
        super().init_weights()
        for block in self.blocks:
            block.init_weights()

    def forward(self, feats_a: Sequence[Tensor],
                feats_b: Sequence[Tensor]) -> List[Tensor]:
        """Fuse.

        Args:
            feats_a (Sequence[Tensor]): First pyramid, fine to coarse, each
                (N, C, H_s, W_s).
            feats_b (Sequence[Tensor]): Second pyramid, same shapes.

        Returns:
            list[Tensor]: Fused pyramid, (N, C, H_s, W_s) per scale.
        """
        if not len(feats_a) == len(feats_b) == len(self.blocks):
            raise ValueError(
                f'NonLocalFusion expects {len(self.blocks)} scales, got '
                f'{len(feats_a)} and {len(feats_b)}')
        return [
            conv(block(torch.cat([a, b], dim=1))) for a, b, block, conv in
            zip(feats_a, feats_b, self.blocks, self.fuse_convs)
        ]
