"""Pack a clip into model inputs and a key-frame SegDataSample."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.registry import TRANSFORMS

DEFAULT_META_KEYS = ('video_id', 'frame_id', 'frame_ids', 'key_index',
                     'img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                     'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                     'reduce_zero_label')
#: Meta keys stored per frame in the results, of which the key frame's is kept.
PER_FRAME_META = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                  'pad_shape', 'scale_factor', 'flip', 'flip_direction')


@TRANSFORMS.register_module()
class PackVideoSegInputs(BaseTransform):
    """Pack a clip for :class:`VideoSegDataPreProcessor`.

    Outputs ``inputs``, a uint8 tensor of shape (T, C, H, W) with the oldest
    frame first, and ``data_samples``, one :class:`SegDataSample` for the key
    frame: ``gt_sem_seg`` (1, H, W) is the key frame's label and, when
    ``pack_clip_labels`` and labels are present, ``gt_clip_seg`` (T, H, W)
    holds every frame's label (``ignore_index`` where unlabelled). Per-frame
    meta keys take the key frame's value; ``clip_img_paths`` lists all frames.

    Args:
        meta_keys (Sequence[str]): Meta keys to copy into the data sample.
        pack_clip_labels (bool): Also pack the labels of all frames.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = DEFAULT_META_KEYS,
                 pack_clip_labels: bool = True) -> None:
        self.meta_keys = tuple(meta_keys)
        self.pack_clip_labels = pack_clip_labels

    def transform(self, results: dict) -> dict:
        imgs = results['img']
        if not isinstance(imgs, list):
            imgs = [imgs]
        num = len(imgs)
        key = results.get('key_index', num - 1)
        frames = []
        for img in imgs:
            if img.ndim == 2:
                img = img[..., None]
            frames.append(np.ascontiguousarray(img.transpose(2, 0, 1)))
        inputs = torch.from_numpy(np.stack(frames))

        sample = SegDataSample()
        segs = results.get('gt_seg_map')
        if segs is not None:
            if not isinstance(segs, list):
                segs = [segs]
            stacked = torch.from_numpy(np.stack(segs).astype(np.int64))
            sample.gt_sem_seg = PixelData(data=stacked[key:key + 1])
            if self.pack_clip_labels:
                sample.set_data(dict(gt_clip_seg=PixelData(data=stacked)))

        meta = {}
        for k in self.meta_keys:
            if k not in results:
                continue
            v = results[k]
            if k in PER_FRAME_META and isinstance(v, list) and len(v) == num:
                v = v[key]
            meta[k] = v
        if isinstance(results.get('img_path'), list):
            meta['clip_img_paths'] = list(results['img_path'])
        meta['clip_len'] = num
        meta.setdefault('key_index', key)
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(meta_keys={self.meta_keys}, '
                f'pack_clip_labels={self.pack_clip_labels})')
