"""Pack a clip into model inputs and a key-frame SegDataSample."""
from typing import List, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.registry import TRANSFORMS

from .frame_keys import FRAME_KEYS, frame_keys_of

DEFAULT_META_KEYS = ('video_id', 'frame_id', 'frame_ids', 'key_index',
                     'loss_weight', 'img_path', 'seg_map_path', 'ori_shape',
                     'img_shape', 'pad_shape', 'scale_factor', 'flip',
                     'flip_direction', 'reduce_zero_label')
#: Deprecated alias of :data:`frame_keys.FRAME_KEYS`.
PER_FRAME_META = FRAME_KEYS


@TRANSFORMS.register_module()
class PackVideoSegInputs(BaseTransform):
    """Pack a clip for :class:`VideoSegDataPreProcessor`.

    Outputs ``inputs``, a uint8 tensor of shape (T, C, H, W) with the oldest
    frame first, and ``data_samples``, one :class:`SegDataSample` for the key
    frame:

    * ``gt_sem_seg`` (1, H, W) is the key frame's label and, when
      ``pack_clip_labels`` and labels are present, ``gt_clip_seg`` (T, H, W)
      holds every frame's label (``ignore_index`` where unlabelled);
    * ``gt_clip_weight`` (T, H, W) float32 holds per-pixel loss weights when
      the results carry a per-frame ``gt_weight_map`` list (geometric
      transforms do not move it unless they are told to, so add it after
      them or at the final size);
    * per-frame meta keys (:func:`frame_keys.frame_keys_of`) take the key
      frame's value; ``clip_img_paths`` lists all frames, ``clip_len`` is T;
    * ``clip_bounds`` (the clips of the sample as ``(start, stop)``,
      default ``[(0, T)]``) and ``supervised`` (a bool per frame; default:
      the frames with a ``seg_map_path``, or all frames when labels are
      present without paths) are always set.

    Args:
        meta_keys (Sequence[str]): Meta keys to copy into the data sample.
        pack_clip_labels (bool): Also pack the labels of all frames.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = DEFAULT_META_KEYS,
                 pack_clip_labels: bool = True) -> None:
        self.meta_keys = tuple(meta_keys)
        self.pack_clip_labels = pack_clip_labels

    @staticmethod
    def _stack_maps(maps, name: str, dtype) -> torch.Tensor:
        if not isinstance(maps, list):
            maps = [maps]
        shapes = {np.shape(m) for m in maps}
        if len(shapes) != 1:
            raise ValueError(f'{name} of one clip differ in size: '
                             f'{[np.shape(m) for m in maps]}')
        return torch.from_numpy(np.stack(maps).astype(dtype))

    @staticmethod
    def _supervised(results: dict, num: int) -> List[bool]:
        sup = results.get('supervised')
        if sup is None:
            paths = results.get('seg_map_path')
            if isinstance(paths, list) and len(paths) == num:
                return [p is not None for p in paths]
            return [results.get('gt_seg_map') is not None] * num
        sup = [bool(s) for s in sup]
        if len(sup) != num:
            raise ValueError(f'"supervised" has {len(sup)} entries for a '
                             f'clip of {num} frames')
        return sup

    def transform(self, results: dict) -> dict:
        imgs = results['img']
        if not isinstance(imgs, list):
            imgs = [imgs]
        num = len(imgs)
        key = results.get('key_index', num - 1)
        frames = [img[..., None] if img.ndim == 2 else img for img in imgs]
        inputs = self._stack_maps(frames, 'img', frames[0].dtype)
        inputs = inputs.permute(0, 3, 1, 2).contiguous()

        sample = SegDataSample()
        segs = results.get('gt_seg_map')
        if segs is not None:
            stacked = self._stack_maps(segs, 'gt_seg_map', np.int64)
            sample.gt_sem_seg = PixelData(data=stacked[key:key + 1])
            if self.pack_clip_labels:
                sample.set_data(dict(gt_clip_seg=PixelData(data=stacked)))
        weights = results.get('gt_weight_map')
        if weights is not None:
            sample.set_data(dict(gt_clip_weight=PixelData(
                data=self._stack_maps(weights, 'gt_weight_map',
                                      np.float32))))

        per_frame = frame_keys_of(results)
        meta = {}
        for k in self.meta_keys:
            if k not in results:
                continue
            v = results[k]
            if k in per_frame and isinstance(v, list) and len(v) == num:
                v = v[key]
            meta[k] = v
        if isinstance(results.get('img_path'), list):
            meta['clip_img_paths'] = list(results['img_path'])
        meta['clip_len'] = num
        meta.setdefault('key_index', key)
        meta['clip_bounds'] = [
            tuple(b) for b in results.get('clip_bounds', [(0, num)])
        ]
        meta['supervised'] = self._supervised(results, num)
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(meta_keys={self.meta_keys}, '
                f'pack_clip_labels={self.pack_clip_labels})')
