"""MS-TFAL's DeepLabV3+-like head with its TFAL pixel embedding."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from mmvidseg.registry import MODELS

Size = Union[Sequence[int], torch.Size]


def _conv_norm_relu(in_channels: int, out_channels: int, kernel_size: int,
                    dilation: int, bias: bool,
                    norm_cfg: dict) -> nn.Sequential:
    """``Conv2d`` (``padding = dilation`` for 3x3) + norm + ReLU."""
    padding = dilation if kernel_size == 3 else 0
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size,
                  padding=padding, dilation=dilation, bias=bias),
        build_norm_layer(norm_cfg, out_channels)[1], nn.ReLU(inplace=True))


@MODELS.register_module()
class DeepLabV3PlusLiteHead(BaseDecodeHead):
    """DeepLabV3+-like head of MS-TFAL (``net/Ours/base18.py``
    ``DeepLabV3Plus`` + ``net/Ours/ASPP.py`` ``ASPP``), on one stride-8 map.

    With ``x`` the backbone output (N, ``in_channels``, h, w):

    1. ASPP: ``aspp_convs`` = 1x1 and 3x3 convolutions with dilations
       ``dilations[1:]`` (6, 12, 18); ``image_pool`` = global average pool
       -> 1x1 conv, resized back bilinearly; every branch conv (with bias)
       + norm + ReLU, ``channels`` wide; concat -> ``aspp_bottleneck``
       (1x1 conv with bias + norm + ReLU) -> ``aspp_out`` (1x1 conv with
       bias, no norm/activation): ``a`` (N, ``channels``, h, w).
    2. ``project``: 1x1 conv (no bias) + norm + ReLU on the **same** map
       ``x`` (the original has no stride-4 skip): ``p`` (N,
       ``project_channels``, h, w).
    3. ``z = [p; a]`` (N, ``project_channels + channels`` = 304, h, w);
       ``fuse_conv`` 3x3 (no bias) + norm + ReLU -> ``conv_seg`` 1x1 ->
       logits (N, K, h, w).
    4. TFAL embedding ``z / max(||z||_2, 1e-12)`` over channels
       (``F.normalize``, as the original).

    The original resizes ``a`` to ``p``'s size (bilinear, a no-op: same
    size) and upsamples the logits to the input size with bilinear
    interpolation, ``align_corners=False``; :meth:`upsample_logits` does the
    latter, and ``align_corners=False`` makes mmseg's segmentor resize the
    same way. No dropout (``dropout_ratio=0``) and PyTorch's default
    initialisation of every layer (``init_cfg=None``), as the original.
    MS-TFAL's OHEM loss is computed by its segmentor; ``loss_decode`` is
    only used by the generic mmseg ``loss`` path.

    Args:
        num_classes (int): Number of classes K.
        in_channels (int): Backbone channels. Defaults to 512.
        channels (int): ASPP and fuse width. Defaults to 256.
        project_channels (int): ``project`` width. Defaults to 48.
        dilations (Sequence[int]): ASPP dilations; the first one (1) is the
            1x1 branch. Defaults to (1, 6, 12, 18).
        dropout_ratio (float): Dropout before ``conv_seg``. Defaults to 0.
        norm_cfg (dict): Normalisation layers. Defaults to BN.
        align_corners (bool): For the segmentor's resize. Defaults to False.
        init_cfg (dict, optional): Defaults to None (PyTorch default init).
        **kwargs: Other :class:`BaseDecodeHead` arguments.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 512,
                 channels: int = 256,
                 project_channels: int = 48,
                 dilations: Sequence[int] = (1, 6, 12, 18),
                 dropout_ratio: float = 0.,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            in_channels,
            channels,
            num_classes=num_classes,
            dropout_ratio=dropout_ratio,
            norm_cfg=norm_cfg,
            align_corners=align_corners,
            init_cfg=init_cfg,
            **kwargs)
        if not isinstance(self.in_channels, int):
            raise TypeError('DeepLabV3PlusLiteHead reads one feature map: '
                            f'in_channels must be an int, got {in_channels}')
        if len(dilations) < 1 or dilations[0] != 1:
            raise ValueError('dilations[0] must be 1 (the 1x1 ASPP branch), '
                             f'got {dilations}')
        self.aspp_convs = nn.ModuleList(
            _conv_norm_relu(self.in_channels, channels, 1 if d == 1 else 3,
                            d, True, norm_cfg) for d in dilations)
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            *_conv_norm_relu(self.in_channels, channels, 1, 1, True,
                             norm_cfg))
        self.aspp_bottleneck = _conv_norm_relu(
            channels * (len(dilations) + 1), channels, 1, 1, True, norm_cfg)
        self.aspp_out = nn.Conv2d(channels, channels, 1)
        self.project = _conv_norm_relu(self.in_channels, project_channels, 1,
                                       1, False, norm_cfg)
        self.embed_channels = project_channels + channels
        self.fuse_conv = _conv_norm_relu(self.embed_channels, channels, 3, 1,
                                         False, norm_cfg)

    def _aspp(self, x: Tensor) -> Tensor:
        """(N, C_in, h, w) -> (N, channels, h, w)."""
        pooled = F.interpolate(
            self.image_pool(x),
            size=x.shape[2:],
            mode='bilinear',
            align_corners=False)
        branches = [conv(x) for conv in self.aspp_convs] + [pooled]
        return self.aspp_out(self.aspp_bottleneck(torch.cat(branches, 1)))

    def _features(self, inputs: List[Tensor]) -> Tensor:
        """Backbone outputs -> ``[project; aspp]`` (N, 304, h, w)."""
        x = self._transform_inputs(inputs)
        return torch.cat([self.project(x), self._aspp(x)], dim=1)

    def forward_with_embedding(self,
                               inputs: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """Logits and the TFAL embedding.

        Args:
            inputs (list[Tensor]): Backbone outputs; ``inputs[in_index]`` is
                (N, ``in_channels``, h, w).

        Returns:
            tuple[Tensor, Tensor]: logits (N, K, h, w) and the channel-wise
            L2-normalised ``[project; aspp]`` (N, 304, h, w).
        """
        feats = self._features(inputs)
        logits = self.cls_seg(self.fuse_conv(feats))
        return logits, F.normalize(feats, p=2, dim=1, eps=1e-12)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Backbone outputs -> logits (N, K, h, w) at the input stride."""
        return self.cls_seg(self.fuse_conv(self._features(inputs)))

    @staticmethod
    def upsample_logits(logits: Tensor, size: Size) -> Tensor:
        """The original's final upsample: (N, K, h, w) -> (N, K, *size),
        bilinear, ``align_corners=False``."""
        return F.interpolate(
            logits, size=tuple(size), mode='bilinear', align_corners=False)
