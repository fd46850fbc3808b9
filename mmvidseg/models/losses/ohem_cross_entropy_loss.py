"""Online hard example mining cross-entropy of MS-TFAL (``OhemCELoss2D``)."""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmvidseg.registry import MODELS


@MODELS.register_module()
class OhemCrossEntropyLoss(nn.Module):
    """Pixel cross-entropy averaged over the hardest pixels.

    With the per-pixel losses ``l`` of the whole batch sorted descending and
    ``t = -ln(thresh)``: if ``l[n_min] > t`` (more than ``n_min`` pixels are
    hard) the loss is the mean of all ``l > t``, else the mean of the
    ``n_min`` largest; times ``loss_weight``. This is MS-TFAL's
    ``OhemCELoss2D`` (no class weights). mmseg's ``OhemCrossEntropy``
    (PIDNet) differs: it thresholds the softmax probability of the pixels.

    With ``n_min_divisor=d`` the least number of pixels follows the labels
    of each call: ``n_min = (number of non-ignored pixels) // d`` (theseus
    v1.0.1 ``OhemCELoss``, used by kaylode/ivos: ``d = 16``, ``thresh``
    0.5 in STCN, default ignore label 255). Both rules select the same
    pixels (theseus keeps the hard pixels unless fewer than ``n_min``, then
    the ``n_min`` largest), so only ``n_min`` differs.

    Ignored pixels get loss 0 and stay in the pool (as with the original's
    ``ignore_index=-1``): they are never above ``t`` but can be among the
    ``n_min`` "largest" when fewer pixels have a positive loss.

    Args:
        thresh (float): Probability threshold; pixels whose true-class
            probability is below it are hard. Defaults to 0.7.
        n_min (int): Least number of pixels averaged. Defaults to 5120
            (MS-TFAL: ``H * W // 16`` at 256 x 320). Unused when
            ``n_min_divisor`` is given.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        ignore_index (int, optional): Label ignored. None uses the
            ``ignore_index`` given to :meth:`forward` (mmseg decode heads
            pass theirs), else nothing is ignored. Defaults to None.
        loss_name (str): Name of the loss item. Defaults to 'loss_ohem'.
        n_min_divisor (int, optional): If given, ``n_min`` is the number of
            non-ignored pixels of the call divided (floor) by it (theseus:
            16). Defaults to None (the fixed ``n_min``).
    """

    def __init__(self,
                 thresh: float = 0.7,
                 n_min: int = 5120,
                 loss_weight: float = 1.0,
                 ignore_index: Optional[int] = None,
                 loss_name: str = 'loss_ohem',
                 n_min_divisor: Optional[int] = None) -> None:
        super().__init__()
        if not 0 < thresh <= 1:
            raise ValueError(f'OhemCrossEntropyLoss: thresh must be in '
                             f'(0, 1], got {thresh}')
        if n_min < 0:
            raise ValueError(f'OhemCrossEntropyLoss: n_min must be >= 0, '
                             f'got {n_min}')
        if n_min_divisor is not None and n_min_divisor < 1:
            raise ValueError(f'OhemCrossEntropyLoss: n_min_divisor must be '
                             f'>= 1, got {n_min_divisor}')
        self.thresh = thresh
        self.n_min = int(n_min)
        self.n_min_divisor = n_min_divisor
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: Optional[int] = None,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits (N, K, H, W).
            label (Tensor): Class indices (N, H, W).
            weight (Tensor, optional): Unsupported; must be None.
            ignore_index (int, optional): Used when the loss was built
                with ``ignore_index=None``.

        Returns:
            Tensor: Scalar loss.
        """
        if weight is not None:
            raise NotImplementedError(
                'OhemCrossEntropyLoss does not support per-pixel weights')
        if cls_score.dim() != 4 or label.shape != (
                cls_score.shape[0], *cls_score.shape[2:]):
            raise ValueError(
                f'OhemCrossEntropyLoss expects logits (N, K, H, W) and '
                f'labels (N, H, W), got {tuple(cls_score.shape)} and '
                f'{tuple(label.shape)}')
        if self.ignore_index is not None:
            ignore_index = self.ignore_index
        if ignore_index is None:
            ignore_index = -100
        n_min = self.n_min
        if self.n_min_divisor is not None:
            n_min = int((label != ignore_index).sum()) // self.n_min_divisor
        if n_min >= label.numel():
            raise ValueError(
                f'OhemCrossEntropyLoss: n_min ({n_min}) must be smaller '
                f'than the number of pixels ({label.numel()})')
        loss = F.cross_entropy(
            cls_score, label.long(), ignore_index=ignore_index,
            reduction='none').reshape(-1)
        thresh = -math.log(self.thresh)
        top = torch.topk(loss, n_min + 1).values  # descending
        if top[n_min] > thresh:
            loss = loss[loss > thresh]
        else:
            loss = top[:n_min]
        return self.loss_weight * loss.mean()

    @property
    def loss_name(self) -> str:
        """Name of the loss item (keys starting with ``loss_`` are summed
        into the total loss by mmseg)."""
        return self._loss_name
