"""Per-frame supervision of clips: targets, weights and head losses.

Used by :class:`VideoEncoderDecoder` with ``train_cfg=dict(
supervise='all_frames')``; see its docstring for the loss reduction.
"""
import math
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.utils import SampleList
from torch import Tensor


def _sample_name(sample) -> str:
    meta = sample.metainfo
    return f'{meta.get("video_id")!r}/{meta.get("frame_id")!r}'


def _sample_weight(sample) -> float:
    value = sample.metainfo.get('loss_weight', 1.0)
    weight = float(value)
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f'loss_weight of sample {_sample_name(sample)} must '
                         f'be a finite number >= 0, got {value!r}')
    return weight


def frame_targets(data_samples: SampleList, num_clips: int,
                  num_frames: int
                  ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """Labels and loss weights of the supervised frames of a batch.

    Args:
        data_samples (list[SegDataSample]): N samples with ``gt_clip_seg``
            (T, H, W), optional ``gt_clip_weight`` (T, H, W) and metainfo
            ``supervised`` (T bools, default all) and ``loss_weight``
            (default 1).
        num_clips (int): N.
        num_frames (int): T.

    Returns:
        tuple: ``rows`` (M,) indices of the supervised frames in the N*T
        flattened frames, ``labels`` (M, H, W) and ``weight`` (M, H, W)
        float, or None when every weight is 1. A batch without any supervised
        frame returns its first frame with a zero weight, so that the losses
        are 0 but keep their graph (DDP needs every parameter used).

    Raises:
        KeyError: A sample has no ``gt_clip_seg``.
        ValueError: Shapes disagree with the clip, or a bad ``loss_weight``.
    """
    if len(data_samples) != num_clips:
        raise ValueError(f'{len(data_samples)} data samples for a batch of '
                         f'{num_clips} clips')
    labels: List[Tensor] = []
    pixel: List[Optional[Tensor]] = []
    sample_w: List[float] = []
    supervised: List[bool] = []
    for s in data_samples:
        if 'gt_clip_seg' not in s:
            raise KeyError(
                f"supervise='all_frames' needs gt_clip_seg (T, H, W) in every "
                f'data sample; sample {_sample_name(s)} has none (pack it '
                'with PackVideoSegInputs(pack_clip_labels=True))')
        seg = s.gt_clip_seg.data
        if seg.dim() != 3 or seg.size(0) != num_frames:
            raise ValueError(
                f'gt_clip_seg of sample {_sample_name(s)} is '
                f'{tuple(seg.shape)}; expected ({num_frames}, H, W)')
        sup = list(s.metainfo.get('supervised', [True] * num_frames))
        if len(sup) != num_frames:
            raise ValueError(
                f'"supervised" of sample {_sample_name(s)} has {len(sup)} '
                f'entries for {num_frames} frames')
        weight = None
        if 'gt_clip_weight' in s:
            weight = s.gt_clip_weight.data
            if weight.shape != seg.shape:
                raise ValueError(
                    f'gt_clip_weight of sample {_sample_name(s)} is '
                    f'{tuple(weight.shape)} but gt_clip_seg is '
                    f'{tuple(seg.shape)}')
        labels.append(seg)
        pixel.append(weight)
        sample_w.append(_sample_weight(s))
        supervised.extend(bool(x) for x in sup)
    shapes = {tuple(x.shape) for x in labels}
    if len(shapes) != 1:
        raise ValueError(f'gt_clip_seg of one batch differ in size {shapes}; '
                         'pad them in the data preprocessor')
    flat_labels = torch.cat(labels).long()
    device = flat_labels.device
    rows = torch.tensor([i for i, s in enumerate(supervised) if s],
                        dtype=torch.long, device=device)
    empty = rows.numel() == 0
    if empty:
        rows = torch.zeros(1, dtype=torch.long, device=device)
    trivial = (not empty and all(w == 1.0 for w in sample_w)
               and all(p is None for p in pixel))
    if trivial:
        return rows, flat_labels[rows], None
    per_frame = torch.tensor(sample_w, dtype=torch.float32, device=device)
    per_frame = per_frame.repeat_interleave(num_frames)
    pixel_w = torch.cat([
        torch.ones_like(lab, dtype=torch.float32) if p is None else
        p.to(device=device, dtype=torch.float32)
        for p, lab in zip(pixel, labels)
    ])
    weight = pixel_w * per_frame[:, None, None]
    if empty:
        weight = torch.zeros_like(weight)
    return rows, flat_labels[rows], weight[rows]


def frame_head_loss(head: nn.Module, feats: List[Tensor], labels: Tensor,
                    weight: Optional[Tensor]) -> Dict[str, Tensor]:
    """mmseg's ``BaseDecodeHead.loss_by_feat`` for M independent frames,
    with an element-wise weight.

    Args:
        head (BaseDecodeHead): A per-frame head.
        feats (list[Tensor]): Features of the M frames per level,
            (M, C, h, w).
        labels (Tensor): (M, H, W) labels, ``head.ignore_index`` ignored.
        weight (Tensor, optional): (M, H, W) element-wise loss weight.

    Returns:
        dict[str, Tensor]: One entry per ``loss_decode`` name (summed over
        modules of the same name) and ``acc_seg``.
    """
    logits = resize(head.forward(feats), size=labels.shape[-2:],
                    mode='bilinear', align_corners=head.align_corners)
    seg_weight = None
    if head.sampler is not None:
        seg_weight = head.sampler.sample(logits, labels[:, None])
    if weight is not None:
        seg_weight = weight if seg_weight is None else seg_weight * weight
    losses_decode = head.loss_decode if isinstance(
        head.loss_decode, nn.ModuleList) else [head.loss_decode]
    loss: Dict[str, Tensor] = {}
    for loss_decode in losses_decode:
        value = loss_decode(logits, labels, weight=seg_weight,
                            ignore_index=head.ignore_index)
        name = loss_decode.loss_name
        loss[name] = loss[name] + value if name in loss else value
    loss['acc_seg'] = accuracy(logits, labels, ignore_index=head.ignore_index)
    return loss
