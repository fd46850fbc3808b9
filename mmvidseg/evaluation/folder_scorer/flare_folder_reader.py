"""FLARE22 label volumes on disk for :class:`VolumeDSCNSDMetric`
(``score_folder.py flare``)."""
import argparse
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from mmvidseg.datasets.flare22_meta import FLARE22_CLASSES, FLARE22_SHORT_NAMES
from mmvidseg.evaluation.functional.flare_measures import resolve_tolerances
from mmvidseg.evaluation.metrics import VolumeDSCNSDMetric

from .base_folder_reader import BaseFolderReader, register_folder_reader

NIFTI_EXT = '.nii.gz'


def _nib_load(path: str, what: str):
    import nibabel as nib
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path} not found')
    try:
        return nib.load(path)
    except Exception as e:  # ImageFileError, gzip errors, ...
        raise OSError(f'cannot read {what} {path} as NIfTI: {e}') from e


def read_label_volume(path: str, what: str) -> np.ndarray:
    """The label ids of a NIfTI volume as uint8, raw array axes.

    The official scorer takes ``np.uint8(img.get_fdata())``; values that
    are not integers in 0..255 (which that cast would silently change) are
    an error here.

    Raises:
        FileNotFoundError: No such file.
        OSError: nibabel cannot read it.
        ValueError: Not 3D, or ids that are not integers in 0..255.
    """
    img = _nib_load(path, what)
    try:
        data = np.asanyarray(img.dataobj)
    except Exception as e:
        raise OSError(f'cannot read the data of {what} {path}: {e}') from e
    if data.ndim != 3:
        raise ValueError(f'{what} {path} is not a 3D volume (shape '
                         f'{data.shape})')
    if data.size and (data.min() < 0 or data.max() > 255 or (
            data.dtype.kind == 'f' and not np.all(data == np.round(data)))):
        raise ValueError(f'{what} {path} holds values that are not label '
                         'ids in 0..255')
    return data.astype(np.uint8)


@register_folder_reader('flare')
class FLAREFolderReader(BaseFolderReader):
    """FLARE22 label volumes scored as the official DSC / NSD scorer.

    Ground truth ``<gt_dir>/<case>.nii.gz`` and prediction
    ``<pred_dir>/<case>.nii.gz`` label volumes (FLARE22 ids 1..13), the
    prediction on the ground truth's grid (same shape and affine). Every
    ground-truth case needs its prediction; extra predictions are ignored.
    The spacing is the ground truth's header zooms and the slices are
    along raw array axis 2, as in ``FLARE22_DSC_NSD_Eval.py``. Reports
    ``mDSC`` / ``mNSD`` and the per-organ means, and per case every
    organ's DSC and NSD (full precision unless ``--official-rounding``).

    Args:
        gt_dir (str): Folder of ground-truth volumes.
        pred_dir (str): Folder of predicted volumes.
        tolerance (str | float): ``'flare22'`` (official per-organ
            tolerances) or one tolerance in mm.
        official_rules (bool): The official z-crop and DSC < 0.2 rules;
            False: the method's ``DSC_NSD_eval.py`` rules.
        official_rounding (bool): Round the case values to 4 decimals, as
            the official CSV, before the means.
    """

    def __init__(self,
                 gt_dir: str,
                 pred_dir: str,
                 tolerance: Union[str, float] = 'flare22',
                 official_rules: bool = True,
                 official_rounding: bool = False) -> None:
        super().__init__(gt_dir, pred_dir)
        resolve_tolerances(tolerance)
        self.tolerance = tolerance
        self.official_rules = bool(official_rules)
        self.official_rounding = bool(official_rounding)
        self._loaded: Optional[Tuple[str, np.ndarray, np.ndarray,
                                     Tuple[float, ...]]] = None

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """``--tolerance``, ``--rules``, ``--official-rounding``."""
        parser.add_argument(
            '--tolerance', default='flare22',
            help="'flare22' (official per-organ tolerances, default) or one "
            'tolerance in mm (the method used 1)')
        parser.add_argument(
            '--rules', choices=('official', 'ivos'), default='official',
            help='official: FLARE22 z-crop of aorta/IVC/esophagus and NSD 0 '
            'when DSC < 0.2; ivos: the method\'s DSC_NSD_eval.py (neither)')
        parser.add_argument(
            '--official-rounding', action='store_true',
            help='round case values to 4 decimals (official CSV) before '
            'the means')

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> 'FLAREFolderReader':
        """Build from the parsed command line."""
        tolerance = args.tolerance
        if tolerance.lower() != 'flare22':
            try:
                tolerance = float(tolerance)
            except ValueError:
                raise ValueError("--tolerance must be 'flare22' or a number "
                                 f'of mm, got {args.tolerance!r}')
        return cls(args.gt, args.pred, tolerance=tolerance,
                   official_rules=args.rules == 'official',
                   official_rounding=args.official_rounding)

    @property
    def options(self) -> Dict[str, Any]:
        """Settings written into the report."""
        return dict(tolerance=self.tolerance,
                    rules='official' if self.official_rules else 'ivos',
                    official_rounding=self.official_rounding)

    def _paths(self, case: str) -> Tuple[str, str]:
        return (osp.join(self.gt_dir, case + NIFTI_EXT),
                osp.join(self.pred_dir, case + NIFTI_EXT))

    def list_videos(self) -> Dict[str, List[str]]:
        """Cases (slice indices as frames), headers checked on both sides.

        Raises:
            FileNotFoundError: No case, or a case without a prediction.
            ValueError: A prediction's shape or affine differs from its
                ground truth's.
        """
        cases = sorted(f[:-len(NIFTI_EXT)] for f in os.listdir(self.gt_dir)
                       if f.endswith(NIFTI_EXT))
        if not cases:
            raise FileNotFoundError(
                f'no {NIFTI_EXT} volume in the ground-truth folder '
                f'{self.gt_dir}')
        videos = {}
        for case in cases:
            gt_path, pred_path = self._paths(case)
            if not osp.isfile(pred_path):
                raise FileNotFoundError(
                    f'case {case!r}: prediction {pred_path} not found')
            gt, pred = (_nib_load(gt_path, 'ground truth'),
                        _nib_load(pred_path, 'prediction'))
            if gt.shape != pred.shape:
                raise ValueError(
                    f'case {case!r}: prediction {pred_path} has shape '
                    f'{pred.shape}, the ground truth {gt.shape}')
            if not np.allclose(gt.affine, pred.affine, rtol=0, atol=1e-4):
                raise ValueError(
                    f'case {case!r}: the affine of prediction {pred_path} '
                    f'differs from the ground truth\'s:\n{pred.affine}\nvs\n'
                    f'{gt.affine}')
            if len(gt.shape) != 3:
                raise ValueError(f'case {case!r}: ground truth {gt_path} is '
                                 f'not 3D (shape {gt.shape})')
            videos[case] = [str(k) for k in range(gt.shape[2])]
        return videos

    def build_metric(self) -> VolumeDSCNSDMetric:
        """:class:`VolumeDSCNSDMetric` with the reader's options."""
        metric = VolumeDSCNSDMetric(
            tolerance=self.tolerance, official_rules=self.official_rules,
            round_decimals=4 if self.official_rounding else None)
        metric.dataset_meta = dict(classes=FLARE22_CLASSES)
        return metric

    def _case(self, case: str) -> Tuple[np.ndarray, np.ndarray, tuple]:
        if self._loaded is None or self._loaded[0] != case:
            gt_path, pred_path = self._paths(case)
            gt = read_label_volume(gt_path, 'ground truth')
            pred = read_label_volume(pred_path, 'prediction')
            if pred.shape != gt.shape:
                raise ValueError(f'case {case!r}: prediction shape '
                                 f'{pred.shape} differs from {gt.shape}')
            zooms = _nib_load(gt_path, 'ground truth').header.get_zooms()
            self._loaded = (case, gt, pred, tuple(float(z)
                                                  for z in zooms[:3]))
        return self._loaded[1:]

    def load_frame(self, video: str, frame_id: int, frame: str) -> dict:
        """Slice ``frame_id`` (raw axis 2) of both volumes as a sample."""
        gt, pred, spacing = self._case(video)
        return dict(video_id=video, frame_id=frame_id,
                    num_slices=gt.shape[2], volume_spacing=spacing,
                    slice_axis=2,
                    gt_sem_seg=dict(data=gt[None, :, :, frame_id]),
                    pred_sem_seg=dict(data=pred[None, :, :, frame_id]))

    def details(self, metric: VolumeDSCNSDMetric,
                results: List[dict]) -> Dict[str, Any]:
        """``per_case``: case -> organ -> ``DSC`` / ``NSD`` (and the case
        means ``mDSC`` / ``mNSD``)."""
        per_case = {}
        for case, s in metric.case_scores(
                metric.group_videos(results)).items():
            row: Dict[str, Any] = dict(mDSC=float(s['dsc'].mean()),
                                       mNSD=float(s['nsd'].mean()))
            for j, name in enumerate(FLARE22_SHORT_NAMES):
                row[name] = dict(DSC=float(s['dsc'][j]),
                                 NSD=float(s['nsd'][j]))
            per_case[case] = row
        return dict(per_case=per_case)
