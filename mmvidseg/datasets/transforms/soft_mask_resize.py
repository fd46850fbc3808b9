"""Resize a frame and its soft (grey) masks with PIL bilinear filtering."""
from typing import Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmvidseg.registry import TRANSFORMS


def _pil_resize(arr: np.ndarray, size, name: str,
                interpolation: str = 'bilinear') -> np.ndarray:
    if arr.dtype != np.uint8:
        raise TypeError(f'SoftMaskResize needs uint8 {name!r}, got '
                        f'{arr.dtype} (PIL resizes 8-bit images)')
    return mmcv.imresize(
        arr, size, interpolation=interpolation, backend='pillow')


@TRANSFORMS.register_module()
class SoftMaskResize(BaseTransform):
    """Resize to a fixed size with PIL bilinear, labels included.

    SALI resizes frames and GT masks with ``torchvision.transforms.Resize``
    on PIL images, i.e. PIL ``Image.resize(size, BILINEAR)``, which filters
    (antialiases) when shrinking. This transform does the same through
    ``mmcv.imresize(backend='pillow', interpolation='bilinear')``, for the
    image **and** every map of ``seg_fields``: the masks are soft grey maps
    (0..255) that SALI trains on as ``gt / 255``, so they are interpolated,
    not resized with nearest neighbours as mmseg's ``Resize`` does.

    Required keys: ``img`` (uint8). Modified keys: ``img``, the maps of
    ``seg_fields``. Added keys (as mmcv ``Resize``): ``img_shape`` (H, W),
    ``scale`` (w, h), ``scale_factor`` (w_scale, h_scale) and
    ``keep_ratio`` (False).

    MS-TFAL resizes its class-id labels the same way (PIL bilinear, so ids
    are interpolated at class boundaries); ``seg_interpolation='nearest'``
    resizes the maps with PIL nearest instead.

    Args:
        scale (Sequence[int]): Output size ``(w, h)`` as in mmcv ``Resize``.
            Default (352, 352).
        seg_interpolation (str): PIL filter of the ``seg_fields`` maps,
            ``'bilinear'`` (default) or ``'nearest'``.
    """

    def __init__(self,
                 scale: Sequence[int] = (352, 352),
                 seg_interpolation: str = 'bilinear') -> None:
        if len(scale) != 2 or min(int(s) for s in scale) < 1:
            raise ValueError(f'scale must be (w, h) > 0, got {scale!r}')
        if seg_interpolation not in ('bilinear', 'nearest'):
            raise ValueError("seg_interpolation must be 'bilinear' or "
                             f"'nearest', got {seg_interpolation!r}")
        self.scale = (int(scale[0]), int(scale[1]))
        self.seg_interpolation = seg_interpolation

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        results['img'] = _pil_resize(img, self.scale, 'img')
        for key in results.get('seg_fields', []):
            if results.get(key) is not None:
                results[key] = _pil_resize(results[key], self.scale, key,
                                           self.seg_interpolation)
        results['img_shape'] = results['img'].shape[:2]
        results['scale'] = self.scale
        results['scale_factor'] = (self.scale[0] / w, self.scale[1] / h)
        results['keep_ratio'] = False
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, '
                f'seg_interpolation={self.seg_interpolation!r})')
