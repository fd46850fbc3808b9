"""Three CT intensity windows as the three channels of a slice image."""
from typing import Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmvidseg.registry import TRANSFORMS

#: Window (width, level) pairs in HU whose union makes each channel, as the
#: FLARE22 method lists them (``windowing_ct/config.py`` queries of
#: ``run.py``): abdomen soft tissues + liver, chest lungs + mediastinum,
#: spine bone.
FLARE22_WINDOW_WIDTH_LEVELS: Tuple[Tuple[Tuple[int, int], ...], ...] = (
    ((400, 50), (150, 30)),
    ((1500, -600), (350, 50)),
    ((1800, 400), ),
)


def window_bounds(width_levels: Sequence[Tuple[int, int]]) -> Tuple[int, int]:
    """HU bounds ``(lo, hi)`` of the union of windows given as (W, L).

    As the original: ``lo = min(L - W // 2)`` and ``hi = max(L + W // 2)``
    over the listed windows (integer division of the width).

    Args:
        width_levels (Sequence[tuple[int, int]]): (width, level) pairs.

    Returns:
        tuple[int, int]: ``(lo, hi)`` in HU.
    """
    if not width_levels:
        raise ValueError('window_bounds needs at least one (width, level)')
    lo = min(int(level) - int(width) // 2 for width, level in width_levels)
    hi = max(int(level) + int(width) // 2 for width, level in width_levels)
    return lo, hi


#: HU bounds of the three channels (abdomen, chest, spine):
#: [-150, 250], [-1350, 225], [-500, 1300].
FLARE22_CT_WINDOWS: Tuple[Tuple[int, int], ...] = tuple(
    window_bounds(wl) for wl in FLARE22_WINDOW_WIDTH_LEVELS)


def _check_windows(windows) -> Tuple[Tuple[float, float], ...]:
    out = []
    for w in windows:
        if len(w) != 2 or not float(w[0]) < float(w[1]):
            raise ValueError(f'each window must be (lo, hi) with lo < hi, '
                             f'got {tuple(w)!r}')
        out.append((float(w[0]), float(w[1])))
    if not out:
        raise ValueError('at least one window is needed')
    return tuple(out)


def ct_multi_window(
        hu: np.ndarray,
        windows: Sequence[Tuple[float, float]] = FLARE22_CT_WINDOWS
) -> np.ndarray:
    """Window HU values into one channel per window, in [0, 255].

    For each window ``(lo, hi)``: clip to it, ``255 * ((x - lo) / (hi -
    lo))`` computed in float32 in that order, then truncated to an integer
    as the original's ``astype(np.uint8)`` does (values are >= 0, so this is
    a floor). The result equals, value for value, the uint8 images the
    FLARE22 method wrote (``windowing_ct/preproc.py`` on its float32 HU
    slices) before their JPEG compression, which is not reproduced: the
    channels here are lossless. The original then divides by 255; here that
    is the data preprocessor's job (``mean=[0, 0, 0], std=[255, 255,
    255]``).

    Args:
        hu (np.ndarray): HU values of any shape and real dtype.
        windows (Sequence[tuple[float, float]]): ``(lo, hi)`` HU bounds, one
            per output channel. Default: the FLARE22 abdomen, chest and
            spine windows :data:`FLARE22_CT_WINDOWS`.

    Returns:
        np.ndarray: float32 of shape ``hu.shape + (len(windows), )`` holding
        integers in [0, 255].
    """
    windows = _check_windows(windows)
    x = np.asarray(hu)
    if x.dtype.kind not in 'iuf':
        raise ValueError(f'ct_multi_window needs real HU values, got dtype '
                         f'{x.dtype}')
    x = x.astype(np.float32, copy=False)
    out = np.empty(x.shape + (len(windows), ), np.float32)
    for c, (lo, hi) in enumerate(windows):
        lo32, span = np.float32(lo), np.float32(hi - lo)
        v = np.clip(x, lo32, np.float32(hi))
        v = np.float32(255) * ((v - lo32) / span)
        out[..., c] = np.floor(v)
    return out


@TRANSFORMS.register_module()
class CTMultiWindow(BaseTransform):
    """Turn raw HU slices into multi-window images (:func:`ct_multi_window`).

    Use it after ``LoadVolumeSlices(window=None)``: every frame's ``img``
    (H, W, 1) raw HU becomes (H, W, len(windows)) float32 in [0, 255],
    channel order (abdomen, chest, spine) by default. Works on the
    per-frame lists of a clip and on a single ``img`` array. Divide by 255
    in the data preprocessor (mean 0, std 255) as the original does.

    Required keys: ``img``. Modified keys: ``img``.

    Args:
        windows (Sequence[tuple[float, float]]): ``(lo, hi)`` HU bounds per
            output channel. Default :data:`FLARE22_CT_WINDOWS`.

    Raises:
        ValueError: An image has more than one channel (e.g. neighbouring
            slices stacked by ``num_neighbours``, or a window already
            applied by the loader).
    """

    def __init__(self,
                 windows: Sequence[Tuple[float, float]] = FLARE22_CT_WINDOWS
                 ) -> None:
        self.windows = _check_windows(windows)

    def _window(self, img: np.ndarray) -> np.ndarray:
        if img.ndim == 3:
            if img.shape[2] != 1:
                raise ValueError(
                    f'CTMultiWindow expects one raw HU channel per frame, got '
                    f'an image of shape {img.shape}; use '
                    'LoadVolumeSlices(window=None, num_neighbours=0)')
            img = img[..., 0]
        elif img.ndim != 2:
            raise ValueError(f'CTMultiWindow expects (H, W) or (H, W, 1) '
                             f'images, got shape {img.shape}')
        return ct_multi_window(img, self.windows)

    def transform(self, results: dict) -> dict:
        imgs = results['img']
        if isinstance(imgs, list):
            results['img'] = [self._window(img) for img in imgs]
        else:
            results['img'] = self._window(imgs)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(windows={self.windows})'
