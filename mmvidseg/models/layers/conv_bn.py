"""Convolution + batch norm without activation (SALI's ``BasicConv2d``)."""
from typing import Tuple, Union

import torch.nn as nn
from torch import Tensor

IntPair = Union[int, Tuple[int, int]]


class ConvBN(nn.Module):
    """``Conv2d`` (no bias) followed by ``BatchNorm2d``, **no** activation.

    SALI and SINet-V2 call this block ``BasicConv2d``; although the original
    class builds a ReLU, its forward never applies it, so neither do we.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int | tuple[int, int]): Convolution kernel size.
        stride (int | tuple[int, int]): Convolution stride. Defaults to 1.
        padding (int | tuple[int, int]): Zero padding. Defaults to 0.
        dilation (int | tuple[int, int]): Dilation. Defaults to 1.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: IntPair,
                 stride: IntPair = 1,
                 padding: IntPair = 0,
                 dilation: IntPair = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, C_out, H', W')."""
        return self.bn(self.conv(x))
