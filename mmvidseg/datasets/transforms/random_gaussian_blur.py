"""Gaussian blur with a random odd kernel size (albumentations 1.1 style)."""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmvidseg.registry import TRANSFORMS


def _pair(value: Union[float, Sequence[float]], name: str) -> Tuple:
    if isinstance(value, (int, float)):
        return (0, value)
    if len(value) != 2 or value[0] > value[1]:
        raise ValueError(f'{name} must be a number or (low, high) with low '
                         f'<= high, got {value!r}')
    return tuple(value)


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Blur the image with a Gaussian of random kernel size, with a
    probability.

    The FLARE22 method uses albumentations 1.1.0 ``GaussianBlur()`` with its
    defaults (``blur_limit=(3, 7)``, ``sigma_limit=0``, ``p=0.5``); neither
    mmcv, mmseg nor mmdet has an equivalent (mmseg's
    ``BioMedicalGaussianBlur`` draws sigma per channel and blurs with
    scipy), so this transform reproduces it:

    * with probability ``prob`` the image is blurred, else left as is;
    * kernel size ``k = randint(low, high)`` (both included); an even ``k``
      becomes ``(k + 1) % (high + 1)`` as in albumentations 1.1.0, so the
      defaults give k = 3, 5, 7 with probabilities 0.2, 0.4, 0.4;
    * ``sigma = uniform(*sigma_limit)``; 0 lets OpenCV derive it from the
      kernel size (``0.3 * ((k - 1) * 0.5 - 1) + 0.8``);
    * ``cv2.GaussianBlur(img, (k, k), sigmaX=sigma)`` with OpenCV's default
      border (reflect-101), every channel alike.

    The image dtype and shape are kept. Labels are not touched. A list of
    frames (a clip) gets the same kernel for every frame.

    Required keys: ``img``. Modified keys: ``img``.

    Args:
        prob (float): Probability of blurring.
        blur_limit (int | tuple[int, int]): Odd kernel size range
            (``k`` alone means ``(0, k)``; 0 lets sigma choose the size).
        sigma_limit (float | tuple[float, float]): Sigma range.
    """

    def __init__(self,
                 prob: float = 0.5,
                 blur_limit: Union[int, Tuple[int, int]] = (3, 7),
                 sigma_limit: Union[float, Tuple[float, float]] = 0.
                 ) -> None:
        if not 0. <= prob <= 1.:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = float(prob)
        self.blur_limit = tuple(int(v) for v in _pair(blur_limit,
                                                      'blur_limit'))
        self.sigma_limit = tuple(float(v) for v in _pair(sigma_limit,
                                                         'sigma_limit'))
        if any(v != 0 and v % 2 != 1 for v in self.blur_limit):
            raise ValueError(f'blur_limit must hold odd sizes (or 0), got '
                             f'{self.blur_limit}')
        if self.blur_limit[0] == 0 and self.sigma_limit[0] == 0:
            raise ValueError('blur_limit and sigma_limit cannot both start '
                             'at 0 (the kernel size would be undefined)')

    @cache_randomness
    def _draw(self) -> Optional[Tuple[int, float]]:
        """``(ksize, sigma)``, or ``None`` when the image is kept."""
        if np.random.rand() >= self.prob:
            return None
        low, high = self.blur_limit
        ksize = int(np.random.randint(low, high + 1))
        if ksize != 0 and ksize % 2 != 1:
            ksize = (ksize + 1) % (high + 1)
        return ksize, float(np.random.uniform(*self.sigma_limit))

    @staticmethod
    def _blur(img: np.ndarray, ksize: int, sigma: float) -> np.ndarray:
        out = cv2.GaussianBlur(img, (ksize, ksize), sigmaX=sigma)
        return out.reshape(img.shape)

    def transform(self, results: dict) -> dict:
        params = self._draw()
        if params is None:
            return results
        imgs = results['img']
        if isinstance(imgs, list):
            results['img'] = [self._blur(img, *params) for img in imgs]
        else:
            results['img'] = self._blur(imgs, *params)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, blur_limit='
                f'{self.blur_limit}, sigma_limit={self.sigma_limit})')
