"""Load the labels of a clip at their original size (test pipelines)."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmvidseg.registry import TRANSFORMS

from .load_video_frames import load_label


@TRANSFORMS.register_module()
class LoadVideoAnnotations(BaseTransform):
    """Load every frame's label after the frames were resized.

    Test pipelines evaluate at the original resolution, as mmseg does: load
    frames with ``LoadVideoFrames(with_label=False)``, resize them, then use
    this transform so that ``gt_seg_map`` keeps the original size (the
    segmentor resizes its prediction back to ``ori_shape``).

    Required keys: ``seg_map_path`` (list, ``None`` for unlabelled frames),
    ``ori_shape`` (list). Added keys: ``gt_seg_map`` (list), ``seg_fields``.

    Args:
        ignore_index (int): Fill value of unlabelled frames.
        backend_args (dict, optional): File backend arguments.

    Raises:
        ValueError: A label's size differs from its frame's original size.
    """

    def __init__(self,
                 ignore_index: int = 255,
                 backend_args: Optional[dict] = None) -> None:
        self.ignore_index = ignore_index
        self.backend_args = backend_args.copy() if backend_args else None

    def transform(self, results: dict) -> dict:
        paths = results.get('seg_map_path')
        if paths is None:
            return results
        if isinstance(paths, str):
            paths = [paths]
        shapes = results['ori_shape']
        if not isinstance(shapes, list):
            shapes = [shapes]
        if len(shapes) != len(paths):
            raise ValueError(f'{len(shapes)} frames but {len(paths)} labels')
        segs = []
        for i, (path, shape) in enumerate(zip(paths, shapes)):
            shape = tuple(shape[:2])
            if path is None:
                segs.append(np.full(shape, self.ignore_index, np.uint8))
                continue
            seg = load_label(path, results, self.backend_args)
            if seg.shape != shape:
                img = results.get('img_path')
                img = img[i] if isinstance(img, list) else img
                raise ValueError(f'label {path!r} is {seg.shape} but frame '
                                 f'{img!r} is {shape}')
            segs.append(seg)
        results['gt_seg_map'] = segs
        results['seg_fields'] = ['gt_seg_map']
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ignore_index={self.ignore_index})'
