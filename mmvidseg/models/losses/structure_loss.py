"""Structure loss of F3Net (weighted BCE + weighted IoU), as used by SALI."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmvidseg.registry import MODELS


@MODELS.register_module()
class StructureLoss(nn.Module):
    """F3Net structure loss for binary segmentation logits.

    With ``g`` the target, ``p = sigmoid(pred)`` and the boundary weight
    ``w = 1 + 5 |avgpool_31(g) - g|`` (stride 1, padding 15, padded zeros
    counted), per sample::

        wIoU = 1 - (sum w p g + 1) / (sum w (p + g) - sum w p g + 1)
        BCE  = mean BCE(pred, g)                  (weighted_bce=False)
             = sum w BCE(pred, g) / sum w         (weighted_bce=True)

    and the loss is ``loss_weight * mean over samples of (BCE + wIoU)``.

    SALI (and SINet-V2, whose ``train_video.py`` it copies) passes the
    legacy ``reduce='none'`` argument, which PyTorch reads as "reduce", so
    its BCE is the plain mean over the batch: ``weighted_bce=False`` (the
    default) reproduces that; ``True`` gives the weighted BCE F3Net intends.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        weighted_bce (bool): Weight the BCE term by ``w``. Defaults to False.
        loss_name (str): Name of the loss item. Defaults to
            'loss_structure'.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 weighted_bce: bool = False,
                 loss_name: str = 'loss_structure') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.weighted_bce = weighted_bce
        self._loss_name = loss_name

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Logits (N, 1, H, W).
            target (Tensor): Target in [0, 1], (N, 1, H, W) or (N, H, W).

        Returns:
            Tensor: Scalar loss.
        """
        if target.dim() == 3:
            target = target.unsqueeze(1)
        if pred.dim() != 4 or pred.shape != target.shape:
            raise ValueError(
                f'StructureLoss expects logits (N, 1, H, W) and a target of '
                f'the same shape, got {tuple(pred.shape)} and '
                f'{tuple(target.shape)}')
        target = target.to(pred.dtype)
        weight = 1 + 5 * torch.abs(
            F.avg_pool2d(target, kernel_size=31, stride=1, padding=15) -
            target)
        if self.weighted_bce:
            bce = F.binary_cross_entropy_with_logits(
                pred, target, reduction='none')
            bce = (weight * bce).sum(dim=(2, 3)) / weight.sum(dim=(2, 3))
        else:
            bce = F.binary_cross_entropy_with_logits(pred, target)
        prob = torch.sigmoid(pred)
        inter = (prob * target * weight).sum(dim=(2, 3))
        union = ((prob + target) * weight).sum(dim=(2, 3))
        wiou = 1 - (inter + 1) / (union - inter + 1)
        return self.loss_weight * (bce + wiou).mean()

    @property
    def loss_name(self) -> str:
        """Name of the loss item (keys starting with ``loss_`` are summed
        into the total loss by mmseg)."""
        return self._loss_name
