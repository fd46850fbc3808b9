"""Load only the label slices of a clip (GT at the original size)."""
import numpy as np

from mmvidseg.registry import TRANSFORMS

from .load_volume_slices import LoadVolumeSlices


@TRANSFORMS.register_module()
class LoadVolumeLabels(LoadVolumeSlices):
    """Load the label slices of the frames, leaving the images as they are.

    The volume counterpart of mmseg's ``LoadAnnotations`` placed after
    ``Resize`` in a test pipeline: load the images with
    ``LoadVolumeSlices(with_label=False)``, resize them, then load the
    labels with this transform so that ``gt_seg_map`` keeps the slice's
    original size (the size predictions are restored to, and the grid of
    the volume's voxel spacing that DSC/NSD use).

    Required keys: ``img_path`` (a list with ``frame_ids``, or one path or
    a one-element list with ``slice_index``), ``img`` and ``seg_map_path``.
    Added keys: ``gt_seg_map`` and ``seg_fields``. ``gt_seg_map`` has the
    form of ``img``: one (H, W) map per frame in a list when ``img`` is a
    list (clips), a single map when it is an array (after
    :class:`ClipToImage`); ``ignore_index`` where a frame is unlabelled.
    Nothing is added when ``seg_map_path`` is missing or ``None`` (an
    unlabelled volume).

    Args:
        ignore_index (int): Fill value of unlabelled frames.
        cache_dir (str, optional): Volume cache folder when the results do
            not name one.
        slice_axis (int): Slice axis when the results do not give one.
    """

    def __init__(self,
                 ignore_index: int = 255,
                 cache_dir: str = None,
                 slice_axis: int = 2) -> None:
        super().__init__(ignore_index=ignore_index,
                         cache_dir=cache_dir,
                         slice_axis=slice_axis)

    @staticmethod
    def _label_paths(results: dict):
        paths = results['img_path']
        paths = [paths] if isinstance(paths, str) else list(paths)
        ids = results.get('frame_ids')
        if ids is not None and len(ids) == len(paths):
            return paths, [int(i) for i in ids]
        index = results.get('slice_index', results.get('frame_id'))
        if len(paths) != 1 or index is None:
            raise KeyError('LoadVolumeLabels needs "frame_ids" (one slice '
                           'index per img_path) or, for one frame, '
                           '"slice_index"')
        return paths, [int(index)]

    def transform(self, results: dict) -> dict:
        seg_paths = results.get('seg_map_path')
        if seg_paths is None:
            return results
        if isinstance(seg_paths, str):
            seg_paths = [seg_paths]
        paths, ids = self._label_paths(results)
        if len(seg_paths) != len(paths):
            raise ValueError(f'{len(paths)} frames but {len(seg_paths)} '
                             'label entries')
        cache = self._cache(results)
        segs = []
        for path, seg_path, index in zip(paths, seg_paths, ids):
            shape = cache.load(path, 'image').shape
            if not 0 <= index < shape[0]:
                raise IndexError(f'slice {index} is outside volume {path!r} '
                                 f'({shape[0]} slices)')
            segs.append(
                self._label(cache, seg_path, index, path, shape, results))
        if any(s.dtype != np.uint8 for s in segs):
            segs = [s.astype(np.int64) for s in segs]
        results['gt_seg_map'] = segs if isinstance(results['img'],
                                                   list) else segs[0]
        results['seg_fields'] = ['gt_seg_map']
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ignore_index={self.ignore_index})'
