"""Load the frames (and labels) of a clip."""
from typing import List, Optional, Sequence, Tuple

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform

from mmvidseg.registry import TRANSFORMS

from .frame_keys import frame_results


def _read_bytes(path: str, backend_args: Optional[dict], what: str) -> bytes:
    try:
        return fileio.get(path, backend_args=backend_args)
    except FileNotFoundError as e:
        raise FileNotFoundError(f'{what} {path!r} does not exist') from e


def load_label(path: str, results: dict,
               backend_args: Optional[dict] = None) -> np.ndarray:
    """Read a single-channel label and apply ``label_map`` /
    ``reduce_zero_label`` from ``results``.

    Raises:
        FileNotFoundError: The file is missing.
        OSError: It cannot be decoded.
        ValueError: It has several channels.
    """
    seg = mmcv.imfrombytes(
        _read_bytes(path, backend_args, 'label'),
        flag='unchanged',
        backend='pillow')
    if seg is None:
        raise OSError(f'cannot decode label {path!r} as an image')
    if seg.ndim == 3:
        raise ValueError(
            f'label {path!r} has {seg.shape[2]} channels; expected a '
            'single-channel index image')
    seg = seg.astype(np.uint8) if seg.dtype != np.uint8 else seg.copy()
    return apply_label_map(seg, results)


def apply_label_map(seg: np.ndarray, results: dict) -> np.ndarray:
    """Apply ``label_map`` and ``reduce_zero_label`` from ``results`` to an
    id map (changed in place where possible).

    Raises:
        ValueError: ``reduce_zero_label`` on ids that do not fit in uint8.
    """
    label_map = results.get('label_map')
    if label_map:
        src = seg.copy()
        for old, new in label_map.items():
            seg[src == old] = new
    if results.get('reduce_zero_label', False):
        if seg.dtype != np.uint8:
            raise ValueError('reduce_zero_label needs label ids < 256')
        seg[seg == 0] = 255
        seg = seg - 1
        seg[seg == 254] = 255
    return seg


def load_clip_labels(seg_paths: Sequence[Optional[str]],
                     shapes: Sequence[Tuple[int, int]],
                     img_paths: Sequence[str],
                     results: dict,
                     ignore_index: int = 255,
                     backend_args: Optional[dict] = None
                     ) -> List[np.ndarray]:
    """Labels of every frame of a clip, checked against the frame sizes.

    Args:
        seg_paths (Sequence[str | None]): Label per frame, ``None`` for an
            unlabelled frame (filled with ``ignore_index``).
        shapes (Sequence[tuple]): (H, W) each label must have.
        img_paths (Sequence[str]): Frame paths, for error messages.

    Raises:
        ValueError: Counts differ, or a label's size differs from its
            frame's, naming both files.
    """
    if len(seg_paths) != len(shapes):
        raise ValueError(f'{len(shapes)} frames but {len(seg_paths)} labels')
    segs = []
    for sp, shape, ip in zip(seg_paths, shapes, img_paths):
        shape = tuple(shape[:2])
        if sp is None:
            segs.append(np.full(shape, ignore_index, np.uint8))
            continue
        seg = load_label(sp, results, backend_args)
        if seg.shape != shape:
            raise ValueError(
                f'label {sp!r} is {seg.shape} but frame {ip!r} is {shape}')
        segs.append(seg)
    return segs


@TRANSFORMS.register_module()
class LoadVideoFrames(BaseTransform):
    """Load every frame of a clip and, optionally, its labels.

    Required keys: ``img_path`` (list), optional ``seg_map_path`` (list with
    ``None`` for unlabelled frames). A single path is treated as a clip of one.

    Added keys (lists with one entry per frame, oldest first, see
    :func:`frame_keys.frame_results`): ``img``, ``img_path``, ``img_shape``,
    ``ori_shape``, ``scale_factor``, ``flip``, ``flip_direction`` and, with
    labels, ``gt_seg_map`` (``ignore_index``
    everywhere for unlabelled frames) and ``seg_fields``.

    Args:
        with_label (bool): Load labels. Default True.
        color_type (str): Frame colour type for :func:`mmcv.imfrombytes`.
        imdecode_backend (str): Image decoding backend.
        ignore_index (int): Fill value of unlabelled frames.
        backend_args (dict, optional): File backend arguments.

    Raises:
        FileNotFoundError: A frame or label file is missing.
        OSError: A file cannot be decoded as an image.
        ValueError: A label's size differs from its frame's, or frames of
            one clip differ in size.
    """

    def __init__(self,
                 with_label: bool = True,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 ignore_index: int = 255,
                 backend_args: Optional[dict] = None) -> None:
        self.with_label = with_label
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.ignore_index = ignore_index
        self.backend_args = backend_args.copy() if backend_args else None

    def _load_img(self, path: str) -> np.ndarray:
        img = mmcv.imfrombytes(
            _read_bytes(path, self.backend_args, 'frame'),
            flag=self.color_type,
            backend=self.imdecode_backend)
        if img is None:
            raise OSError(f'cannot decode frame {path!r} as an image')
        return img

    def transform(self, results: dict) -> dict:
        img_paths = results['img_path']
        if isinstance(img_paths, str):
            img_paths = [img_paths]
        seg_paths = results.get('seg_map_path')
        if isinstance(seg_paths, str):
            seg_paths = [seg_paths]
        imgs: List[np.ndarray] = [self._load_img(p) for p in img_paths]
        shape0 = imgs[0].shape[:2]
        for p, img in zip(img_paths, imgs):
            if img.shape[:2] != shape0:
                raise ValueError(
                    f'frame {p!r} is {img.shape[:2]} but frame '
                    f'{img_paths[0]!r} of the same clip is {shape0}')
        results.update(frame_results(imgs, img_paths))
        if self.with_label and seg_paths is not None:
            segs = load_clip_labels(seg_paths, results['img_shape'],
                                    img_paths, results, self.ignore_index,
                                    self.backend_args)
            results['gt_seg_map'] = segs
            results['seg_fields'] = ['gt_seg_map']
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(with_label={self.with_label}, '
                f'color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r})')
