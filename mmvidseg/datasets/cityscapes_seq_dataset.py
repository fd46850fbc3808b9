"""Cityscapes video snippets (``leftImg8bit_sequence``) with gtFine labels."""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

from mmseg.datasets import CityscapesDataset

from mmvidseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset


def _parse_name(fname: str, suffix: str) -> Tuple[str, str, str]:
    """Split ``<city>_<seq>_<frame><suffix>`` into its three fields."""
    parts = fname[:-len(suffix)].rsplit('_', 2)
    if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
        raise ValueError(
            f'cannot parse {fname!r} as <city>_<seq>_<frame>{suffix}')
    return parts[0], parts[1], parts[2]


def _escape(text: str) -> str:
    """``text`` as a literal part of a ``str.format`` pattern."""
    return text.replace('{', '{{').replace('}', '}}')


@DATASETS.register_module()
class CityscapesSeqDataset(BaseVideoDataset):
    """Cityscapes 30-frame snippets with the 19 train classes.

    Layout (relative to ``data_root``)::

        <img_dir>/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
        <key_img_dir>/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
        <ann_dir>/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png

    Labels hold trainIds (0..18, 255 = ignore); make them from the official
    ``*_gtFine_labelIds.png`` with
    ``tools/dataset_converters/cityscapes_trainids.py``.

    A video is a snippet of one ``<city>_<seq>``: its sequence frames found
    on disk, sorted numerically, with their ``frame_numbers`` (absolute,
    e.g. ``frankfurt_000000_000275`` to ``..._000304`` around the labelled
    frame ``000294``). Some cities reuse one ``<seq>`` for several snippets:
    a jump of more than ``snippet_gap`` frame numbers starts a new video, so
    that memory frames never come from another snippet; a smaller jump is
    frames missing inside a snippet, which a clip policy picking frames by
    number reports (see :class:`FixedOffsetClipPolicy`). The video id is
    ``<city>_<seq>``, or ``<city>_<seq>_<first frame>`` when the sequence
    has several snippets. ``seg_map_paths[i]`` is the gtFine label of frame
    ``i`` or ``None``.

    As in TMANet, the key (labelled) frame of a clip is read from
    ``leftImg8bit/`` (the table's ``key_img_paths``, also the item's
    ``img_path``) and only the memory frames from ``leftImg8bit_sequence/``.

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        img_dir (str): Folder of the sequence frames under ``data_root``.
        ann_dir (str, optional): Folder of the labels under ``data_root``;
            ``None`` for unlabelled inference (every frame is then an item).
        key_img_dir (str, optional): Folder of the labelled images under
            ``data_root``, read for the key frames; ``None`` reads them from
            ``img_dir`` too. Default ``'leftImg8bit'``.
        snippet_gap (int): Largest jump in frame numbers inside one snippet
            (frames missing from it); a larger one starts a new video.
            Default 10: a snippet is 30 consecutive frames, and separate
            snippets of one sequence are assumed to lie further apart.
        img_suffix (str): Frame file suffix.
        seg_map_suffix (str): Label file suffix.
        **kwargs: See :class:`BaseVideoDataset` (no ``data_prefix``: it is
            made from ``img_dir``, ``ann_dir`` and ``split``).

    Raises:
        FileNotFoundError: The split folder of the frames or labels is
            missing, or a label has no sequence frame or no labelled image
            on disk.
        ValueError: A frame or label file name cannot be parsed.
    """
    METAINFO = CityscapesDataset.METAINFO

    def __init__(self,
                 split: str = 'train',
                 img_dir: str = 'leftImg8bit_sequence',
                 ann_dir: Optional[str] = 'gtFine',
                 key_img_dir: Optional[str] = 'leftImg8bit',
                 snippet_gap: int = 10,
                 img_suffix: str = '_leftImg8bit.png',
                 seg_map_suffix: str = '_gtFine_labelTrainIds.png',
                 **kwargs) -> None:
        if 'data_prefix' in kwargs:
            raise TypeError('CityscapesSeqDataset builds data_prefix from '
                            'img_dir, ann_dir and split; do not pass it')
        if int(snippet_gap) < 1:
            raise ValueError(f'snippet_gap must be >= 1, got {snippet_gap}')
        self.split = split
        self.has_labels = bool(ann_dir)
        self.key_img_dir = key_img_dir
        self.snippet_gap = int(snippet_gap)
        data_prefix = dict(
            img_path=osp.join(img_dir, split),
            seg_map_path=osp.join(ann_dir, split) if ann_dir else '')
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)

    def _scan_frames(self, img_root: str) -> Dict[Tuple[str, str], dict]:
        """``{(city, seq): {frame number: (frame str, path)}}``."""
        seqs: Dict[Tuple[str, str], dict] = {}
        for city in sorted(os.listdir(img_root)):
            cdir = osp.join(img_root, city)
            if not osp.isdir(cdir):
                continue
            for fname in os.listdir(cdir):
                if not fname.endswith(self.img_suffix):
                    continue
                c, seq, frame = _parse_name(fname, self.img_suffix)
                seqs.setdefault((c, seq), {})[int(frame)] = (
                    frame, osp.join(cdir, fname))
        return seqs

    def _scan_labels(self, seg_root: str) -> Dict[Tuple[str, str, int], str]:
        """``{(city, seq, frame number): label path}``."""
        labels = {}
        for city in sorted(os.listdir(seg_root)):
            cdir = osp.join(seg_root, city)
            if not osp.isdir(cdir):
                continue
            for fname in os.listdir(cdir):
                if fname.endswith(self.seg_map_suffix):
                    c, seq, frame = _parse_name(fname, self.seg_map_suffix)
                    labels[(c, seq, int(frame))] = osp.join(cdir, fname)
        return labels

    def load_video_table(self) -> List[dict]:
        img_root = self.data_prefix.get('img_path', '')
        seg_root = (self.data_prefix.get('seg_map_path')
                    if self.has_labels else None)
        if not osp.isdir(img_root):
            raise FileNotFoundError(
                f'Cityscapes sequence folder {img_root!r} not found')
        if seg_root is not None and not osp.isdir(seg_root):
            raise FileNotFoundError(
                f'Cityscapes label folder {seg_root!r} not found')
        seqs = self._scan_frames(img_root)
        labels = self._scan_labels(seg_root) if seg_root else {}
        for (city, seq, num), path in sorted(labels.items()):
            if num not in seqs.get((city, seq), {}):
                frame = osp.basename(path)[:-len(self.seg_map_suffix)]
                missing = osp.join(img_root, city, frame + self.img_suffix)
                raise FileNotFoundError(
                    f'label {path!r} has no sequence frame: {missing!r} '
                    'not found')
        key_root = None
        if self.key_img_dir and seg_root is not None:
            key_root = osp.join(self.data_root or '', self.key_img_dir,
                                self.split)
        table = []
        for (city, seq), frames in sorted(seqs.items()):
            nums = sorted(frames)
            runs = [[nums[0]]]
            for n in nums[1:]:
                if n - runs[-1][-1] <= self.snippet_gap:
                    runs[-1].append(n)
                else:
                    runs.append([n])
            for run in runs:
                vid = f'{city}_{seq}'
                if len(runs) > 1:
                    vid = f'{vid}_{frames[run[0]][0]}'
                segs = None if seg_root is None else [
                    labels.get((city, seq, n)) for n in run
                ]
                width = len(frames[run[0]][0])
                table.append(
                    dict(
                        video_id=vid,
                        img_paths=[frames[n][1] for n in run],
                        seg_map_paths=segs,
                        frame_numbers=run,
                        key_img_paths=None if key_root is None else
                        self._key_images(key_root, city, segs),
                        frame_path_fmt=_escape(
                            osp.join(img_root, city, f'{city}_{seq}_')) +
                        f'{{:0{width}d}}' + _escape(self.img_suffix),
                        source=osp.join(img_root, city)))
        return table

    def _key_images(self, key_root: str, city: str,
                    segs: List[Optional[str]]) -> List[Optional[str]]:
        """``<key_root>/<city>/<name><img_suffix>`` of the labelled frames.

        Raises:
            FileNotFoundError: A labelled frame has no image there.
        """
        keys: List[Optional[str]] = []
        for seg in segs:
            if seg is None:
                keys.append(None)
                continue
            name = osp.basename(seg)[:-len(self.seg_map_suffix)]
            path = osp.join(key_root, city, name + self.img_suffix)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'labelled image {path!r} of label {seg!r} not found '
                    '(key_img_dir=None reads key frames from the sequence '
                    'folder)')
            keys.append(path)
        return keys
