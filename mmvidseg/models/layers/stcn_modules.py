"""Building blocks of STCN (Cheng et al., NeurIPS 2021) and its FLARE22
variant (``kaylode/ivos``): residual blocks, the value encoder's fusion,
the decoder with 1/8 and 1/4 skips.

Parameter names follow the original ``model/modules.py`` / ``network.py``
(``decoder.compress``, ``decoder.up_16_8.skip_conv``, ``fuser.block1``...)
so that :func:`mmvidseg.models.converters.convert_stcn_checkpoint` maps the
published checkpoints with few renames.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmvidseg.registry import MODELS


class ResBlock(nn.Module):
    """``x + conv(relu(conv(relu(x))))`` with 3x3 convs; a 3x3 conv maps the
    shortcut when the widths differ.

    Args:
        in_channels (int): Input channels.
        out_channels (int, optional): Output channels (default: the input's).
    """

    def __init__(self, in_channels: int,
                 out_channels: Optional[int] = None) -> None:
        super().__init__()
        out_channels = out_channels or in_channels
        self.downsample = None if in_channels == out_channels else \
            nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        r = self.conv2(F.relu(self.conv1(F.relu(x))))
        if self.downsample is not None:
            x = self.downsample(x)
        return x + r


class ChannelSpatialAttention(nn.Module):
    """CBAM (Woo et al., 2018) as in the official STCN's value fusion: a
    channel gate (shared MLP on the average- and max-pooled vector, summed,
    sigmoid) then a spatial gate (7x7 conv on the channel max and mean,
    sigmoid). Returns the gated input.

    Args:
        channels (int): Input channels.
        reduction (int): MLP reduction ratio.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.channel_mlp = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(),
            nn.Linear(hidden, channels))
        self.spatial_conv = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: Tensor) -> Tensor:
        gate = self.channel_mlp(x.mean((2, 3))) + self.channel_mlp(
            x.amax((2, 3)))
        x = x * torch.sigmoid(gate)[:, :, None, None]
        pooled = torch.cat([x.amax(1, keepdim=True),
                            x.mean(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial_conv(pooled))


class FeatureFusionBlock(nn.Module):
    """Fuse value features with the key encoder's 1/16 features:
    ``block2(block1([x; f16]))`` (``kaylode/ivos``), or with ``attention``
    ``block2(y + CBAM(y))``, ``y = block1([x; f16])`` (official STCN).

    Args:
        in_channels (int): Channels of ``[x; f16]``.
        out_channels (int): Output (value) channels.
        attention (bool): Use the official STCN's CBAM.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 attention: bool = False) -> None:
        super().__init__()
        self.block1 = ResBlock(in_channels, out_channels)
        self.attention = ChannelSpatialAttention(
            out_channels) if attention else None
        self.block2 = ResBlock(out_channels, out_channels)

    def forward(self, x: Tensor, f16: Tensor) -> Tensor:
        x = self.block1(torch.cat([x, f16], 1))
        if self.attention is not None:
            x = x + self.attention(x)
        return self.block2(x)


class UpsampleBlock(nn.Module):
    """``ResBlock(skip_conv(skip) + up2(x))`` (bilinear x2).

    Args:
        skip_channels (int): Channels of the skip feature.
        up_channels (int): Channels of the upsampled input.
        out_channels (int): Output channels.
    """

    def __init__(self, skip_channels: int, up_channels: int,
                 out_channels: int) -> None:
        super().__init__()
        self.skip_conv = nn.Conv2d(skip_channels, up_channels, 3, padding=1)
        self.out_conv = ResBlock(up_channels, out_channels)

    def forward(self, skip: Tensor, x: Tensor) -> Tensor:
        """``skip`` (B, Cs, 2h, 2w), ``x`` (B * O, Cu, h, w): the skip
        branch runs once per image and is shared by its O objects."""
        skip = self.skip_conv(skip)
        x = F.interpolate(
            x, scale_factor=2, mode='bilinear', align_corners=False)
        b = skip.size(0)
        if x.size(0) != b:
            x = (x.view(b, -1, *x.shape[1:]) + skip[:, None]).flatten(0, 1)
        else:
            x = x + skip
        return self.out_conv(x)


class STCNDecoder(nn.Module):
    """STCN's mask decoder: one logit map per object at the input size.

    ``compress`` (ResBlock at 1/16) -> ``up_16_8`` (skip: key encoder 1/8)
    -> ``up_8_4`` (skip: 1/4) -> 3x3 conv to 1 channel -> bilinear x4.

    Args:
        in_channels (int): Channels of the memory readout concatenated with
            the query's compressed key features (1024).
        skip_channels (Sequence[int]): Channels of the 1/8 and 1/4 key
            features (512, 256).
        channels (Sequence[int]): Widths after ``compress``, ``up_16_8`` and
            ``up_8_4`` (512, 256, 256).
    """

    def __init__(self,
                 in_channels: int = 1024,
                 skip_channels: Sequence[int] = (512, 256),
                 channels: Sequence[int] = (512, 256, 256)) -> None:
        super().__init__()
        c16, c8, c4 = channels
        self.compress = ResBlock(in_channels, c16)
        self.up_16_8 = UpsampleBlock(skip_channels[0], c16, c8)
        self.up_8_4 = UpsampleBlock(skip_channels[1], c8, c4)
        self.pred = nn.Conv2d(c4, 1, 3, padding=1)

    def forward(self, x16: Tensor, f8: Tensor, f4: Tensor) -> Tensor:
        """Logits (B * O, 1, H, W) from inputs (B * O, C, H/16, W/16) of O
        objects per image and the images' skips ``f8`` (B, C8, H/8, W/8)
        and ``f4`` (B, C4, H/4, W/4)."""
        x = self.up_16_8(f8, self.compress(x16))
        x = self.pred(F.relu(self.up_8_4(f4, x)))
        return F.interpolate(
            x, scale_factor=4, mode='bilinear', align_corners=False)


class STCNValueEncoder(nn.Module):
    """Value encoder: a ResNet on ``[image; object mask; other objects]``
    (5 channels) to 1/16, fused with the key encoder's 1/16 features.

    Args:
        backbone (dict): ResNet config with ``in_channels=5`` and three
            stages (its last output is used).
        key_channels (int): Channels of the key encoder's 1/16 features.
        out_channels (int): Value channels.
        attention (bool): The official STCN's CBAM in the fusion.
    """

    def __init__(self, backbone: dict, key_channels: int, out_channels: int,
                 attention: bool = False) -> None:
        super().__init__()
        self.backbone = MODELS.build(backbone)
        self.fuser = FeatureFusionBlock(
            resnet_channels(self.backbone, 'value_encoder')[-1] +
            key_channels, out_channels, attention)

    def forward(self, image: Tensor, key_f16: Tensor, mask: Tensor,
                others: Tensor) -> Tensor:
        """Values (B, C, h16, w16) from images (B, 3, H, W), key features
        (B, Ck, h16, w16), masks and other-object masks (B, 1, H, W)."""
        x = self.backbone(torch.cat([image, mask, others], 1))[-1]
        return self.fuser(x, key_f16)


def resnet_channels(backbone: nn.Module, name: str) -> list:
    """Output channels of the stages of an mmseg ``ResNet``-like backbone."""
    block = getattr(backbone, 'block', None)
    base = getattr(backbone, 'base_channels', None)
    stages = getattr(backbone, 'res_layers', None)
    if block is None or base is None or stages is None:
        raise ValueError(f'{name}: expected an mmseg ResNet-like backbone '
                         f'(block, base_channels, res_layers), got '
                         f'{type(backbone).__name__}')
    return [base * 2**i * block.expansion for i in range(len(stages))]
