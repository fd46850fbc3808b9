"""Video polyp segmentation (SUN-SEG) metric of the VPS toolbox."""
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log

from mmvidseg.evaluation.functional.vps_measures import (VPS_KEYS,
                                                         aggregate_cases,
                                                         case_measures,
                                                         frame_measures,
                                                         summarize)
from mmvidseg.registry import METRICS
from mmvidseg.utils.io import atomic_imwrite

from .base_video_metric import BaseVideoMetric


def _field(sample: dict, key: str) -> np.ndarray:
    """(C, H, W) array of ``{'data': tensor}`` (or a PixelData/array)."""
    field = sample[key]
    data = field['data'] if isinstance(field, dict) else getattr(
        field, 'data', field)
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu()
        if data.dtype in (torch.float16, torch.bfloat16):
            data = data.float()
        data = data.numpy()
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise ValueError(f'{key} must be a (C, H, W) map, got shape '
                         f'{data.shape}')
    return data


def probability_map(logits: np.ndarray) -> np.ndarray:
    """The float map of SALI's test script, from logits.

    ``sigmoid`` of a (1, H, W) logit map, or ``softmax[1]`` of a (2, H, W)
    one, in float32, then min-max ``(p - min) / (max - min + 1e-8)`` per
    frame. The script saves ``uint8(p * 255)`` (truncation).

    Args:
        logits (np.ndarray): (1, H, W) or (2, H, W) logits.

    Returns:
        np.ndarray: (H, W) float32 in [0, 1].
    """
    logits = torch.from_numpy(np.ascontiguousarray(logits, np.float32))
    if logits.shape[0] == 1:
        prob = logits[0].sigmoid()
    elif logits.shape[0] == 2:
        prob = logits.softmax(dim=0)[1]
    else:
        raise ValueError('seg_logits must have 1 (binary) or 2 channels, '
                         f'got {logits.shape[0]}')
    prob = prob.numpy()
    return (prob - prob.min()) / (prob.max() - prob.min() + 1e-8)


def grey_gt(gt: np.ndarray) -> np.ndarray:
    """Ground truth as the toolbox reads it: {0, 1} ids become {0, 255}.

    Any map whose maximum is above 1 is taken as a grey mask (foreground
    ``> 128``: {0, 255} PNGs, anti-aliased ones too) and kept as it is.
    """
    if gt.max(initial=0) <= 1:
        return (gt > 0).astype(np.uint8) * 255
    return gt


@METRICS.register_module()
class VPSMetric(BaseVideoMetric):
    """S / E / weighted F / F / MAE / Sen / Spe / Dice / IoU of the VPS
    (SUN-SEG) toolbox, as SALI and PNS+ report them.

    Every data sample is one frame: metainfo ``video_id`` (the case) and
    ``frame_id``, ``seg_logits`` (a (1, H, W) binary logit map, or (2, H, W)
    two-class logits, at the original image size) and ``gt_sem_seg``
    ((1, H, W): {0, 1} class ids, or a grey mask whose foreground is > 128,
    such as the 0/255 SUN-SEG PNGs). A ready grey probability map
    ``pred_map`` ((1, H, W), 0..255, e.g. a saved PNG) is used as it is
    instead of ``seg_logits`` when present. :meth:`process` turns the logits
    into the map SALI's test script saves (:func:`probability_map`, then
    ``uint8(p * 255)``) and keeps the per-frame measures (12 KB a frame,
    float64 curves); :meth:`compute_metrics` scores each
    case as the toolbox does (frames by ``frame_id``, first and last dropped,
    averaged per case, then over cases; see
    :mod:`~mmvidseg.evaluation.functional.vps_measures`) and returns
    :data:`VPS_KEYS`, unrounded. The toolbox would give NaN for a case of
    fewer than 3 frames; such cases are skipped with a warning and counted in
    the log line (:meth:`case_scores` lists them).

    Args:
        quantize (bool): Score ``uint8`` maps, as writing PNGs and scoring
            them does (default); False scores the float maps.
        out_dir (str, optional): Also write each map as
            ``out_dir/<video_id>/<stem of img_path>.png`` (the benchmark's
            layout), atomically.
        collect_device (str): Accepted for config compatibility (see
            :class:`BaseVideoMetric`).
        prefix (str, optional): Prefix of the metric names.
        collect_dir (str, optional): Accepted for config compatibility.
    """

    def __init__(self,
                 quantize: bool = True,
                 out_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        self.quantize = quantize
        self.out_dir = out_dir

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep the measures of every frame of the batch.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): One dict (or
                :class:`SegDataSample`) per frame.
        """
        for sample in data_samples:
            pred_key = 'pred_map' if 'pred_map' in sample else 'seg_logits'
            sample = next(self.frame_samples(
                [sample], ('video_id', 'frame_id', pred_key, 'gt_sem_seg'),
                'metainfo video_id/frame_id, seg_logits at the original '
                'size and gt_sem_seg'))
            video, frame = sample['video_id'], int(sample['frame_id'])
            where = f'video {video!r} frame {frame}'
            gt = grey_gt(_field(sample, 'gt_sem_seg')[0])
            if pred_key == 'pred_map':
                pred = _field(sample, 'pred_map')[0]
                png = np.clip(pred, 0, 255).astype(np.uint8)
            else:
                prob = probability_map(_field(sample, 'seg_logits'))
                png = (prob * 255).astype(np.uint8)
                pred = png if self.quantize else prob.astype(np.float64) * 255
            if pred.shape != gt.shape:
                raise ValueError(f'{where}: prediction size {pred.shape} '
                                 f'differs from the ground truth {gt.shape}')
            if self.out_dir is not None:
                self.write_map(sample, video, png, where)
            res = frame_measures(pred, gt)
            res.update(video_id=video, frame_id=frame)
            self.results.append(res)

    def write_map(self, sample: dict, video: Any, png: np.ndarray,
                  where: str) -> None:
        """Write a frame's (H, W) uint8 map as ``out_dir/<video>/<stem>.png``.
        """
        if 'img_path' not in sample:
            raise KeyError(f'{where}: out_dir needs img_path in the '
                           'metainfo to name the PNG')
        stem = osp.splitext(osp.basename(sample['img_path']))[0]
        atomic_imwrite(osp.join(self.out_dir, str(video), stem + '.png'),
                       png)

    def _cases(self, videos: Dict[Any, List[dict]]
               ) -> Tuple[Dict[str, dict], List[str]]:
        """Case measures of the videos with 3 frames or more; the others."""
        cases, skipped = {}, []
        for video, frames in videos.items():
            if len(frames) < 3:
                skipped.append(str(video))
                print_log(
                    f'VPSMetric: case {video!r} has {len(frames)} frame(s); '
                    'the first and the last are not scored, so it is '
                    'skipped (the toolbox would give NaN)',
                    logger='current', level=logging.WARNING)
                continue
            cases[str(video)] = case_measures(frames)
        return cases, skipped

    def case_scores(self, results: List[dict]) -> Dict[str, Any]:
        """Per-case measures and the skipped cases.

        Args:
            results (list[dict]): What :meth:`process` stored, any order.

        Returns:
            dict: ``per_case`` (case -> :data:`VPS_KEYS`, cases sorted) and
            ``skipped_cases`` (cases of fewer than 3 frames).
        """
        cases, skipped = self._cases(self.group_videos(results))
        return dict(per_case={c: summarize(m) for c, m in cases.items()},
                    skipped_cases=skipped)

    def compute_video_metrics(
            self, videos: Dict[Any, List[dict]]) -> Dict[str, float]:
        """The toolbox's overall measures.

        Args:
            videos (dict): ``video_id`` -> the results :meth:`process`
                stored, in frame order (see :class:`BaseVideoMetric`).

        Returns:
            dict[str, float]: :data:`VPS_KEYS`.

        Raises:
            ValueError: No case has 3 frames or more.
        """
        cases, skipped = self._cases(videos)
        if not cases:
            raise ValueError(
                f'VPSMetric: none of the {len(videos)} case(s) has the 3 '
                'frames needed (first and last are not scored)')
        table = aggregate_cases(cases)
        print_log(
            f'VPS ({len(cases)} cases, {len(skipped)} skipped): ' +
            ', '.join(f'{k} {table[k]:.4f}' for k in VPS_KEYS),
            logger='current')
        return table
