"""DAVIS J&F metric (semi-supervised VOS) for mmengine evaluators."""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log

from mmvidseg.evaluation.functional.davis_measures import (
    BOUND_TH, GLOBAL_KEYS, STAT_KEYS, check_prediction_ids, global_table,
    present_ids, score_objects, sequence_table)
from mmvidseg.registry import METRICS
from mmvidseg.utils.io import atomic_write_bytes

from .base_video_metric import BaseVideoMetric, id_map


def format_csv(header: Sequence[str], rows: List[Sequence[Any]]) -> bytes:
    """CSV text: strings as they are, numbers with 6 decimals."""
    lines = [','.join(header)]
    for row in rows:
        lines.append(','.join(v if isinstance(v, str) else f'{v:.6f}'
                              for v in row))
    return ('\n'.join(lines) + '\n').encode()


@METRICS.register_module()
class DAVISMetric(BaseVideoMetric):
    """J&F of the official DAVIS-2017 semi-supervised scorer.

    Every data sample is one frame: metainfo ``video_id`` and ``frame_id``,
    ``pred_sem_seg`` (object ids) and ``gt_sem_seg`` (object ids,
    ``void_label`` = void), both (1, H, W) at the original resolution.
    :meth:`process` keeps only the J and F of the objects present in the
    frame (ground truth or prediction); any other object has J = F = 1 there
    (both empty). :meth:`compute_metrics` sorts the frames of each video by
    ``frame_id`` (so rank and order do not matter; ranks may hold different
    numbers of videos, see :class:`BaseVideoMetric`; a frame evaluated twice
    is an error), takes the objects
    ``1..K`` of the first frame (``K`` its largest id: missing ids in between
    are scored, larger ids appearing later are not), leaves out the first and
    the last frame, and reports the official global table, in [0, 1], as
    ``davis2017-evaluation``'s ``evaluation_method.py`` does: every statistic
    averaged over all objects of all videos and ``J&F-Mean = (J-Mean +
    F-Mean) / 2``. Every annotated frame of a video must be fed.

    Args:
        void_label (int): Void id of the ground truth.
        exclude_void (bool): Leave void pixels out of J and F. The official
            semi-supervised scorer does not (void counts as background).
        bound_th (float): Boundary tolerance, a fraction of the image
            diagonal (< 1) or pixels.
        output_dir (str, optional): Also write ``per-sequence_results.csv``
            (one row ``<video>_<object id>`` per object) and
            ``global_results.csv`` there, atomically.
        collect_device (str): ``'cpu'`` or ``'gpu'``; accepted for config
            compatibility (results are gathered with the process group's
            ``all_gather_object``, see :class:`BaseVideoMetric`).
        prefix (str, optional): Prefix of the metric names.
        collect_dir (str, optional): Accepted for config compatibility, not
            used.
    """

    drop_duplicate_frames = False

    def __init__(self,
                 void_label: int = 255,
                 exclude_void: bool = False,
                 bound_th: float = BOUND_TH,
                 output_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        self.void_label = void_label
        self.exclude_void = exclude_void
        self.bound_th = bound_th
        self.output_dir = output_dir

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Score the objects of every frame of the batch.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): One dict (or
                :class:`SegDataSample`) per frame.
        """
        for sample in self.frame_samples(
                data_samples,
                ('video_id', 'frame_id', 'pred_sem_seg', 'gt_sem_seg'),
                'metainfo video_id/frame_id, and gt_sem_seg at the original '
                'size from the test pipeline'):
            video, frame = sample['video_id'], int(sample['frame_id'])
            pred = id_map(sample['pred_sem_seg'], 'pred_sem_seg')
            gt = id_map(sample['gt_sem_seg'], 'gt_sem_seg')
            if pred.shape != gt.shape:
                raise ValueError(
                    f'video {video!r} frame {frame}: prediction size '
                    f'{pred.shape} differs from the ground truth {gt.shape}')
            gt_ids = present_ids(gt)
            gt_ids = gt_ids[(gt_ids != 0) & (gt_ids != self.void_label)]
            pred_ids = present_ids(pred)
            pred_ids = pred_ids[pred_ids != 0]
            obj_ids = np.union1d(gt_ids, pred_ids)
            obj_ids = obj_ids[obj_ids != self.void_label]
            j_res, f_res = score_objects(gt[None], pred[None], obj_ids,
                                         self.void_label, self.exclude_void,
                                         self.bound_th)
            self.results.append(
                dict(video_id=video, frame_id=frame,
                     num_objects=int(gt_ids.max(initial=0)),
                     pred_ids=pred_ids, obj_ids=obj_ids, J=j_res[:, 0],
                     F=f_res[:, 0]))

    def video_scores(self, results: List[dict]) -> Dict[str, Dict]:
        """Per-object statistics of every video, ``'<video>_<id>'`` keys.

        Args:
            results (list[dict]): What :meth:`process` stored, any order.

        Returns:
            dict: ``'<video>_<id>'`` -> :data:`STAT_KEYS` statistics, videos
            sorted by id, objects ``1..K`` of each.
        """
        return self._object_scores(self.group_videos(results))

    def _object_scores(self, videos: Dict[Any, List[dict]]) -> Dict[str, Dict]:
        """:meth:`video_scores` of grouped, ordered frames."""
        per_object = {}
        for video, frames in videos.items():
            if len(frames) < 3:
                raise ValueError(
                    f'video {video!r} has {len(frames)} frames; DAVIS '
                    'scoring leaves out the first and the last, so it '
                    'needs at least 3')
            num = frames[0]['num_objects']
            j_res = np.ones((num, len(frames) - 2))
            f_res = np.ones((num, len(frames) - 2))
            for t, res in enumerate(frames[1:-1]):
                check_prediction_ids(
                    res['pred_ids'], num,
                    f"video {video!r} frame {res['frame_id']}")
                objs = np.asarray(res['obj_ids'], np.int64)
                keep = (objs >= 1) & (objs <= num)
                j_res[objs[keep] - 1, t] = np.asarray(res['J'])[keep]
                f_res[objs[keep] - 1, t] = np.asarray(res['F'])[keep]
            per_object.update(sequence_table(str(video), j_res, f_res))
        return per_object

    def compute_video_metrics(
            self, videos: Dict[Any, List[dict]]) -> Dict[str, float]:
        """Official global table from the frames of every video.

        Args:
            videos (dict): ``video_id`` -> the results :meth:`process`
                stored, in frame order (see :class:`BaseVideoMetric`).

        Returns:
            dict[str, float]: ``J&F-Mean``, ``J-Mean``, ``J-Recall``,
            ``J-Decay``, ``F-Mean``, ``F-Recall``, ``F-Decay``.
        """
        per_object = self._object_scores(videos)
        table = global_table(per_object)
        print_log(
            'DAVIS (%d objects): ' % len(per_object) + ', '.join(
                f'{k} {table[k]:.4f}' for k in GLOBAL_KEYS),
            logger='current')
        if self.output_dir is not None:
            self.write_csv(per_object, table)
        return table

    def write_csv(self, per_object: Dict[str, Dict],
                  table: Dict[str, float]) -> None:
        """Write the per-object and the global table to ``output_dir``."""
        keys = ('J-Mean', 'F-Mean') + tuple(
            k for k in STAT_KEYS if k not in ('J-Mean', 'F-Mean'))
        rows = [[name] + [row[k] for k in keys]
                for name, row in per_object.items()]
        atomic_write_bytes(
            osp.join(self.output_dir, 'per-sequence_results.csv'),
            format_csv(('Sequence', ) + keys, rows))
        atomic_write_bytes(
            osp.join(self.output_dir, 'global_results.csv'),
            format_csv(GLOBAL_KEYS, [[table[k] for k in GLOBAL_KEYS]]))
