"""DAVIS video object segmentation (2017 palette masks, 2016 binary masks)."""
import os
import os.path as osp
from typing import List, Optional

from mmvidseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset


def davis_palette(num: int = 256) -> List[List[int]]:
    """The DAVIS (PASCAL VOC bit-interleaved) colour map, RGB."""
    palette = []
    for i in range(num):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette.append([r, g, b])
    return palette


@DATASETS.register_module()
class DAVISDataset(BaseVideoDataset):
    """DAVIS semi-supervised video object segmentation.

    Layout (relative to ``data_root``)::

        JPEGImages/<resolution>/<sequence>/00000.jpg ...
        Annotations/<resolution>/<sequence>/00000.png ...
        ImageSets/2017/<split>.txt            (optional sequence list)

    Every frame is an item (streaming inference over whole videos).
    DAVIS-2017 annotations are palette PNGs whose index is the object id
    (0 background, 255 void, ids need not be contiguous; objects may appear
    after frame 0). DAVIS-2016 annotations are binary greyscale PNGs with
    values {0, 255}: with ``binary_masks=True`` 255 is read as object 1
    (otherwise it would be void).

    Args:
        split (str): Split file under ``ImageSets/2017`` (``'val'``); when
            the file does not exist every sequence folder is used.
        resolution (str): ``'480p'`` or ``'Full-Resolution'``.
        sequences (list[str], optional): Explicit sequence names.
        binary_masks (bool): DAVIS-2016 style {0, 255} masks.
        **kwargs: See :class:`BaseVideoDataset`.
    """
    METAINFO = dict(
        classes=('background', 'object'), palette=davis_palette(2))

    def __init__(self,
                 split: str = 'val',
                 resolution: str = '480p',
                 sequences: Optional[List[str]] = None,
                 binary_masks: bool = False,
                 **kwargs) -> None:
        self.split = split
        self.resolution = resolution
        self.sequences = sequences
        self.binary_masks = binary_masks
        kwargs.setdefault('frames', 'all')
        super().__init__(**kwargs)

    def get_label_map(self, new_classes=None):  # noqa: D102
        # object ids are kept as they are; DAVIS-2016 foreground 255 -> 1
        return {255: 1} if getattr(self, 'binary_masks', False) else None

    def _root(self, *parts: str) -> str:
        return osp.join(self.data_root or '', *parts)

    def _sequence_names(self) -> List[str]:
        if self.sequences is not None:
            return list(self.sequences)
        split_file = self._root('ImageSets', '2017', f'{self.split}.txt')
        if osp.isfile(split_file):
            with open(split_file) as f:
                return [line.strip() for line in f if line.strip()]
        img_root = self._root('JPEGImages', self.resolution)
        if not osp.isdir(img_root):
            raise FileNotFoundError(f'frame folder {img_root!r} not found')
        return sorted(d for d in os.listdir(img_root)
                      if osp.isdir(osp.join(img_root, d)))

    def load_video_table(self) -> List[dict]:
        img_root = self._root('JPEGImages', self.resolution)
        ann_root = self._root('Annotations', self.resolution)
        names = self._sequence_names()
        table = self.scan_video_folders(img_root, ann_root, ('.jpg', '.png'),
                                        '.png', names)
        for video in table:
            first = video['seg_map_paths'][0] if video['seg_map_paths'] \
                else None
            if first is None:
                raise FileNotFoundError(
                    f"sequence {video['video_id']!r} has no first-frame "
                    f'annotation under {ann_root!r}')
        return table
