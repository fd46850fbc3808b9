"""CamVid as videos, in the SegNet or the TMANet folder layout."""
import logging
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log

from mmvidseg.registry import DATASETS

from .base_video_dataset import IMG_EXTENSIONS, BaseVideoDataset

#: Standard CamVid colours (RGB) of the 11 classes.
_CLASSES = ('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree',
            'SignSymbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist')
_PALETTE = [[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
            [0, 0, 192], [128, 128, 0], [192, 128, 128], [64, 64, 128],
            [64, 0, 128], [64, 64, 0], [0, 128, 192]]

CAMVID_SEGNET_METAINFO = dict(classes=_CLASSES, palette=_PALETTE)
CAMVID_TMANET_METAINFO = dict(
    classes=('void', ) + _CLASSES, palette=[[0, 0, 0]] + _PALETTE)

_NAME = re.compile(r'^([^_]+)_([^\d-]*)(\d+)$')


def _parse_name(stem: str, where: str) -> Tuple[str, int]:
    """``'0006R0_f00930'`` -> ``('0006R0', 930)``."""
    m = _NAME.match(stem)
    if m is None:
        raise ValueError(f'cannot parse {stem!r} in {where!r} as '
                         '<sequence>_<frame number>')
    return m.group(1), int(m.group(3))


def _name_fmt(folder: str, stem: str, suffix: str) -> str:
    """``str.format`` pattern of the paths named like ``stem``:
    ``('d', 'Seq05VD_f00030', '.png')`` -> ``'d/Seq05VD_f{:05d}.png'``."""
    m = _NAME.match(stem)
    esc = [t.replace('{', '{{').replace('}', '}}')
           for t in (folder, m.group(1), m.group(2), suffix)]
    return osp.join(esc[0], f'{esc[1]}_{esc[2]}{{:0{len(m.group(3))}d}}'
                    f'{esc[3]}')


def _list_frames(folder: str, suffixes: Sequence[str]) -> Dict[str, str]:
    """``{file stem: path}`` of the files of ``folder`` with a suffix."""
    out = {}
    for fname in os.listdir(folder):
        for suffix in suffixes:
            if fname.lower().endswith(suffix):
                out[fname[:-len(suffix)]] = osp.join(folder, fname)
                break
    return out


@DATASETS.register_module()
class CamVidVideoDataset(BaseVideoDataset):
    """CamVid driving videos (0001TP, 0006R0, 0016E5, Seq05VD).

    Two layouts, chosen by ``layout``:

    * ``'segnet'``: ``<data_root>/<split>/<seq>_<frame>.{png,jpg}`` and
      ``<data_root>/<split>annot/<seq>_<frame>.png`` (splits train/val/test),
      11 classes; label value 11 (Unlabelled) becomes ignore (255). Only the
      labelled frames (about 1 in 30) exist, so a video's frame table is the
      labelled frames of the split and sequence sorted by frame number, and
      reference frames are the previous labelled frames.
    * ``'tmanet'`` (TMANet's layout): labelled frames in
      ``<data_root>/images/<name>.png``, labels
      ``<data_root>/labels/<name>_L.png`` with values 0..11, split lists
      ``<data_root>/annotations/<split>.txt`` (one name per line, extension
      optional) and every frame of the videos (30 Hz) in
      ``<data_root>/images_sequence/<seq>_<frame>.png`` (extract them with
      ``tools/dataset_converters/camvid_video_to_frames.py --naming
      tmanet``). The frame table of a video is all its ``images_sequence``
      frames sorted by frame number, with their ``frame_numbers``; only
      frames listed in the split file are labelled. As in TMANet, the key
      frame of a clip is read from ``images/<name>.png`` (the table's
      ``key_img_paths``, also the item's ``img_path``) and only the memory
      frames from ``images_sequence`` (picked by frame number, see
      :class:`FixedOffsetClipPolicy`), so a wrongly numbered extraction
      cannot pair a label with another frame. A listed frame missing from
      ``images_sequence`` enters the table as its ``images/`` file
      (a warning counts them). Class 0 ``void`` is trained and evaluated as
      a class, as TMANet did (12 classes).

    Frame numbers are the digits after ``<seq>_`` (``Seq05VD_f00000`` is
    frame 0), so zero padding may differ between folders; negative numbers
    (``Seq05VD_f-0001``, written by TMANet's extraction script) are
    ignored. The SegNet mapping
    11 -> 255 is the dataset's ``label_map`` (see :meth:`get_label_map`),
    which :class:`LoadVideoFrames` applies; giving a subset of the classes in
    ``metainfo`` maps the other classes to 255 as in mmseg.

    Args:
        layout (str): ``'segnet'`` or ``'tmanet'``.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        img_suffix (str | Sequence[str], optional): Frame suffixes; defaults
            to the image extensions (SegNet) or ``'.png'`` (TMANet).
        seg_map_suffix (str, optional): Label suffix; ``'.png'`` (SegNet) or
            ``'_L.png'`` (TMANet).
        key_img_dir (str, optional): TMANet layout: folder (under
            ``data_root``) of the labelled images read as key frames;
            ``None`` reads the key frame from ``images_sequence`` as well.
            Default ``'images'``.
        **kwargs: See :class:`BaseVideoDataset`.

    Raises:
        FileNotFoundError: A folder, split list, label or frame is missing.
        ValueError: A file name cannot be parsed, or ``metainfo`` names a
            class the layout does not have.
    """
    LAYOUT_METAINFO = dict(
        segnet=CAMVID_SEGNET_METAINFO, tmanet=CAMVID_TMANET_METAINFO)
    #: Raw label values mapped to ignore, per layout.
    LAYOUT_IGNORE = dict(segnet=(11, ), tmanet=())

    def __init__(self,
                 layout: str = 'segnet',
                 split: str = 'train',
                 img_suffix: Optional[Union[str, Sequence[str]]] = None,
                 seg_map_suffix: Optional[str] = None,
                 key_img_dir: Optional[str] = 'images',
                 **kwargs) -> None:
        if layout not in self.LAYOUT_METAINFO:
            raise ValueError(
                f"layout must be 'segnet' or 'tmanet', got {layout!r}")
        self.layout = layout
        self.split = split
        self.key_img_dir = key_img_dir
        if img_suffix is None:
            img_suffix = IMG_EXTENSIONS if layout == 'segnet' else '.png'
        if seg_map_suffix is None:
            seg_map_suffix = '.png' if layout == 'segnet' else '_L.png'
        metainfo = dict(self.LAYOUT_METAINFO[layout])
        metainfo.update(kwargs.pop('metainfo', None) or {})
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            metainfo=metainfo,
            **kwargs)

    def get_label_map(self,
                      new_classes: Optional[Sequence[str]] = None
                      ) -> Optional[Dict[int, int]]:
        """Raw label value -> training label (``None`` if identity).

        An instance method (as in mmseg's ``DSDLSegDataset``) since the map
        depends on the layout: SegNet's 11 (Unlabelled) becomes 255, and
        classes left out of ``new_classes`` become 255.
        """
        classes = self.LAYOUT_METAINFO[self.layout]['classes']
        label_map = {v: 255 for v in self.LAYOUT_IGNORE[self.layout]}
        if new_classes is not None and list(new_classes) != list(classes):
            unknown = [c for c in new_classes if c not in classes]
            if unknown:
                raise ValueError(f'classes {unknown} are not CamVid '
                                 f'({self.layout}) classes {classes}')
            for i, c in enumerate(classes):
                label_map[i] = (
                    list(new_classes).index(c) if c in new_classes else 255)
        return label_map or None

    @property
    def _suffixes(self) -> Tuple[str, ...]:
        s = self.img_suffix
        return (s, ) if isinstance(s, str) else tuple(s)

    def load_video_table(self) -> List[dict]:
        root = self.data_root or ''
        if self.layout == 'segnet':
            return self._segnet_table(root)
        return self._tmanet_table(root)

    def _segnet_table(self, root: str) -> List[dict]:
        img_dir = osp.join(root, self.split)
        ann_dir = osp.join(root, f'{self.split}annot')
        for d in (img_dir, ann_dir):
            if not osp.isdir(d):
                raise FileNotFoundError(f'CamVid folder {d!r} not found')
        imgs = _list_frames(img_dir, self._suffixes)
        labels = _list_frames(ann_dir, (self.seg_map_suffix, ))
        orphans = sorted(set(labels) - set(imgs))
        if orphans:
            raise FileNotFoundError(
                f'label {labels[orphans[0]]!r} has no frame {orphans[0]!r} '
                f'in {img_dir!r} ({len(orphans)} labels without a frame)')
        videos: Dict[str, list] = {}
        for stem, path in imgs.items():
            seq, num = _parse_name(stem, img_dir)
            if stem not in labels:
                raise FileNotFoundError(
                    f'label of frame {path!r} not found: ' +
                    repr(osp.join(ann_dir, stem + self.seg_map_suffix)))
            videos.setdefault(seq, []).append((num, path, labels[stem]))
        return [
            dict(
                video_id=seq,
                img_paths=[p for _, p, _ in sorted(frames)],
                seg_map_paths=[s for _, _, s in sorted(frames)],
                source=img_dir) for seq, frames in sorted(videos.items())
        ]

    def _read_split(self, root: str) -> List[str]:
        path = osp.join(root, 'annotations', f'{self.split}.txt')
        if not osp.isfile(path):
            raise FileNotFoundError(f'CamVid split list {path!r} not found')
        names = []
        with open(path) as f:
            for line in f:
                name = line.strip()
                if not name:
                    continue
                name = osp.basename(name)
                stem, ext = osp.splitext(name)
                names.append(stem if ext.lower() in IMG_EXTENSIONS else name)
        if not names:
            raise ValueError(f'CamVid split list {path!r} is empty')
        return names

    def _find_key_img(self, root: str, name: str) -> str:
        """``<key_img_dir>/<name><suffix>`` of a listed frame."""
        cands = [
            osp.join(root, self.key_img_dir, name + s) for s in self._suffixes
        ]
        img = next((c for c in cands if osp.isfile(c)), None)
        if img is None:
            raise FileNotFoundError(
                f'labelled image of listed frame {name!r} not found: '
                f'{cands[0]!r} (key_img_dir=None reads key frames from '
                'images_sequence)')
        return img

    def _tmanet_table(self, root: str) -> List[dict]:
        names = self._read_split(root)
        seq_dir = osp.join(root, 'images_sequence')
        if not osp.isdir(seq_dir):
            raise FileNotFoundError(
                f'CamVid frame folder {seq_dir!r} not found (extract it with '
                'tools/dataset_converters/camvid_video_to_frames.py)')
        labelled: Dict[str, Dict[int, str]] = {}
        for name in names:
            seq, num = _parse_name(name, 'annotations')
            label = osp.join(root, 'labels', name + self.seg_map_suffix)
            if not osp.isfile(label):
                raise FileNotFoundError(
                    f'label {label!r} of listed frame {name!r} not found')
            labelled.setdefault(seq, {})[num] = name
        frames: Dict[str, Dict[int, str]] = {seq: {} for seq in labelled}
        fmts: Dict[str, str] = {}
        for stem, path in sorted(_list_frames(seq_dir, self._suffixes)
                                 .items()):
            m = _NAME.match(stem)  # other videos' frames may be named freely
            if m is not None and m.group(1) in frames:
                frames[m.group(1)][int(m.group(3))] = path
                fmts.setdefault(
                    m.group(1),
                    _name_fmt(seq_dir, stem, path[len(seq_dir) + 1 +
                                                  len(stem):]))
        fallbacks, table = 0, []
        for seq in sorted(labelled):
            segs, keys = {}, {}
            for num, name in labelled[seq].items():
                segs[num] = osp.join(root, 'labels',
                                     name + self.seg_map_suffix)
                if self.key_img_dir is not None:
                    keys[num] = self._find_key_img(root, name)
                if num in frames[seq]:
                    continue
                if self.key_img_dir is None:
                    raise FileNotFoundError(
                        f'listed frame {name!r} not found in {seq_dir!r}')
                frames[seq][num] = keys[num]
                fallbacks += 1
            nums = sorted(frames[seq])
            first = labelled[seq][min(labelled[seq])]
            table.append(
                dict(
                    video_id=seq,
                    img_paths=[frames[seq][n] for n in nums],
                    seg_map_paths=[segs.get(n) for n in nums],
                    frame_numbers=nums,
                    key_img_paths=([keys.get(n) for n in nums]
                                   if keys else None),
                    frame_path_fmt=fmts.get(seq) or _name_fmt(
                        seq_dir, first, self._suffixes[0]),
                    source=seq_dir))
        if fallbacks:
            print_log(
                f'CamVidVideoDataset: {fallbacks} listed frames are missing '
                f'from {seq_dir!r}; their {self.key_img_dir}/ images stand in '
                'as video frames', logger='current', level=logging.WARNING)
        return table
