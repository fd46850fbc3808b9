"""Receptive field block (the ``RFB_modified`` of SINet-V2 and SALI)."""
import torch
import torch.nn as nn
from torch import Tensor

from .conv_bn import ConvBN


def _branch(in_channels: int, out_channels: int, size: int) -> nn.Sequential:
    """1x1 -> 1xk -> kx1 -> 3x3 with dilation k (k = ``size``)."""
    half = size // 2
    return nn.Sequential(
        ConvBN(in_channels, out_channels, 1),
        ConvBN(out_channels, out_channels, (1, size), padding=(0, half)),
        ConvBN(out_channels, out_channels, (size, 1), padding=(half, 0)),
        ConvBN(out_channels, out_channels, 3, padding=size, dilation=size))


class RFBBlock(nn.Module):
    """Receptive field block.

    Four branches on the input: a 1x1 ConvBN, and for k = 3, 5, 7 a 1x1 ->
    1xk -> kx1 -> 3x3 (dilation k) stack of ConvBNs; their concatenation
    goes through a 3x3 ConvBN (``conv_cat``), is added to a 1x1 ConvBN of
    the input (``conv_res``) and passed through ReLU. The spatial size is
    kept.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels of every branch and of the block.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(ConvBN(in_channels, out_channels, 1))
        self.branch1 = _branch(in_channels, out_channels, 3)
        self.branch2 = _branch(in_channels, out_channels, 5)
        self.branch3 = _branch(in_channels, out_channels, 7)
        self.conv_cat = ConvBN(4 * out_channels, out_channels, 3, padding=1)
        self.conv_res = ConvBN(in_channels, out_channels, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, C_out, H, W)."""
        branches = [
            self.branch0(x),
            self.branch1(x),
            self.branch2(x),
            self.branch3(x)
        ]
        out = self.conv_cat(torch.cat(branches, dim=1))
        return self.relu(out + self.conv_res(x))
