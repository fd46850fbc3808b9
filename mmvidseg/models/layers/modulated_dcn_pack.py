"""Modulated deformable conv whose offsets come from a separate feature."""
import logging
from typing import Tuple, Union

import torch
import torch.nn as nn
from mmcv.ops import ModulatedDeformConv2d, modulated_deform_conv2d
from mmengine.logging import print_log
from torch import Tensor

# The original prints a warning above this mean absolute offset (pixels).
OFFSET_WARN_THRESHOLD = 50.


class ModulatedDCNPack(ModulatedDeformConv2d):
    """Modulated deformable convolution (DCNv2) for feature alignment.

    Unlike ``mmcv.ops.ModulatedDeformConv2dPack``, which predicts offsets
    from its own input, this pack predicts them from a separate feature
    ``feat`` (the EDVR / SALI ``DCNv2Pack``): a convolution ``conv_offset``
    (same kernel, stride, padding and dilation, ``deform_groups * 3 * kh *
    kw`` outputs, zero-initialised so that it starts as a plain conv) gives
    ``o1, o2, m`` (three equal chunks); the offsets are ``[o1; o2]`` and the
    modulation mask ``sigmoid(m)``. Parameter names (``weight``, ``bias``,
    ``conv_offset.weight``, ``conv_offset.bias``) equal SALI's.

    A warning is logged once per module when the mean absolute offset
    exceeds 50 pixels, like the original's print (the check costs a
    device synchronisation per call until it fires).

    Args:
        in_channels (int): Channels of ``x`` and of ``feat``.
        out_channels (int): Output channels.
        kernel_size (int | tuple[int, int]): Kernel size.
        stride (int): Stride. Defaults to 1.
        padding (int): Padding. Defaults to 0.
        dilation (int): Dilation. Defaults to 1.
        groups (int): Convolution groups. Defaults to 1.
        deform_groups (int): Deformable groups. Defaults to 1.
        bias (bool): Whether the convolution has a bias. Defaults to True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: Union[int, Tuple[int, int]],
                 stride: int = 1,
                 padding: int = 0,
                 dilation: int = 1,
                 groups: int = 1,
                 deform_groups: int = 1,
                 bias: bool = True) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            deform_groups=deform_groups,
            bias=bias)
        self.conv_offset = nn.Conv2d(
            in_channels,
            deform_groups * 3 * self.kernel_size[0] * self.kernel_size[1],
            kernel_size=self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            bias=True)
        self._offset_warned = False
        self.init_weights()

    def init_weights(self) -> None:
        """Uniform conv weights, zero bias, zero ``conv_offset``."""
        super().init_weights()
        if hasattr(self, 'conv_offset'):
            nn.init.zeros_(self.conv_offset.weight)
            nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: Tensor, feat: Tensor) -> Tensor:  # type: ignore
        """Deformable convolution of ``x`` guided by ``feat``.

        Args:
            x (Tensor): Features to sample (N, C_in, H, W).
            feat (Tensor): Features predicting offsets and mask
                (N, C_in, H, W).

        Returns:
            Tensor: (N, C_out, H', W').
        """
        o1, o2, mask = torch.chunk(self.conv_offset(feat), 3, dim=1)
        offset = torch.cat([o1, o2], dim=1)
        if not self._offset_warned:
            mean_abs = float(offset.detach().abs().mean())
            if mean_abs > OFFSET_WARN_THRESHOLD:
                self._offset_warned = True
                print_log(
                    f'{self.__class__.__name__}: mean absolute offset '
                    f'{mean_abs:.1f} > {OFFSET_WARN_THRESHOLD:g} pixels '
                    '(alignment may be diverging)',
                    logger='current',
                    level=logging.WARNING)
        return modulated_deform_conv2d(x, offset, torch.sigmoid(mask),
                                       self.weight, self.bias, self.stride,
                                       self.padding, self.dilation,
                                       self.groups, self.deform_groups)
