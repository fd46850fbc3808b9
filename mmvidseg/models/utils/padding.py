"""Pad images to a multiple of a stride, split between both sides."""
from typing import Tuple

import torch.nn.functional as F
from torch import Tensor

#: ``(left, right, top, bottom)`` padding, the order of ``F.pad``.
Pad = Tuple[int, int, int, int]


def pad_to_multiple(x: Tensor, multiple: int = 16) -> Tuple[Tensor, Pad]:
    """Zero-pad the last two dimensions up to a multiple of ``multiple``.

    The padding of each dimension is split between both sides, the smaller
    half first (``floor(d / 2)`` before, ``d - floor(d / 2)`` after), as
    STM / STCN's ``pad_divide_by``.

    Args:
        x (Tensor): (..., H, W).
        multiple (int): Stride to reach.

    Returns:
        tuple[Tensor, tuple]: The padded tensor (..., H', W') and the
        padding ``(left, right, top, bottom)`` for :func:`unpad`.
    """
    if multiple < 1:
        raise ValueError(f'multiple must be >= 1, got {multiple}')
    h, w = x.shape[-2:]
    dh, dw = -h % multiple, -w % multiple
    pad = (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2)
    if not any(pad):
        return x, pad
    return F.pad(x, pad), pad


def unpad(x: Tensor, pad: Pad) -> Tensor:
    """Remove a :func:`pad_to_multiple` padding from (..., H', W')."""
    left, right, top, bottom = pad
    h, w = x.shape[-2:]
    return x[..., top:h - bottom, left:w - right]
