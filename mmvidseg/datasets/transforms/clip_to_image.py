"""Turn a one-frame clip into single-image results (2D pipelines)."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmvidseg.registry import TRANSFORMS

from .frame_keys import FRAME_KEYS_FIELD, frame_keys_of


@TRANSFORMS.register_module()
class ClipToImage(BaseTransform):
    """Unwrap the per-frame lists of a one-frame clip.

    The video loaders (:class:`LoadVideoFrames`, :class:`LoadVolumeSlices`)
    store every per-frame key as a list, even for a single frame. After this
    transform each per-frame key (:func:`frame_keys.frame_keys_of`) holds its
    single value, so stock mmcv/mmseg transforms (``Resize``,
    ``RandomFlip``, ...) and mmseg's ``PackSegInputs`` apply as to an image:
    the way 2D models (e.g. the CPS reference model) are trained on CT
    slices.

    With ``fill_ignore_label`` an item without ``gt_seg_map`` (an
    unlabelled slice) gets an (H, W) uint8 map of ``ignore_index``, so
    labelled and unlabelled items of a two-stream batch look alike.

    Required keys: ``img`` (a list of one frame, or already an array).
    Modified keys: every per-frame key. Added keys (``fill_ignore_label``):
    ``gt_seg_map``, ``seg_fields``.

    Args:
        fill_ignore_label (bool): Add an ignore label to unlabelled items.
        ignore_index (int): Value of that label.

    Raises:
        ValueError: The clip has more than one frame.
    """

    def __init__(self,
                 fill_ignore_label: bool = False,
                 ignore_index: int = 255) -> None:
        if not 0 <= int(ignore_index) <= 255:
            raise ValueError(f'ignore_index must be in 0..255 (a uint8 '
                             f'label), got {ignore_index}')
        self.fill_ignore_label = fill_ignore_label
        self.ignore_index = int(ignore_index)

    def transform(self, results: dict) -> dict:
        imgs = results['img']
        if isinstance(imgs, list):
            if len(imgs) != 1:
                raise ValueError(f'ClipToImage needs a one-frame clip, got '
                                 f'{len(imgs)} frames')
            for key in frame_keys_of(results):
                value = results.get(key)
                if isinstance(value, list) and len(value) == 1:
                    results[key] = value[0]
            results.pop(FRAME_KEYS_FIELD, None)
        if self.fill_ignore_label and results.get('gt_seg_map') is None:
            img = results['img']
            results['gt_seg_map'] = np.full(img.shape[:2], self.ignore_index,
                                            np.uint8)
            results['seg_fields'] = ['gt_seg_map']
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(fill_ignore_label='
                f'{self.fill_ignore_label}, ignore_index={self.ignore_index})')
