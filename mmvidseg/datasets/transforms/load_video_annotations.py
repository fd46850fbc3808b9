"""Load the labels of a clip at their original size (test pipelines)."""
from typing import Optional

from mmcv.transforms import BaseTransform

from mmvidseg.registry import TRANSFORMS

from .load_video_frames import load_clip_labels


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
        img_paths = results.get('img_path')
        if not isinstance(img_paths, list):
            img_paths = [img_paths] * len(paths)
        segs = load_clip_labels(paths, shapes, img_paths, results,
                                self.ignore_index, self.backend_args)
        results['gt_seg_map'] = segs
        results['seg_fields'] = ['gt_seg_map']
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ignore_index={self.ignore_index})'
