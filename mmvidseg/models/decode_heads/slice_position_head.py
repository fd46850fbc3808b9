"""A decode head whose classifier also sees the slice position of a CT
slice (the "positional encoding" of kaylode/ivos ``TransUnetPE``)."""
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from mmseg.structures import SegDataSample
from torch import Tensor, nn

from mmvidseg.registry import MODELS


class PositionConcatConv(nn.Module):
    """Classifier on ``[features; p]``: one constant channel per sample.

    Replaces a head's ``conv_seg`` (same kernel, one more input channel).
    The positions (N,) are set by :class:`SlicePositionHead` around each
    call of the wrapped head.

    Args:
        conv (nn.Conv2d): The classifier it replaces.
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = nn.Conv2d(conv.in_channels + 1, conv.out_channels,
                              conv.kernel_size, conv.stride, conv.padding,
                              bias=conv.bias is not None)
        self.positions: Optional[Tensor] = None

    def forward(self, feat: Tensor) -> Tensor:
        """(N, C, H, W) features -> (N, K, H, W) logits."""
        if self.positions is None:
            raise ValueError(
                'SlicePositionHead: no slice positions were given; pass '
                'data samples (or img metas) carrying the slice position')
        n, _, h, w = feat.shape
        pos = self.positions.to(feat).reshape(-1, 1, 1, 1)
        if pos.size(0) != n:
            raise ValueError(f'SlicePositionHead: {pos.size(0)} slice '
                             f'positions for a batch of {n}')
        return self.conv(torch.cat([feat, pos.expand(n, 1, h, w)], dim=1))


@MODELS.register_module()
class SlicePositionHead(BaseModule):
    """Wrap an mmseg decode head so that its classifier gets the slice
    position as one more constant input channel.

    kaylode/ivos ``TransUnetPE`` concatenates a channel equal to the slice
    position ``sid / num_slices`` to the decoder's last feature map before
    its segmentation head (``transunet_pos.py``). Here the wrapped head's
    ``conv_seg`` becomes a :class:`PositionConcatConv` (input channels + 1,
    after the head's dropout), so any mmseg head whose ``forward`` ends in
    ``cls_seg`` works. The positions come from each sample's metainfo
    ``meta_key`` in both paths: :meth:`loss` (data samples) and
    :meth:`predict` (img metas, also per crop in slide inference).
    :meth:`forward` needs the metas explicitly (tensor mode).

    Args:
        head (dict): Config of the wrapped decode head.
        meta_key (str): Metainfo key of the position. Defaults to
            'slice_position'.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 head: dict,
                 meta_key: str = 'slice_position',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.head = MODELS.build(head)
        conv = getattr(self.head, 'conv_seg', None)
        if not isinstance(conv, nn.Conv2d):
            raise ValueError(
                f'SlicePositionHead: the wrapped head {head.get("type")} has '
                f'no conv_seg classifier (nn.Conv2d)')
        self.head.conv_seg = PositionConcatConv(conv)
        self.meta_key = meta_key

    # attributes read by mmseg segmentors
    @property
    def align_corners(self) -> bool:
        return self.head.align_corners

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    @property
    def out_channels(self) -> int:
        return self.head.out_channels

    @property
    def ignore_index(self) -> int:
        return self.head.ignore_index

    @property
    def threshold(self) -> float:
        return self.head.threshold

    def positions_of(self, batch_img_metas: Sequence[dict]) -> Tensor:
        """Slice positions (N,) from the metainfo of each sample."""
        try:
            return torch.tensor([float(m[self.meta_key])
                                 for m in batch_img_metas])
        except KeyError:
            raise KeyError(
                f'SlicePositionHead: sample metainfo lacks {self.meta_key!r} '
                f'(add it to the meta_keys of PackSegInputs)') from None

    @contextmanager
    def slice_positions(self, batch_img_metas: Sequence[dict]) -> Iterator:
        """Within this context the classifier uses the positions of
        ``batch_img_metas`` (e.g. around a segmentor's tensor-mode call)."""
        conv = self.head.conv_seg
        previous = conv.positions
        conv.positions = self.positions_of(batch_img_metas)
        try:
            yield
        finally:
            conv.positions = previous

    def forward(self,
                inputs: List[Tensor],
                batch_img_metas: Optional[Sequence[dict]] = None) -> Tensor:
        """Logits (N, K, h, w) of the wrapped head; the positions come from
        ``batch_img_metas`` or, if None, from an enclosing
        :meth:`slice_positions` context (else a ValueError)."""
        if batch_img_metas is None:
            return self.head(inputs)
        with self.slice_positions(batch_img_metas):
            return self.head(inputs)

    def loss(self, inputs: List[Tensor],
             batch_data_samples: List[SegDataSample], train_cfg) -> dict:
        """The wrapped head's losses, positions from the data samples."""
        with self.slice_positions([s.metainfo for s in batch_data_samples]):
            return self.head.loss(inputs, batch_data_samples, train_cfg)

    def predict(self, inputs: List[Tensor], batch_img_metas: List[dict],
                test_cfg) -> Tensor:
        """The wrapped head's prediction, positions from the img metas."""
        with self.slice_positions(batch_img_metas):
            return self.head.predict(inputs, batch_img_metas, test_cfg)
