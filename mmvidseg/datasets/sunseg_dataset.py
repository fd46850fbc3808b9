"""SUN-SEG colonoscopy videos (polyp segmentation, PNS+ / SALI layout)."""
import logging
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from mmvidseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset

#: The splits of SUN-SEG, as folders under ``data_root``.
SUNSEG_SPLITS = ('TrainDataset', 'TestEasyDataset/Seen',
                 'TestEasyDataset/Unseen', 'TestHardDataset/Seen',
                 'TestHardDataset/Unseen')

_DIGITS = re.compile(r'(\d+)')


def natural_key(name: str) -> Tuple[list, str]:
    """Sort key comparing digit runs as numbers: ``image2 < image10``.

    The name itself breaks ties (``image01`` vs ``image1``).
    """
    parts = [int(p) if i % 2 else p
             for i, p in enumerate(_DIGITS.split(name))]
    return parts, name


@DATASETS.register_module()
class SUNSEGDataset(BaseVideoDataset):
    """SUN-SEG video polyp segmentation, one video per case folder.

    Layout (relative to ``data_root``)::

        <split>/Frame/<case>/<name>.jpg
        <split>/GT/<case>/<name>.png     (grey masks: 0 background, 255 polyp)

    with ``split`` one of :data:`SUNSEG_SPLITS`. A frame's label is the GT
    file with the same stem; every frame of SUN-SEG is labelled, so a frame
    without one raises an error (GT files without a frame are ignored with a
    warning).

    Frames are sorted **naturally** by default, comparing digit runs as
    numbers (``image2 < image10``); ``frame_sort='plain'`` sorts by file name
    as SALI does (``sorted(glob(...))``). The two orders agree for SUN-SEG's
    names (one fixed prefix per case, zero-padded ``image0001``...) and differ
    for unpadded numbers (``image10`` before ``image2`` in plain order). Cases
    are sorted the same way.

    Labels are the raw grey values 0..255: there is no threshold and no
    ``label_map`` (SALI trains on soft masks ``gt / 255`` after bicubic
    rotation and bilinear resizing, and its segmentor divides by 255), so
    ``reduce_zero_label`` and a change of ``classes`` are refused. Note that
    255 is the polyp value here, not an ignore index.

    Args:
        split (str): ``'TrainDataset'``, ``'TestEasyDataset/Seen'``,
            ``'TestEasyDataset/Unseen'``, ``'TestHardDataset/Seen'`` or
            ``'TestHardDataset/Unseen'``.
        frame_sort (str): ``'natural'`` (default) or ``'plain'``.
        cases (Sequence[str], optional): Subset of case folders.
        img_suffix (str): Frame suffix. Default ``'.jpg'``.
        seg_map_suffix (str): Label suffix. Default ``'.png'``.
        **kwargs: See :class:`BaseVideoDataset`.

    Raises:
        ValueError: Unknown split or sort, ``reduce_zero_label=True``, other
            classes, or a case folder without frames.
        FileNotFoundError: A split, case or GT folder, or a frame's GT, is
            missing (the message names the path).
    """
    METAINFO = dict(
        classes=('background', 'polyp'), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self,
                 split: str = 'TrainDataset',
                 frame_sort: str = 'natural',
                 cases: Optional[Sequence[str]] = None,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        split = str(split).replace('\\', '/').strip('/')
        if split not in SUNSEG_SPLITS:
            raise ValueError(f'unknown SUN-SEG split {split!r}; expected one '
                             f'of {SUNSEG_SPLITS}')
        if frame_sort not in ('natural', 'plain'):
            raise ValueError("frame_sort must be 'natural' or 'plain', got "
                             f'{frame_sort!r}')
        if kwargs.get('reduce_zero_label'):
            raise ValueError('SUNSEGDataset keeps the raw grey masks (0..255);'
                             ' reduce_zero_label=True would shift them')
        self.split = split
        self.frame_sort = frame_sort
        self.cases = None if cases is None else list(cases)
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def get_label_map(self,
                      new_classes: Optional[Sequence[str]] = None) -> None:
        """No label map: the grey values are kept (see the class doc).

        Raises:
            ValueError: ``new_classes`` differ from ('background', 'polyp').
        """
        classes = self.METAINFO['classes']
        if new_classes is not None and list(new_classes) != list(classes):
            raise ValueError(
                f'SUNSEGDataset has the classes {classes} and keeps the raw '
                f'grey masks; got classes {tuple(new_classes)}')
        return None

    def _sorted(self, names) -> List[str]:
        key = natural_key if self.frame_sort == 'natural' else None
        return sorted(names, key=key)

    def _split_dirs(self) -> Tuple[str, str]:
        root = osp.join(self.data_root or '', self.split)
        frame_root, gt_root = osp.join(root, 'Frame'), osp.join(root, 'GT')
        for folder in (frame_root, gt_root):
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'SUN-SEG folder {folder!r} not found (expected '
                    '<data_root>/<split>/{Frame,GT}/<case>/)')
        return frame_root, gt_root

    @staticmethod
    def _files(folder: str, suffix: str) -> Dict[str, str]:
        """``{stem: path}`` of the files of ``folder`` ending in ``suffix``."""
        return {
            f[:-len(suffix)]: osp.join(folder, f)
            for f in os.listdir(folder)
            if f.lower().endswith(suffix.lower())
            and osp.isfile(osp.join(folder, f))
        }

    def _case_table(self, case: str, frame_root: str,
                    gt_root: str) -> Tuple[dict, int]:
        frame_dir, gt_dir = osp.join(frame_root, case), osp.join(gt_root, case)
        for folder, what in ((frame_dir, 'case'), (gt_dir, 'GT')):
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'SUN-SEG {what} folder {folder!r} not found')
        frames = self._files(frame_dir, self.img_suffix)
        if not frames:
            raise ValueError(f'SUN-SEG case folder {frame_dir!r} holds no '
                             f'{self.img_suffix} frames')
        gts = self._files(gt_dir, self.seg_map_suffix)
        stems = self._sorted(frames)
        missing = [s for s in stems if s not in gts]
        if missing:
            raise FileNotFoundError(
                f'SUN-SEG frame {frames[missing[0]]!r} has no GT ' +
                repr(osp.join(gt_dir, missing[0] + self.seg_map_suffix)) +
                f' ({len(missing)} frames of case {case!r} lack one)')
        video = dict(
            video_id=case,
            img_paths=[frames[s] for s in stems],
            seg_map_paths=[gts[s] for s in stems],
            source=frame_dir)
        return video, len(set(gts) - set(frames))

    def load_video_table(self) -> List[dict]:
        frame_root, gt_root = self._split_dirs()
        if self.cases is not None:
            cases = list(self.cases)
        else:
            cases = self._sorted(
                d for d in os.listdir(frame_root)
                if osp.isdir(osp.join(frame_root, d)))
        table, orphans = [], 0
        for case in cases:
            video, extra = self._case_table(case, frame_root, gt_root)
            table.append(video)
            orphans += extra
        if orphans:
            print_log(
                f'SUNSEGDataset: {orphans} GT files under {gt_root!r} have no '
                'frame and are ignored',
                logger='current',
                level=logging.WARNING)
        return table
