"""Load the slices of a clip (and their labels) from cached volumes."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmvidseg.registry import TRANSFORMS

from ..volume_cache import VolumeCache
from .frame_keys import frame_results
from .load_video_frames import apply_label_map


@TRANSFORMS.register_module()
class LoadVolumeSlices(BaseTransform):
    """Load slices of a volume as the frames of a clip (2.5D optional).

    Required keys: ``img_path`` and ``frame_ids`` (lists, from
    :class:`SampleClip` on a :class:`BaseVolumeDataset`), or a single
    ``img_path`` with ``slice_index`` (or ``frame_id``). Optional:
    ``seg_map_path`` (list with ``None`` for unlabelled frames, or a single
    path), ``slice_axis`` and ``volume_cache_dir`` (set by the dataset;
    defaults 2 and the default cache), ``label_map``, ``reduce_zero_label``.

    Added keys, one entry per frame (oldest first) as
    :class:`LoadVideoFrames` gives them, so that
    :class:`ClipTransformBroadcaster` and :class:`PackVideoSegInputs` work
    unchanged: ``img`` (H, W, C) float32 with C = ``2 * num_neighbours + 1``
    (slices ``k - n .. k + n`` around slice ``k``, clamped at the volume's
    ends), ``img_path``, ``img_shape``, ``ori_shape``, ``scale_factor``,
    ``flip``, ``flip_direction`` and, with labels, ``gt_seg_map`` (H, W)
    (uint8 when the ids are below 256, else int64; ``ignore_index`` for
    unlabelled frames) and ``seg_fields``. Also ``spacing``: the in-plane
    pixel size (mm) along H and W of the loaded frames (a later ``Resize``
    does not change it), replacing the dataset's 3D ``spacing``, which moves
    to ``volume_spacing``; and ``slice_spacing`` (mm between slices).

    Args:
        num_neighbours (int): Neighbouring slices on each side stacked as
            channels (0: one channel).
        window (tuple[float, float], optional): Intensity window ``(lo,
            hi)`` (e.g. HU): values are clipped to it and scaled to [0, 255].
            ``None`` keeps the raw values (as float32).
        with_label (bool): Load labels when ``seg_map_path`` is given.
        ignore_index (int): Fill value of unlabelled frames.
        cache_dir (str, optional): Volume cache folder when the results do
            not name one (``volume_cache_dir``).
        slice_axis (int): Slice axis when the results do not give one.

    Raises:
        KeyError: Slice indices are missing.
        IndexError: A slice index is outside the volume.
        ValueError: A label volume's shape differs from its image's, or
            slices of one clip differ in size.
    """

    def __init__(self,
                 num_neighbours: int = 0,
                 window: Optional[Tuple[float, float]] = None,
                 with_label: bool = True,
                 ignore_index: int = 255,
                 cache_dir: Optional[str] = None,
                 slice_axis: int = 2) -> None:
        if int(num_neighbours) < 0:
            raise ValueError(f'num_neighbours must be >= 0, got '
                             f'{num_neighbours}')
        if window is not None:
            window = (float(window[0]), float(window[1]))
            if not window[0] < window[1]:
                raise ValueError(f'window must be (lo, hi) with lo < hi, got '
                                 f'{window}')
        self.num_neighbours = int(num_neighbours)
        self.window = window
        self.with_label = with_label
        self.ignore_index = ignore_index
        self.cache_dir = cache_dir
        self.slice_axis = slice_axis
        self._caches = {}

    def _cache(self, results: dict) -> VolumeCache:
        key = (results.get('volume_cache_dir', self.cache_dir),
               int(results.get('slice_axis', self.slice_axis)))
        cache = self._caches.get(key)
        if cache is None:
            cache = self._caches[key] = VolumeCache(*key)
        return cache

    @staticmethod
    def _clip_paths(results: dict) -> Tuple[List[str], List[int]]:
        paths = results['img_path']
        if isinstance(paths, str):
            index = results.get('slice_index', results.get('frame_id'))
            if index is None:
                raise KeyError('LoadVolumeSlices needs "slice_index" (or '
                               '"frame_id") with a single img_path')
            return [paths], [int(index)]
        ids = results.get('frame_ids')
        if ids is None or len(ids) != len(paths):
            raise KeyError('LoadVolumeSlices needs "frame_ids" (slice '
                           'indices, one per img_path); use SampleClip first')
        return list(paths), [int(i) for i in ids]

    def _slices(self, vol: np.ndarray, index: int, path: str) -> np.ndarray:
        num = vol.shape[0]
        if not 0 <= index < num:
            raise IndexError(f'slice {index} is outside volume {path!r} '
                             f'({num} slices)')
        n = self.num_neighbours
        ids = np.clip(np.arange(index - n, index + n + 1), 0, num - 1)
        img = np.asarray(vol[ids], dtype=np.float32).transpose(1, 2, 0)
        if self.window is not None:
            lo, hi = self.window
            img = (np.clip(img, lo, hi) - lo) * np.float32(255.0 / (hi - lo))
        return np.ascontiguousarray(img)

    def _label(self, cache: VolumeCache, path: Optional[str], index: int,
               img_path: str, shape: Sequence[int],
               results: dict) -> np.ndarray:
        if path is None:
            return np.full(tuple(shape), self.ignore_index, np.uint8)
        vol = cache.load(path, 'label')
        if vol.shape != tuple(shape):
            raise ValueError(f'label volume {path!r} is {vol.shape} (slices, '
                             f'H, W) but image volume {img_path!r} is '
                             f'{tuple(shape)}')
        seg = np.array(vol[index])
        if seg.dtype != np.uint8:
            seg = seg.astype(np.int64)
        return apply_label_map(seg, results)

    def transform(self, results: dict) -> dict:
        paths, ids = self._clip_paths(results)
        cache = self._cache(results)
        seg_paths = results.get('seg_map_path')
        if isinstance(seg_paths, str):
            seg_paths = [seg_paths]
        if seg_paths is not None and len(seg_paths) != len(paths):
            raise ValueError(f'{len(paths)} frames but {len(seg_paths)} '
                             'label entries')
        imgs, segs = [], []
        vol_shape = None
        for t, (path, index) in enumerate(zip(paths, ids)):
            vol = cache.load(path, 'image')
            if vol_shape is not None and vol.shape[1:] != vol_shape[1:]:
                raise ValueError(f'slices of {path!r} are {vol.shape[1:]} '
                                 f'but slices of {paths[0]!r} in the same '
                                 f'clip are {vol_shape[1:]}')
            vol_shape = vol.shape
            imgs.append(self._slices(vol, index, path))
            if self.with_label and seg_paths is not None:
                segs.append(
                    self._label(cache, seg_paths[t], index, path, vol.shape,
                                results))
        results.update(frame_results(imgs, paths))
        if segs:
            if any(s.dtype != np.uint8 for s in segs):
                segs = [s.astype(np.int64) for s in segs]
            results['gt_seg_map'] = segs
            results['seg_fields'] = ['gt_seg_map']
        info = cache.info(paths[0], 'image')
        results['volume_spacing'] = info['spacing']
        results['spacing'] = info['inplane_spacing']
        results['slice_spacing'] = info['slice_spacing']
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_neighbours='
                f'{self.num_neighbours}, window={self.window}, '
                f'with_label={self.with_label})')
