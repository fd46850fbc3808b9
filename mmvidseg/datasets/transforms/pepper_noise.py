"""SALI's pepper noise on the ground-truth masks."""
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmvidseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PepperNoise(BaseTransform):
    """Set a fraction of the label pixels to 0 or 255 at random.

    SALI's ``randomPeper`` on the grey GT masks: ``n = int(ratio * H * W)``
    draws, each of a row in ``0..H-1``, a column in ``0..W-1`` and a value
    (0 or 255 with probability 1/2); the pixel takes the value. Draws may hit
    the same pixel, in which case the later draw wins, as in the original's
    loop (so slightly fewer than ``n`` pixels may change). The image is not
    changed.

    SALI draws the noise independently for every GT: use it inside
    :class:`ClipTransformBroadcaster` with ``share_random_params=False``.

    Randomness: numpy's global generator, three ``randint(.., size=n)``
    (rows, columns, values), vectorised instead of the original's per-pixel
    Python ``random`` calls.

    Required keys: the maps of ``seg_fields`` ((H, W), all the same size).
    Modified keys: those maps.

    Args:
        ratio (float): Fraction of pixels drawn. Default 0.0015.
    """

    def __init__(self, ratio: float = 0.0015) -> None:
        if not 0 <= ratio <= 1:
            raise ValueError(f'ratio must be in [0, 1], got {ratio}')
        self.ratio = float(ratio)

    @cache_randomness
    def _random_pixels(self, height: int,
                       width: int) -> Tuple[np.ndarray, np.ndarray]:
        """Flat indices of the noisy pixels (later draws win) and values."""
        # same float arithmetic as SALI: int(0.0015 * H * W)
        num = int(self.ratio * height * width)
        rows = np.random.randint(0, height, size=num)
        cols = np.random.randint(0, width, size=num)
        values = np.where(np.random.randint(0, 2, size=num) == 0, 0, 255)
        flat = rows * width + cols
        # keep the last draw of each pixel: unique over the reversed draws
        _, first_rev = np.unique(flat[::-1], return_index=True)
        keep = num - 1 - first_rev
        return flat[keep], values[keep]

    def transform(self, results: dict) -> dict:
        fields = [k for k in results.get('seg_fields', [])
                  if results.get(k) is not None]
        if not fields:
            return results
        shape = results[fields[0]].shape[:2]
        for key in fields:
            if results[key].shape[:2] != shape:
                raise ValueError(
                    f'PepperNoise: {key!r} is {results[key].shape[:2]} but '
                    f'{fields[0]!r} is {shape}')
        flat, values = self._random_pixels(*shape)
        for key in fields:
            seg = results[key].copy()
            seg.reshape(-1)[flat] = values.astype(seg.dtype)
            results[key] = seg
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio={self.ratio})'
