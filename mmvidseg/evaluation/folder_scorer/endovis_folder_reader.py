"""EndoVis class-id results on disk for :class:`EndoVisMetric`
(``score_folder.py endovis``)."""
import argparse
import os
import os.path as osp
from typing import Any, Dict, List, Optional

import numpy as np

from mmvidseg.datasets.endovis18_dataset import ENDOVIS18_CLASSES
from mmvidseg.evaluation.functional.vps_measures import natural_key
from mmvidseg.evaluation.metrics import EndoVisMetric

from .base_folder_reader import BaseFolderReader, register_folder_reader
from .davis_folder_reader import read_id_png


@register_folder_reader('endovis')
class EndoVisFolderReader(BaseFolderReader):
    """EndoVis18 results scored as MS-TFAL does (present-class Dice / IoU).

    Ground truth: ``<gt_dir>/<seq>/[<gt_subdir>/]<frame>.png`` and
    predictions ``<pred_dir>/<seq>/<frame>.png``, greyscale (or palette)
    PNGs of class ids, the prediction at the ground-truth size. The
    sequences are the sub-folders of ``gt_dir`` and the frames its PNGs,
    both in natural order; every frame needs its prediction (extra
    prediction files are ignored). ``gt_subdir='class_labels'`` reads the
    ground truth straight from an EndoVis18 split folder
    (``data/endovis18/test``). Reports ``Dice`` and ``IoU`` (means over
    frames), per sequence and per class.

    Args:
        gt_dir (str): Folder of sequence folders of ground truth.
        pred_dir (str): Folder of sequence folders of predictions.
        num_classes (int): Class ids must be below it (12 for EndoVis18).
        empty_frames (str): See :class:`EndoVisMetric`.
        gt_subdir (str, optional): Sub-folder of each ground-truth sequence
            holding the PNGs.
    """

    def __init__(self,
                 gt_dir: str,
                 pred_dir: str,
                 num_classes: int = 12,
                 empty_frames: str = 'skip',
                 gt_subdir: Optional[str] = None) -> None:
        super().__init__(gt_dir, pred_dir)
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if empty_frames not in ('skip', 'nan'):
            raise ValueError("empty_frames must be 'skip' or 'nan', got "
                             f'{empty_frames!r}')
        self.num_classes = int(num_classes)
        self.empty_frames = empty_frames
        self.gt_subdir = gt_subdir or ''

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """``--num-classes``, ``--empty-frames``, ``--gt-subdir``."""
        parser.add_argument('--num-classes', type=int, default=12,
                            help='class ids must be below it (default 12)')
        parser.add_argument(
            '--empty-frames', choices=('skip', 'nan'), default='skip',
            help='background-only GT frames: left out (default) or NaN as '
            'MS-TFAL')
        parser.add_argument(
            '--gt-subdir', default=None,
            help='sub-folder of each GT sequence, e.g. class_labels for '
            'data/endovis18/test')

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> 'EndoVisFolderReader':
        """Build from the parsed command line."""
        return cls(args.gt, args.pred, num_classes=args.num_classes,
                   empty_frames=args.empty_frames, gt_subdir=args.gt_subdir)

    @property
    def options(self) -> Dict[str, Any]:
        """Settings written into the report."""
        return dict(num_classes=self.num_classes,
                    empty_frames=self.empty_frames)

    def list_videos(self) -> Dict[str, List[str]]:
        """Sequences and their ground-truth frames, checked on both sides.

        Raises:
            FileNotFoundError: No sequence, a sequence without PNGs, or a
                missing prediction folder or frame (named).
        """
        seqs = sorted((d for d in os.listdir(self.gt_dir)
                       if osp.isdir(osp.join(self.gt_dir, d))),
                      key=natural_key)
        if not seqs:
            raise FileNotFoundError(
                f'no sequence folders in the ground-truth folder '
                f'{self.gt_dir}')
        videos = {}
        for seq in seqs:
            gt_seq = osp.join(self.gt_dir, seq, self.gt_subdir)
            pred_seq = osp.join(self.pred_dir, seq)
            frames = sorted((f for f in os.listdir(gt_seq)
                             if f.endswith('.png')),
                            key=natural_key) if osp.isdir(gt_seq) else []
            if not frames:
                raise FileNotFoundError(
                    f'sequence {seq!r}: no ground-truth PNG in {gt_seq}')
            if not osp.isdir(pred_seq):
                raise FileNotFoundError(
                    f'sequence {seq!r}: prediction folder {pred_seq} not '
                    'found')
            preds = set(os.listdir(pred_seq))
            missing = [f for f in frames if f not in preds]
            if missing:
                raise FileNotFoundError(
                    f'sequence {seq!r}: {len(missing)} frame(s) without a '
                    f'prediction, first {osp.join(pred_seq, missing[0])}')
            videos[seq] = frames
        return videos

    def build_metric(self) -> EndoVisMetric:
        """:class:`EndoVisMetric` with the empty-frame rule (and the
        EndoVis18 class names when ``num_classes`` is 12)."""
        metric = EndoVisMetric(empty_frames=self.empty_frames)
        if self.num_classes == len(ENDOVIS18_CLASSES):
            metric.dataset_meta = dict(classes=ENDOVIS18_CLASSES)
        return metric

    def _read(self, path: str, what: str) -> np.ndarray:
        ids = read_id_png(path, what)
        if ids.size and ids.max() >= self.num_classes:
            raise ValueError(f'{what} {path}: class id {int(ids.max())} >= '
                             f'--num-classes {self.num_classes}')
        return ids

    def load_frame(self, video: str, frame_id: int, frame: str) -> dict:
        """Ground truth and prediction of one frame as a metric sample.

        Raises:
            ValueError: Unreadable file, id out of range, or sizes differ.
        """
        gt_path = osp.join(self.gt_dir, video, self.gt_subdir, frame)
        pred_path = osp.join(self.pred_dir, video, frame)
        gt = self._read(gt_path, 'ground truth')
        pred = self._read(pred_path, 'prediction')
        if pred.shape != gt.shape:
            raise ValueError(f'prediction {pred_path} has size {pred.shape}, '
                             f'the ground truth {gt_path} {gt.shape}')
        return dict(video_id=video, frame_id=frame_id,
                    gt_sem_seg=dict(data=gt[None]),
                    pred_sem_seg=dict(data=pred[None]))

    def details(self, metric: EndoVisMetric,
                results: List[dict]) -> Dict[str, Any]:
        """``per_sequence``, ``per_class`` and the frame counts."""
        scores = metric.scores(metric.group_videos(results))
        return {k: scores[k] for k in ('empty_frames', 'per_sequence',
                                       'per_class')}
