"""SALI's colour enhancement: PIL brightness, contrast, colour, sharpness."""
from typing import Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from PIL import Image, ImageEnhance

from mmvidseg.registry import TRANSFORMS

#: The enhancers in the order they are applied (and drawn).
_ENHANCERS = (('brightness', ImageEnhance.Brightness),
              ('contrast', ImageEnhance.Contrast),
              ('color', ImageEnhance.Color),
              ('sharpness', ImageEnhance.Sharpness))


def _tenths(rng: Sequence[float], name: str) -> Tuple[int, int]:
    """A closed factor range as integer tenths, ``(0.5, 1.5) -> (5, 15)``."""
    if len(rng) != 2:
        raise ValueError(f'{name} must be (low, high), got {rng!r}')
    low, high = (int(round(float(v) * 10)) for v in rng)
    if low < 0 or low > high:
        raise ValueError(f'{name} must satisfy 0 <= low <= high, got {rng!r}')
    return low, high


@TRANSFORMS.register_module()
class ColorEnhance(BaseTransform):
    """Random PIL brightness, contrast, colour and sharpness, in that order.

    SALI's ``colorEnhance``: each factor is drawn uniformly from the 0.1 grid
    of its closed range (the original's ``random.randint(5, 15) / 10.0``,
    ``randint(5, 15)``, ``randint(0, 20)`` and ``randint(0, 30)``, i.e.
    brightness and contrast in {0.5, ..., 1.5}, colour in {0.0, ..., 2.0},
    sharpness in {0.0, ..., 3.0}) and applied with ``PIL.ImageEnhance`` on
    the RGB image. Frames are BGR (mmcv), so they are converted to RGB and
    back (contrast and colour use the RGB luma weights). Labels are not
    changed.

    SALI draws these factors **independently per frame**: use it inside
    :class:`ClipTransformBroadcaster` with ``share_random_params=False``
    (with ``True`` every frame of a clip gets the same factors).

    Randomness: numpy's global generator, four ``randint`` per image.

    Required keys: ``img`` (uint8, (H, W, 3) BGR or (H, W)). Modified keys:
    ``img``.

    Args:
        brightness (Sequence[float]): Brightness factor range.
        contrast (Sequence[float]): Contrast factor range.
        color (Sequence[float]): Colour (saturation) factor range.
        sharpness (Sequence[float]): Sharpness factor range.
    """

    def __init__(self,
                 brightness: Sequence[float] = (0.5, 1.5),
                 contrast: Sequence[float] = (0.5, 1.5),
                 color: Sequence[float] = (0.0, 2.0),
                 sharpness: Sequence[float] = (0.0, 3.0)) -> None:
        self.ranges = dict(
            brightness=_tenths(brightness, 'brightness'),
            contrast=_tenths(contrast, 'contrast'),
            color=_tenths(color, 'color'),
            sharpness=_tenths(sharpness, 'sharpness'))

    @cache_randomness
    def _random_factors(self) -> Tuple[float, ...]:
        """Brightness, contrast, colour and sharpness factors."""
        return tuple(
            np.random.randint(low, high + 1) / 10.0
            for low, high in (self.ranges[n] for n, _ in _ENHANCERS))

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.uint8:
            raise TypeError(f'ColorEnhance needs a uint8 img, got {img.dtype}')
        factors = self._random_factors()
        colour = img.ndim == 3
        pil = Image.fromarray(
            np.ascontiguousarray(img[..., ::-1] if colour else img))
        for (_, enhancer), factor in zip(_ENHANCERS, factors):
            pil = enhancer(pil).enhance(factor)
        out = np.asarray(pil)
        results['img'] = np.ascontiguousarray(out[..., ::-1] if colour else
                                              out)
        return results

    def __repr__(self) -> str:
        ranges = ', '.join(f'{n}=({lo / 10}, {hi / 10})'
                           for n, (lo, hi) in self.ranges.items())
        return f'{type(self).__name__}({ranges})'
