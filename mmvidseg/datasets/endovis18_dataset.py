"""EndoVis 2018 robotic scene segmentation videos (MS-TFAL layout)."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmvidseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset

#: Training sequences of EndoVis18 (there is no ``seq_8``), in MS-TFAL's
#: order: the position is its video index (``seq < 9 -> seq - 1`` else
#: ``seq - 2``).
ENDOVIS18_TRAIN_SEQS = (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16)
#: Test sequences (250, 249, 249, 249 frames).
ENDOVIS18_TEST_SEQS = (1, 2, 3, 4)

#: Class names (MS-TFAL ``train_MS_TFAL.py``) and the colours of
#: EndoVis18's ``labels.json``, in class-id order.
ENDOVIS18_CLASSES = ('background-tissue', 'instrument-shaft',
                     'instrument-clasper', 'instrument-wrist',
                     'kidney-parenchyma', 'covered-kidney', 'thread',
                     'clamps', 'suturing-needle', 'suction-instrument',
                     'small-intestine', 'ultrasound-probe')
ENDOVIS18_PALETTE = [[0, 0, 0], [0, 255, 0], [0, 255, 255], [125, 255, 12],
                     [255, 55, 0], [24, 55, 125], [187, 155, 25],
                     [0, 255, 125], [255, 255, 125], [123, 15, 175],
                     [124, 155, 5], [12, 255, 141]]


def seq_name(seq: Union[int, str]) -> str:
    """``3`` or ``'seq_3'`` -> ``'seq_3'``.

    Raises:
        ValueError: Anything else.
    """
    if isinstance(seq, int):
        return f'seq_{seq}'
    name = str(seq)
    if not (name.startswith('seq_') and name[4:].isdigit()):
        raise ValueError(f"EndoVis18 sequence must be an int or 'seq_<n>', "
                         f'got {seq!r}')
    return name


@DATASETS.register_module()
class EndoVis18Dataset(BaseVideoDataset):
    """EndoVis 2018 scene segmentation as used by MS-TFAL.

    Layout (relative to ``data_root``)::

        <split>/seq_<n>/left_frames/frame000.png ...   (RGB frames)
        <split>/seq_<n>/labels/frame000.png ...        (RGB colour labels)
        <split>/seq_<n>/class_labels/frame000.png ...  (class ids 0..11, see
                                                        the converter)
        train_noisy_label/<name>/seq_<n>/frame000.png  (noisy class ids)

    Videos are ``split='train'``: ``seq_1..16`` without ``seq_8`` (15 x 149
    frames), ``'test'``: ``seq_1..4`` (250 + 3 x 249 frames), in that order;
    :attr:`videos` lists them and every item carries ``video_index`` (the
    position in that list: 0..14 for train, MS-TFAL's video index for the
    video-level loss weights) besides ``video_id`` (``'seq_<n>'``) and
    ``frame_id``. Frames are the ``frame*.png`` of ``left_frames`` sorted by
    name; the frame id is the position (``frame007.png`` -> 7).

    ``label_dir`` says where the class-id labels are, for both the clean
    and the noisy ones:

    * a plain folder name (no ``{seq}``), e.g. ``'class_labels'`` (default):
      a sub-folder of each sequence folder,
      ``<data_root>/<split>/seq_<n>/class_labels/``;
    * a path template containing ``{seq}``, e.g.
      ``'train_noisy_label/noisy_scene_labels_final_mask_v0/{seq}'``:
      ``{seq}`` becomes ``seq_<n>``; relative templates are joined to
      ``data_root``;
    * ``None``: no labels (inference).

    Every frame must have its label (file of the same name). Labels are used
    as they are: no ``label_map``, no ``reduce_zero_label``.

    ``frame_step`` / ``frame_offset`` keep every ``frame_step``-th frame
    from ``frame_offset`` as items (the whole video stays available to clip
    sampling). MS-TFAL validates during training on ``frame_step=4,
    frame_offset=1`` of the **test** split (frames 1, 5, 9, ...; its
    ``test_part``), which is also where it selects its best checkpoint.

    Args:
        split (str): ``'train'`` or ``'test'``.
        label_dir (str, optional): See above. Default ``'class_labels'``.
        videos (Sequence[int | str], optional): Sequences to use, in order
            (ints or ``'seq_<n>'``). Default: all of the split.
        frame_step (int): Keep every ``frame_step``-th frame as an item.
        frame_offset (int): First frame kept.
        **kwargs: See :class:`BaseVideoDataset` (``frames`` has no effect
            here: every frame is labelled or none is).

    Raises:
        ValueError: Unknown split, bad step/offset, ``reduce_zero_label``,
            other classes, or a sequence folder without frames.
        FileNotFoundError: A sequence, frame or label folder, or a frame's
            label, is missing (the message names the path).
    """
    METAINFO = dict(classes=ENDOVIS18_CLASSES, palette=ENDOVIS18_PALETTE)

    def __init__(self,
                 split: str = 'train',
                 label_dir: Optional[str] = 'class_labels',
                 videos: Optional[Sequence[Union[int, str]]] = None,
                 frame_step: int = 1,
                 frame_offset: int = 0,
                 **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(
                f"EndoVis18 split must be 'train' or 'test', got {split!r}")
        if int(frame_step) < 1 or int(frame_offset) < 0:
            raise ValueError('frame_step must be >= 1 and frame_offset >= 0, '
                             f'got {frame_step} and {frame_offset}')
        if kwargs.get('reduce_zero_label'):
            raise ValueError('EndoVis18Dataset keeps class 0 '
                             '(background-tissue); reduce_zero_label=True '
                             'would drop it')
        self.split = split
        self.label_dir = label_dir
        default = (ENDOVIS18_TRAIN_SEQS
                   if split == 'train' else ENDOVIS18_TEST_SEQS)
        self.videos: List[str] = [
            seq_name(s) for s in (default if videos is None else videos)
        ]
        if len(set(self.videos)) != len(self.videos):
            raise ValueError(f'repeated sequences in {self.videos}')
        self.frame_step = int(frame_step)
        self.frame_offset = int(frame_offset)
        super().__init__(
            img_suffix='.png', seg_map_suffix='.png', **kwargs)

    def get_label_map(self,
                      new_classes: Optional[Sequence[str]] = None) -> None:
        """No label map: the class ids are kept.

        Raises:
            ValueError: ``new_classes`` differ from the 12 classes.
        """
        if new_classes is not None and \
                tuple(new_classes) != ENDOVIS18_CLASSES:
            raise ValueError(
                f'EndoVis18Dataset has the classes {ENDOVIS18_CLASSES}; got '
                f'{tuple(new_classes)}')
        return None

    def label_folder(self, video: str) -> Optional[str]:
        """The folder of a sequence's class-id labels (``None``: none)."""
        if self.label_dir is None:
            return None
        if '{seq}' in self.label_dir:
            folder = self.label_dir.format(seq=video)
            return folder if osp.isabs(folder) else osp.join(
                self.data_root or '', folder)
        return osp.join(self.data_root or '', self.split, video,
                        self.label_dir)

    def _video(self, video: str) -> dict:
        seq_dir = osp.join(self.data_root or '', self.split, video)
        frame_dir = osp.join(seq_dir, 'left_frames')
        if not osp.isdir(frame_dir):
            raise FileNotFoundError(
                f'EndoVis18 frame folder {frame_dir!r} not found (expected '
                '<data_root>/<split>/seq_<n>/left_frames/)')
        names = sorted(f for f in os.listdir(frame_dir)
                       if f.startswith('frame') and f.endswith('.png'))
        if not names:
            raise ValueError(
                f'EndoVis18 folder {frame_dir!r} holds no frame*.png')
        segs = None
        label_dir = self.label_folder(video)
        if label_dir is not None:
            if not osp.isdir(label_dir):
                raise FileNotFoundError(
                    f'EndoVis18 label folder {label_dir!r} not found '
                    f'(label_dir={self.label_dir!r}; run tools/'
                    'dataset_converters/endovis18.py for class_labels)')
            segs = [osp.join(label_dir, n) for n in names]
            missing = [p for p in segs if not osp.isfile(p)]
            if missing:
                frame = osp.join(frame_dir, osp.basename(missing[0]))
                raise FileNotFoundError(
                    f'EndoVis18 frame {frame!r} has no label {missing[0]!r} '
                    f'({len(missing)} frames of {video} lack one)')
        return dict(video_id=video,
                    img_paths=[osp.join(frame_dir, n) for n in names],
                    seg_map_paths=segs, source=frame_dir)

    def load_video_table(self) -> List[dict]:
        return [self._video(v) for v in self.videos]

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        index = {v: i for i, v in enumerate(self.videos)}
        kept = []
        for item in data_list:
            fid = item['frame_id']
            if fid < self.frame_offset or \
                    (fid - self.frame_offset) % self.frame_step:
                continue
            item['video_index'] = index[item['video_id']]
            kept.append(item)
        if not kept:
            raise ValueError(
                f'EndoVis18Dataset: no frame left with frame_step='
                f'{self.frame_step}, frame_offset={self.frame_offset}')
        return kept
