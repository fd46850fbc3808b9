"""VPS (SUN-SEG) results on disk for :class:`VPSMetric`
(``score_folder.py vps``)."""
import os
import os.path as osp
from typing import Any, Dict, List

import cv2
import numpy as np

from mmvidseg.evaluation.functional.vps_measures import natural_key
from mmvidseg.evaluation.metrics import VPSMetric

from .base_folder_reader import BaseFolderReader, register_folder_reader


def read_grey(path: str, what: str) -> np.ndarray:
    """(H, W) uint8 of an image read as the toolbox does (OpenCV grey).

    Raises:
        ValueError: The file cannot be decoded.
    """
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ValueError(f'{what} {path} cannot be read as an image')
    return img


@register_folder_reader('vps')
class VPSFolderReader(BaseFolderReader):
    """VPS benchmark / SUN-SEG results scored as the PNS+ toolbox does.

    Ground truth: ``<gt_dir>/<case>/*.png`` masks (0/255, foreground > 128).
    Predictions: ``<pred_dir>/<case>/<same name>.png`` grey probability maps
    of any size, read in grey with OpenCV and resized to the mask size with
    ``cv2.resize`` (bilinear), as the toolbox does. The cases are the
    sub-folders of ``gt_dir`` and the frames its PNGs, both in natural order;
    extra prediction files are ignored, as in the toolbox. Every ground-truth
    frame needs its prediction, first and last included (read but not
    scored): the toolbox only asserts, without a message, for the scored
    frames. Prints Smeasure, meanEm, maxEm, wFmeasure, meanFm, maxFm, MAE,
    meanSen, maxSen, meanSpe, maxSpe, meanDice, maxDice, meanIoU, maxIoU
    (unrounded; the toolbox prints 3 decimals) and the same per case.

    Args:
        gt_dir (str): Folder of case folders of ground-truth masks, e.g.
            ``SUN-SEG/TestEasyDataset/Seen/GT``.
        pred_dir (str): Folder of case folders of predicted maps.
    """

    def list_videos(self) -> Dict[str, List[str]]:
        """Cases and their ground-truth frames, checked on both sides.

        Returns:
            dict[str, list[str]]: Case -> PNG names in natural order.

        Raises:
            FileNotFoundError: No case, a case without PNGs, or a missing
                prediction folder or frame (named).
        """
        cases = sorted((d for d in os.listdir(self.gt_dir)
                        if osp.isdir(osp.join(self.gt_dir, d))),
                       key=natural_key)
        if not cases:
            raise FileNotFoundError(
                f'no case folders in the ground-truth folder {self.gt_dir}')
        videos = {}
        for case in cases:
            gt_case = osp.join(self.gt_dir, case)
            pred_case = osp.join(self.pred_dir, case)
            frames = sorted((f for f in os.listdir(gt_case)
                             if f.endswith('.png')), key=natural_key)
            if not frames:
                raise FileNotFoundError(
                    f'case {case!r}: no ground-truth PNG in {gt_case}')
            if not osp.isdir(pred_case):
                raise FileNotFoundError(
                    f'case {case!r}: prediction folder {pred_case} not found')
            preds = set(os.listdir(pred_case))
            missing = [f for f in frames if f not in preds]
            if missing:
                raise FileNotFoundError(
                    f'case {case!r}: {len(missing)} frame(s) without a '
                    f'prediction, first {osp.join(pred_case, missing[0])}')
            videos[case] = frames
        return videos

    def build_metric(self) -> VPSMetric:
        """:class:`VPSMetric` on uint8 maps."""
        return VPSMetric()

    def load_frame(self, video: str, frame_id: int, frame: str) -> dict:
        """Ground truth and prediction map of one frame.

        Returns:
            dict: ``video_id``, ``frame_id``, ``img_path`` (the prediction),
            ``gt_sem_seg`` and ``pred_map`` (``{'data': (1, H, W) uint8}``,
            the prediction at the mask size).
        """
        gt_path = osp.join(self.gt_dir, video, frame)
        pred_path = osp.join(self.pred_dir, video, frame)
        gt = read_grey(gt_path, 'ground truth')
        pred = read_grey(pred_path, 'prediction')
        if pred.shape != gt.shape:
            pred = cv2.resize(pred, (gt.shape[1], gt.shape[0]))
        return dict(video_id=video, frame_id=frame_id, img_path=pred_path,
                    gt_sem_seg=dict(data=gt[None]),
                    pred_map=dict(data=pred[None]))

    def details(self, metric: VPSMetric,
                results: List[dict]) -> Dict[str, Any]:
        """``per_case`` (case -> measures) and ``skipped_cases``."""
        return metric.case_scores(results)
