"""DAVIS results on disk for :class:`DAVISMetric` (``score_folder.py davis``).
"""
import argparse
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from PIL import Image

from mmvidseg.evaluation.metrics import DAVISMetric

from .base_folder_reader import BaseFolderReader, register_folder_reader


def _png_names(folder: str) -> List[str]:
    return sorted(f for f in os.listdir(folder) if f.endswith('.png'))


def read_id_png(path: str, what: str) -> np.ndarray:
    """(H, W) int64 ids of a palette (P) or greyscale (L) PNG.

    Raises:
        ValueError: The file cannot be decoded or holds colours, not ids.
    """
    try:
        with Image.open(path) as img:
            mode = img.mode
            ids = np.array(img) if mode in ('P', 'L') else None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f'{what} {path} cannot be read: {exc}') from exc
    if ids is None:
        raise ValueError(f'{what} {path}: expected a palette (P) or '
                         f'greyscale (L) PNG of object ids, got mode {mode}')
    return ids.astype(np.int64)


@register_folder_reader('davis')
class DAVISFolderReader(BaseFolderReader):
    """DAVIS semi-supervised results scored as the official scorer does.

    Ground truth: a DAVIS root with ``Annotations/<resolution>/<seq>/
    <frame>.png`` (palette PNGs of object ids, 255 = void). Predictions:
    ``<pred_dir>/<seq>/<frame>.png`` (palette or greyscale PNGs of object
    ids, the official results format), one for every annotated frame,
    first and last included (they are read but not scored). The scored
    sequences are the sub-folders of ``pred_dir`` unless ``sequences`` is
    given. Each frame goes through :meth:`DAVISMetric.process`.

    Args:
        gt_dir (str): DAVIS root.
        pred_dir (str): Results folder.
        davis2016 (bool): DAVIS-2016 binary masks: ground-truth values
            {0, 255} become {0, 1} (anything else is an error) and
            predicted 255 becomes object 1, so {0, 1} and {0, 255}
            predictions both work; there is no void.
        exclude_void (bool): See :class:`DAVISMetric`.
        resolution (str): Annotation folder, ``'480p'`` or
            ``'Full-Resolution'``.
        sequences (Sequence[str], optional): Sequences to score; each must
            exist on both sides.
    """

    def __init__(self,
                 gt_dir: str,
                 pred_dir: str,
                 davis2016: bool = False,
                 exclude_void: bool = False,
                 resolution: str = '480p',
                 sequences: Optional[Sequence[str]] = None) -> None:
        super().__init__(gt_dir, pred_dir)
        self.davis2016 = davis2016
        self.exclude_void = exclude_void
        self.resolution = resolution
        self.sequences = None if sequences is None else list(sequences)
        self.ann_root = osp.join(gt_dir, 'Annotations', resolution)
        if not osp.isdir(self.ann_root):
            raise FileNotFoundError(
                f'{self.ann_root} not found: --gt must be a DAVIS root '
                f'holding Annotations/{resolution}/<sequence>/')

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """``--davis2016``, ``--exclude-void``, ``--resolution``,
        ``--sequences`` / ``--imageset``."""
        parser.add_argument(
            '--davis2016', action='store_true',
            help='DAVIS-2016 binary masks: ground truth {0,255} -> {0,1}, '
            'predicted 255 -> 1')
        parser.add_argument(
            '--exclude-void', action='store_true',
            help='leave void (255) pixels out of J and F (the official '
            'semi-supervised scorer counts them as background)')
        parser.add_argument('--resolution', default='480p',
                            help='Annotations sub-folder (default 480p)')
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            '--sequences', nargs='+', metavar='SEQ',
            help='sequences to score (default: the prediction folder\'s '
            'sub-folders)')
        group.add_argument(
            '--imageset', metavar='FILE',
            help='text file with one sequence name per line, e.g. '
            'ImageSets/2017/val.txt of DAVIS-2017')

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> 'DAVISFolderReader':
        """Build from the parsed command line."""
        sequences = args.sequences
        if args.imageset is not None:
            with open(args.imageset) as f:
                sequences = [s.strip() for s in f if s.strip()]
        return cls(args.gt, args.pred, davis2016=args.davis2016,
                   exclude_void=args.exclude_void,
                   resolution=args.resolution, sequences=sequences)

    @property
    def options(self) -> Dict[str, Any]:
        """Settings written into the report."""
        return dict(davis2016=self.davis2016, exclude_void=self.exclude_void,
                    resolution=self.resolution)

    def list_videos(self) -> Dict[str, List[str]]:
        """Sequences and their annotated frames, checked on both sides.

        Returns:
            dict[str, list[str]]: Sequence -> PNG names, sorted.

        Raises:
            FileNotFoundError: A sequence folder or a frame's prediction is
                missing, or there is nothing to score.
            ValueError: A prediction has no ground-truth frame.
        """
        sequences = self.sequences
        if sequences is None:
            sequences = sorted(
                d for d in os.listdir(self.pred_dir)
                if osp.isdir(osp.join(self.pred_dir, d)))
        if not sequences:
            raise FileNotFoundError(
                f'no sequence folders to score in {self.pred_dir}')
        videos = {}
        for seq in sequences:
            gt_seq = osp.join(self.ann_root, seq)
            pred_seq = osp.join(self.pred_dir, seq)
            if not osp.isdir(gt_seq):
                raise FileNotFoundError(
                    f'video {seq!r}: ground-truth folder {gt_seq} not found')
            if not osp.isdir(pred_seq):
                raise FileNotFoundError(
                    f'video {seq!r}: prediction folder {pred_seq} not found')
            frames, preds = _png_names(gt_seq), _png_names(pred_seq)
            if not frames:
                raise FileNotFoundError(
                    f'video {seq!r}: no annotation PNG in {gt_seq}')
            missing = sorted(set(frames) - set(preds))
            if missing:
                raise FileNotFoundError(
                    f'video {seq!r}: {len(missing)} frame(s) without a '
                    f'prediction, first {osp.join(pred_seq, missing[0])}')
            extra = sorted(set(preds) - set(frames))
            if extra:
                raise ValueError(
                    f'video {seq!r}: {len(extra)} prediction(s) without a '
                    f'ground-truth frame, first {osp.join(pred_seq, extra[0])}'
                    f' (no {osp.join(gt_seq, extra[0])})')
            videos[seq] = frames
        return videos

    def build_metric(self) -> DAVISMetric:
        """:class:`DAVISMetric` with the void option."""
        return DAVISMetric(exclude_void=self.exclude_void)

    def load_frame(self, video: str, frame_id: int, frame: str) -> dict:
        """Ground truth and prediction of one frame as a metric sample.

        Returns:
            dict: ``video_id``, ``frame_id``, ``gt_sem_seg`` and
            ``pred_sem_seg`` (``{'data': (1, H, W) int64 array}``).
        """
        gt_path = osp.join(self.ann_root, video, frame)
        pred_path = osp.join(self.pred_dir, video, frame)
        gt = read_id_png(gt_path, 'ground truth')
        pred = read_id_png(pred_path, 'prediction')
        if self.davis2016:
            odd = np.setdiff1d(np.unique(gt), (0, 255))
            if odd.size:
                raise ValueError(
                    f'ground truth {gt_path}: DAVIS-2016 masks hold 0 and '
                    f'255 only, found {odd.tolist()[:5]}')
            gt[gt == 255] = 1
            pred[pred == 255] = 1
        if pred.shape != gt.shape:
            raise ValueError(f'prediction {pred_path} has size {pred.shape}, '
                             f'the ground truth {gt.shape}')
        return dict(video_id=video, frame_id=frame_id,
                    gt_sem_seg=dict(data=gt[None]),
                    pred_sem_seg=dict(data=pred[None]))

    def details(self, metric: DAVISMetric,
                results: List[dict]) -> Dict[str, Any]:
        """``per_object``: ``'<seq>_<id>'`` -> statistics."""
        return dict(per_object=metric.video_scores(results))
