"""SALI's random rotation: bicubic for the frame and the soft mask alike."""
from typing import Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from PIL import Image

from mmvidseg.registry import TRANSFORMS


def _pil_rotate(arr: np.ndarray, angle: float, name: str) -> np.ndarray:
    """Rotate a uint8 (H, W) or (H, W, C) array with PIL, bicubic, about the
    centre, without expansion, filling with 0."""
    if arr.dtype != np.uint8:
        raise TypeError(f'RandomRotateBicubic needs uint8 {name!r}, got '
                        f'{arr.dtype} (PIL rotates 8-bit images)')
    out = Image.fromarray(np.ascontiguousarray(arr)).rotate(
        angle, Image.BICUBIC)
    return np.asarray(out).copy()


@TRANSFORMS.register_module()
class RandomRotateBicubic(BaseTransform):
    """Rotate the image and its labels by a random whole angle, bicubic.

    SALI's ``randomRotation``: with probability ``prob`` an angle is drawn
    uniformly from the integers of ``degree_range`` (both ends included; the
    original's ``np.random.randint(-15, 15)`` gives -15..14) and the frame and
    every map of ``seg_fields`` are rotated with PIL ``rotate(angle,
    BICUBIC)``: counter-clockwise for positive angles, about the image centre,
    same size (no expansion), corners filled with 0. Labels are rotated
    **bicubically** too: SALI trains on soft grey masks (0..255), so the mask
    border becomes grey (and bicubic overshoot is clipped to 0..255 by PIL).

    Use it inside :class:`ClipTransformBroadcaster` with
    ``share_random_params=True``: the draw (:meth:`_random_angle`, a
    ``cache_randomness`` method) is then made once per clip and every frame
    and mask of the clip turns by the same angle, as in SALI.

    Randomness: numpy's global generator (seeded per dataloader worker by
    mmengine), one ``rand()`` and, when rotating, one ``randint``.

    Required keys: ``img`` (uint8). Modified keys: ``img`` and the maps named
    in ``seg_fields`` (uint8).

    Args:
        prob (float): Probability of rotating. Default 0.2.
        degree_range (Sequence[int]): Smallest and largest angle in degrees,
            both included. Default (-15, 14).
    """

    def __init__(self,
                 prob: float = 0.2,
                 degree_range: Sequence[int] = (-15, 14)) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if len(degree_range) != 2 or int(degree_range[0]) > int(
                degree_range[1]):
            raise ValueError('degree_range must be (low, high) with low <= '
                             f'high, got {degree_range!r}')
        self.prob = float(prob)
        self.degree_range = (int(degree_range[0]), int(degree_range[1]))

    @cache_randomness
    def _random_angle(self) -> Tuple[bool, int]:
        """Whether to rotate and the angle (degrees)."""
        if np.random.rand() >= self.prob:
            return False, 0
        low, high = self.degree_range
        return True, int(np.random.randint(low, high + 1))

    def transform(self, results: dict) -> dict:
        rotate, angle = self._random_angle()
        if not rotate:
            return results
        results['img'] = _pil_rotate(results['img'], angle, 'img')
        for key in results.get('seg_fields', []):
            if results.get(key) is not None:
                results[key] = _pil_rotate(results[key], angle, key)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, '
                f'degree_range={self.degree_range})')
