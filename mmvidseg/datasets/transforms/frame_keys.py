"""The per-frame keys of clip results, defined in one place.

A clip travels through the pipeline as one results dict in which some keys
hold **one entry per frame** (lists, oldest frame first) and the others
describe the whole clip (``video_id``, ``frame_ids``, ``key_index``,
``clip_bounds``, ...). Which keys are per-frame is decided here:

* :data:`FRAME_KEYS` lists the per-frame keys that the loaders and the
  mmcv/mmseg single-image transforms produce;
* a transform that adds further per-frame keys (for instance
  :class:`ClipTransformBroadcaster` collating a key that a broadcast
  transform returned for every frame) records them in
  ``results['frame_keys']`` with :func:`add_frame_keys`, so that later
  broadcasters scatter them again and :class:`PackVideoSegInputs` keeps the
  key frame's value.

:func:`frame_keys_of` gives the per-frame keys of a results dict and
:func:`frame_results` builds the per-frame results of decoded frames (used by
:class:`LoadVideoFrames` and by the video inferencer).
"""
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

#: Keys stored as one entry per frame of a clip (lists, oldest first).
FRAME_KEYS: Tuple[str, ...] = (
    'img', 'gt_seg_map', 'gt_weight_map', 'img_path', 'seg_map_path',
    'img_shape', 'ori_shape', 'pad_shape', 'scale', 'scale_factor',
    'keep_ratio', 'flip', 'flip_direction', 'pad_fixed_size',
    'pad_size_divisor')

#: Results entry listing the per-frame keys added beyond :data:`FRAME_KEYS`.
FRAME_KEYS_FIELD = 'frame_keys'


def frame_keys_of(results: dict) -> Tuple[str, ...]:
    """Per-frame keys of ``results``: :data:`FRAME_KEYS` plus the keys
    recorded in ``results['frame_keys']`` (whether present or not)."""
    extra = [k for k in results.get(FRAME_KEYS_FIELD, ())
             if k not in FRAME_KEYS]
    return FRAME_KEYS + tuple(extra)


def add_frame_keys(results: dict, keys: Iterable[str]) -> None:
    """Record ``keys`` as per-frame keys of ``results`` (in place)."""
    known = list(results.get(FRAME_KEYS_FIELD, ()))
    for k in keys:
        if k not in FRAME_KEYS and k not in known:
            known.append(k)
    if known:
        results[FRAME_KEYS_FIELD] = known


def present_frame_keys(results: dict, num_frames: int) -> List[str]:
    """Per-frame keys of ``results`` that hold a list of ``num_frames``."""
    return [
        k for k in frame_keys_of(results)
        if isinstance(results.get(k), list) and len(results[k]) == num_frames
    ]


def frame_results(imgs: Sequence[np.ndarray],
                  img_paths: Optional[Sequence[Optional[str]]] = None
                  ) -> dict:
    """Per-frame results of ``N`` decoded frames, before any transform.

    Args:
        imgs (Sequence[np.ndarray]): ``N`` frames (H, W, C) or (H, W).
        img_paths (Sequence[str], optional): A path or name per frame.

    Returns:
        dict: ``img``, ``img_path`` (when given), ``img_shape``,
        ``ori_shape`` ((H, W) tuples), ``scale_factor`` ``(1.0, 1.0)``,
        ``flip`` ``False`` and ``flip_direction`` ``None``; one list entry
        per frame.

    Raises:
        ValueError: No frames, or not one path per frame.
    """
    imgs = list(imgs)
    if not imgs:
        raise ValueError('frame_results needs at least one frame')
    results = dict(img=imgs)
    if img_paths is not None:
        img_paths = list(img_paths)
        if len(img_paths) != len(imgs):
            raise ValueError(f'{len(imgs)} frames but {len(img_paths)} '
                             'paths')
        results['img_path'] = img_paths
    results['img_shape'] = [tuple(img.shape[:2]) for img in imgs]
    results['ori_shape'] = [tuple(img.shape[:2]) for img in imgs]
    results['scale_factor'] = [(1.0, 1.0) for _ in imgs]
    results['flip'] = [False for _ in imgs]
    results['flip_direction'] = [None for _ in imgs]
    return results
