"""EndoVis present-class Dice / IoU per frame (MS-TFAL's protocol)."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log

from mmvidseg.registry import METRICS

from .base_video_metric import BaseVideoMetric, id_map

#: smoothing term of MS-TFAL's ``utils/EndoMetric.py``
EPS = 1e-15


def present_class_scores(gt: np.ndarray, pred: np.ndarray,
                         background: int = 0) -> Dict[str, np.ndarray]:
    """Dice and IoU of every class present in ``gt`` except ``background``.

    For class ``c`` with ground truth ``G = (gt == c)`` and prediction
    ``P = (pred == c)``: ``Dice = (2 |G P| + eps) / (|G| + |P| + eps)`` and
    ``IoU = (|G P| + eps) / (|G| + |P| - |G P| + eps)``, ``eps = 1e-15``
    (MS-TFAL's ``general_dice`` / ``general_jaccard``).

    Args:
        gt (np.ndarray): (H, W) non-negative class ids.
        pred (np.ndarray): (H, W) non-negative class ids.
        background (int): Class left out.

    Returns:
        dict: ``classes`` (ascending), ``dice`` and ``iou`` (float64), one
        entry per present class (empty for a background-only frame).
    """
    if gt.shape != pred.shape:
        raise ValueError(f'prediction size {pred.shape} differs from the '
                         f'ground truth {gt.shape}')
    if gt.size and min(gt.min(), pred.min()) < 0:
        raise ValueError('class ids must be >= 0')
    num = int(max(gt.max(initial=0), pred.max(initial=0))) + 1
    hist = np.bincount((gt * num + pred).ravel(),
                       minlength=num * num).reshape(num, num)
    gt_area, pred_area, inter = hist.sum(1), hist.sum(0), np.diag(hist)
    classes = np.flatnonzero(gt_area)
    classes = classes[classes != background]
    g, p, i = (gt_area[classes].astype(np.float64),
               pred_area[classes].astype(np.float64),
               inter[classes].astype(np.float64))
    return dict(classes=classes, dice=(2 * i + EPS) / (g + p + EPS),
                iou=(i + EPS) / (g + p - i + EPS))


@METRICS.register_module()
class EndoVisMetric(BaseVideoMetric):
    """Present-class Dice and IoU per frame, averaged over frames.

    MS-TFAL's evaluation (``utils/EndoMetric.py``, ``test.py``
    ``val_map_endo``): for every frame, the Dice and IoU of each class
    present in the ground truth except 0 (background-tissue); the frame's
    score is their mean; ``Dice`` / ``IoU`` are the means over all frames.
    Per sequence: the mean over its frames (``Dice/<video>``); per class:
    the mean over the frames where the class is present
    (``Dice/<class name>``; classes never present are left out). Values
    are in [0, 1].

    A frame whose ground truth is only background has no score: MS-TFAL
    takes the mean of an empty list (NaN), which makes the overall mean and
    its sequence's mean NaN. ``empty_frames='skip'`` (default) leaves such
    frames out of every mean and reports their number in the log;
    ``'nan'`` reproduces MS-TFAL (NaN results).

    Every data sample is one frame: metainfo ``video_id`` and ``frame_id``,
    ``pred_sem_seg`` and ``gt_sem_seg`` (1, H, W) class ids at the same
    (original) size. MS-TFAL upsamples the logits bilinearly with
    ``align_corners=True`` to 1024x1280 before the argmax; the segmentor's
    post-processing decides how ``pred_sem_seg`` was made.

    Args:
        empty_frames (str): ``'skip'`` or ``'nan'``.
        background (int): Class id left out of the scores.
        collect_device (str): Accepted for config compatibility (see
            :class:`BaseVideoMetric`).
        prefix (str, optional): Prefix of the metric names.
        collect_dir (str, optional): Accepted for config compatibility.
    """

    def __init__(self,
                 empty_frames: str = 'skip',
                 background: int = 0,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        if empty_frames not in ('skip', 'nan'):
            raise ValueError("empty_frames must be 'skip' or 'nan', got "
                             f'{empty_frames!r}')
        self.empty_frames = empty_frames
        self.background = background

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Score the present classes of every frame of the batch.

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
            gt = id_map(sample['gt_sem_seg'], 'gt_sem_seg')
            pred = id_map(sample['pred_sem_seg'], 'pred_sem_seg')
            if pred.shape != gt.shape:
                raise ValueError(
                    f'video {video!r} frame {frame}: prediction size '
                    f'{pred.shape} differs from the ground truth {gt.shape}')
            scores = present_class_scores(gt, pred, self.background)
            self.results.append(dict(video_id=video, frame_id=frame,
                                     **scores))

    def _class_name(self, cls: int) -> str:
        classes = (self.dataset_meta or {}).get('classes')
        if classes is not None and 0 <= cls < len(classes):
            return str(classes[cls])
        return f'class_{cls}'

    def scores(self, videos: Dict[Any, List[dict]]) -> Dict[str, Any]:
        """Overall, per-sequence and per-class scores.

        Args:
            videos (dict): ``video_id`` -> frame results in frame order.

        Returns:
            dict: ``Dice``, ``IoU``, ``frames`` (scored), ``empty_frames``,
            ``per_sequence`` (video -> ``Dice``, ``IoU``, ``frames``) and
            ``per_class`` (name -> ``Dice``, ``IoU``, ``frames``).
        """
        nan = self.empty_frames == 'nan'
        frame_dice, frame_iou, per_sequence = [], [], {}
        class_sum: Dict[int, np.ndarray] = {}
        empty = 0
        for video, frames in videos.items():
            dice, iou = [], []
            for res in frames:
                classes = np.asarray(res['classes'], np.int64)
                if not classes.size:
                    empty += 1
                    if nan:
                        dice.append(np.nan)
                        iou.append(np.nan)
                    continue
                dice.append(float(np.mean(res['dice'])))
                iou.append(float(np.mean(res['iou'])))
                for c, d, j in zip(classes, res['dice'], res['iou']):
                    acc = class_sum.setdefault(int(c), np.zeros(3))
                    acc += (d, j, 1)
            per_sequence[str(video)] = dict(
                Dice=float(np.mean(dice)) if dice else float('nan'),
                IoU=float(np.mean(iou)) if iou else float('nan'),
                frames=len(dice))
            frame_dice += dice
            frame_iou += iou
        per_class = {
            self._class_name(c): dict(Dice=float(s[0] / s[2]),
                                      IoU=float(s[1] / s[2]),
                                      frames=int(s[2]))
            for c, s in sorted(class_sum.items())
        }
        return dict(
            Dice=float(np.mean(frame_dice)) if frame_dice else float('nan'),
            IoU=float(np.mean(frame_iou)) if frame_iou else float('nan'),
            frames=len(frame_dice), empty_frames=empty,
            per_sequence=per_sequence, per_class=per_class)

    def compute_video_metrics(
            self, videos: Dict[Any, List[dict]]) -> Dict[str, float]:
        """Overall, per-sequence and per-class Dice / IoU.

        Args:
            videos (dict): ``video_id`` -> the results :meth:`process`
                stored, in frame order (see :class:`BaseVideoMetric`).

        Returns:
            dict[str, float]: ``Dice``, ``IoU``, ``Dice/<video>``,
            ``IoU/<video>``, ``Dice/<class>``, ``IoU/<class>``.
        """
        s = self.scores(videos)
        lines = [f"EndoVis: Dice {s['Dice']:.4f} IoU {s['IoU']:.4f} over "
                 f"{s['frames']} frames ({s['empty_frames']} background-only "
                 f'frames, empty_frames={self.empty_frames!r})']
        out = dict(Dice=s['Dice'], IoU=s['IoU'])
        for group in ('per_sequence', 'per_class'):
            for name, row in s[group].items():
                lines.append(f"  {name}: Dice {row['Dice']:.4f} IoU "
                             f"{row['IoU']:.4f} ({row['frames']} frames)")
                out[f'Dice/{name}'] = row['Dice']
                out[f'IoU/{name}'] = row['IoU']
        print_log('\n'.join(lines), logger='current')
        return out
