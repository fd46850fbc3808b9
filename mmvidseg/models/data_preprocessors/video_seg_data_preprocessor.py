"""Normalise clips per frame and stack them to (N, T, C, H, W)."""
from numbers import Number
from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmseg.utils import stack_batch

from mmvidseg.registry import MODELS


@MODELS.register_module()
class VideoSegDataPreProcessor(BaseDataPreprocessor):
    """Data preprocessor for clips packed by :class:`PackVideoSegInputs`.

    Each clip (T, C, H, W) is colour-converted and normalised per frame, then
    padded (one padding for the whole clip, bottom/right, as mmseg does) and
    the batch is stacked to (N, T, C, H, W). ``gt_sem_seg`` is padded with
    ``seg_pad_val`` like mmseg's, and so is ``gt_clip_seg`` when present;
    per-pixel loss weights ``gt_clip_weight`` are padded with 0. The clip
    metainfo (``key_index``, ``clip_bounds``, ``supervised``, ...) is kept.
    The arguments are those of :class:`mmseg.models.SegDataPreProcessor`.

    Args:
        mean (Sequence[Number], optional): Per-channel mean.
        std (Sequence[Number], optional): Per-channel std.
        size (tuple, optional): Fixed padding size (H, W) in training.
        size_divisor (int, optional): Pad to a multiple of this.
        pad_val (Number): Image padding value.
        seg_pad_val (Number): Label padding value.
        bgr_to_rgb (bool): Swap BGR to RGB.
        rgb_to_bgr (bool): Swap RGB to BGR.
        test_cfg (dict, optional): ``size``/``size_divisor`` in testing.
    """

    def __init__(self,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 size: Optional[tuple] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: Number = 0,
                 seg_pad_val: Number = 255,
                 bgr_to_rgb: bool = False,
                 rgb_to_bgr: bool = False,
                 test_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError('bgr_to_rgb and rgb_to_bgr are exclusive')
        self.size = size
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.channel_conversion = bgr_to_rgb or rgb_to_bgr
        self._enable_normalize = mean is not None
        if mean is not None:
            if std is None:
                raise ValueError('give both mean and std to normalise')
            self.register_buffer('mean',
                                 torch.tensor(mean).view(1, -1, 1, 1), False)
            self.register_buffer('std',
                                 torch.tensor(std).view(1, -1, 1, 1), False)
        self.test_cfg = test_cfg

    def _normalise(self, clip: torch.Tensor) -> torch.Tensor:
        if clip.dim() == 3:  # a single frame is a clip of one
            clip = clip[None]
        if clip.dim() != 4:
            raise ValueError(f'expected a clip (T, C, H, W), got a tensor '
                             f'of shape {tuple(clip.shape)}')
        if self.channel_conversion and clip.size(1) == 3:
            clip = clip[:, [2, 1, 0]]
        clip = clip.float()
        if self._enable_normalize:
            clip = (clip - self.mean) / self.std
        return clip

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        data = self.cast_data(data)
        clips: List[torch.Tensor] = [
            self._normalise(c) for c in data['inputs']
        ]
        samples = data.get('data_samples')
        t, c = clips[0].shape[:2]
        if any(x.shape[:2] != (t, c) for x in clips):
            raise ValueError('clips of one batch must have the same number '
                             f'of frames and channels: '
                             f'{[tuple(x.shape[:2]) for x in clips]}')
        if training:
            if samples is None:
                raise ValueError('data_samples are required in training')
            size, divisor = self.size, self.size_divisor
        else:
            cfg = self.test_cfg or {}
            size, divisor = cfg.get('size'), cfg.get('size_divisor')
        flat = [x.flatten(0, 1) for x in clips]  # (T*C, H, W)
        if size is None and divisor is None:
            shape = flat[0].shape[1:]
            if any(x.shape[1:] != shape for x in flat):
                raise ValueError(
                    'frames of a batch differ in size '
                    f'{[tuple(x.shape[1:]) for x in flat]}; set size or '
                    'size_divisor in the data preprocessor to pad them')
            inputs = torch.stack(flat)
        else:
            inputs, padded = stack_batch(
                flat, samples if training else None, size, divisor,
                self.pad_val, self.seg_pad_val)
            if not training and samples is not None:
                for s, info in zip(samples, padded):
                    s.set_metainfo(dict(info))
        inputs = inputs.view(inputs.size(0), t, c, *inputs.shape[-2:])
        if training and samples is not None:
            # like mmseg, labels are padded in training only (test labels
            # keep their original size; predictions are resized to it)
            self._pad_clip_labels(samples, inputs.shape[-2:])
        return dict(inputs=inputs, data_samples=samples)

    def _pad_clip_labels(self, samples, hw) -> None:
        """Pad ``gt_clip_seg`` with ``seg_pad_val`` and ``gt_clip_weight``
        with 0 to the batch size ``hw`` (bottom/right)."""
        for s in samples:
            for field, value in (('gt_clip_seg', self.seg_pad_val),
                                 ('gt_clip_weight', 0.)):
                if field not in s:
                    continue
                data = getattr(s, field).data
                pad = (0, max(hw[1] - data.shape[-1], 0), 0,
                       max(hw[0] - data.shape[-2], 0))
                if any(pad):
                    del getattr(s, field).data
                    getattr(s, field).data = F.pad(data, pad, value=value)
