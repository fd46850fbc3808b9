"""FLARE22 DSC / NSD per case and organ, from the slices of volumes."""
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import print_log

from mmvidseg.datasets.flare22_meta import FLARE22_CLASSES, FLARE22_SHORT_NAMES
from mmvidseg.evaluation.functional.flare_measures import (flare_case_scores,
                                                           resolve_tolerances,
                                                           round_official)
from mmvidseg.registry import METRICS
from mmvidseg.utils.io import atomic_write_bytes

from .base_video_metric import BaseVideoMetric, id_map

#: ``frame_id`` of a stored whole-case result (slices are 0..S-1)
CASE_FRAME_ID = -1


def sample_spacing(sample: dict) -> Tuple[float, float, float]:
    """Voxel size (mm) along (H, W, slice) of the stacked volume.

    From ``volume_spacing`` (3D, canonical axes; set by
    :class:`LoadVolumeSlices`) or a 3-element ``spacing`` (the volume
    dataset's), reordered with ``slice_axis`` (default 2) last; else a
    2-element in-plane ``spacing`` with ``slice_spacing``.

    Raises:
        KeyError: None of these is in the sample; the message names them.
    """
    axis = int(sample.get('slice_axis', 2))
    spacing = sample.get('volume_spacing')
    if spacing is None and sample.get('spacing') is not None \
            and len(sample['spacing']) == 3:
        spacing = sample['spacing']
    if spacing is not None:
        inplane = [a for a in range(3) if a != axis]
        return (float(spacing[inplane[0]]), float(spacing[inplane[1]]),
                float(spacing[axis]))
    if sample.get('spacing') is not None and 'slice_spacing' in sample:
        return (*map(float, sample['spacing']), float(sample['slice_spacing']))
    raise KeyError('VolumeDSCNSDMetric needs the voxel spacing in every data '
                   "sample: 'volume_spacing' (add it to PackVideoSegInputs' "
                   "meta_keys), a 3D 'spacing', or 'spacing' with "
                   "'slice_spacing'")


def _uint8_ids(field: Any, name: str) -> np.ndarray:
    ids = id_map(field, name)
    if ids.size and (ids.min() < 0 or ids.max() > 255):
        raise ValueError(f'{name} holds ids outside 0..255')
    return ids.astype(np.uint8)


@METRICS.register_module()
class VolumeDSCNSDMetric(BaseVideoMetric):
    """Per-case, per-organ DSC and NSD of FLARE22 (official scorer's rules).

    Every data sample is one slice of a volume (a video whose frames are
    slices, e.g. from :class:`NiftiVolumeDataset` with
    ``VideoSequentialSampler``): metainfo ``video_id`` (case), ``frame_id``
    (slice index), ``num_slices``, the spacing (see
    :func:`sample_spacing`: ``volume_spacing`` and ``slice_axis``, which
    ``PackVideoSegInputs`` must keep in ``meta_keys``), and ``pred_sem_seg``
    / ``gt_sem_seg`` (1, H, W) class ids at the slice's original size. The
    slices of a case are stacked to (H, W, S), slice axis last (the
    canonical volume for ``slice_axis=2``), and scored with
    :func:`flare_case_scores` as soon as all ``num_slices`` slices arrived
    on a rank; slices of cases incomplete on a rank are gathered and
    stacked at :meth:`evaluate` (a case split over ranks still works).

    Results: ``mDSC`` / ``mNSD`` (mean over cases of the mean over the
    organs, = the mean of all case-organ values) and per organ
    ``DSC_<class>`` / ``NSD_<class>`` (mean over cases), in [0, 1]. With
    ``output_dir``, ``flare_dsc_nsd.csv`` (one row per case, columns as the
    official CSV: ``Name, Liver_DSC, .., LK_DSC, Liver_NSD, .., LK_NSD``)
    and ``flare_dsc_nsd.json`` (per case and the means) are written
    atomically.

    Args:
        tolerance (str | float | Sequence[float]): ``'flare22'`` (official
            per-organ tolerances), one tolerance in mm (the method's script
            used 1.0) or one per organ.
        official_rules (bool): z-crop of Aorta / IVC / Esophagus to the
            ground truth's slice range and NSD = 0 when DSC < 0.2 (official
            scorer); False: the method's ``DSC_NSD_eval.py`` (neither).
        num_classes (int): Classes including background (organs
            1..num_classes - 1).
        round_decimals (int, optional): Round every case value to this many
            decimals before the means and in the files (4: the official
            CSV, :func:`round_official`); None keeps full precision.
        output_dir (str, optional): Folder of the per-case files.
        collect_device (str): Accepted for config compatibility.
        prefix (str, optional): Prefix of the metric names.
        collect_dir (str, optional): Accepted for config compatibility.
    """

    def __init__(self,
                 tolerance: Union[str, float, Sequence[float]] = 'flare22',
                 official_rules: bool = True,
                 num_classes: int = 14,
                 round_decimals: Optional[int] = None,
                 output_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        if num_classes < 2:
            raise ValueError(f'num_classes must be >= 2, got {num_classes}')
        resolve_tolerances(tolerance, num_classes - 1)  # validate early
        if round_decimals is not None and round_decimals != 4:
            raise ValueError('round_decimals must be None or 4 (the '
                             f'official CSV), got {round_decimals!r}')
        if not isinstance(tolerance, (str, int, float)):
            tolerance = [float(t) for t in tolerance]
        self.tolerance = tolerance
        self.official_rules = official_rules
        self.num_classes = num_classes
        self.round_decimals = round_decimals
        self.output_dir = output_dir
        self._pending: Dict[Any, dict] = {}

    # -- collecting slices -------------------------------------------------
    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Buffer the slices; score every case whose slices are complete.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): One dict (or
                :class:`SegDataSample`) per slice.
        """
        for sample in self.frame_samples(
                data_samples, ('video_id', 'frame_id', 'num_slices',
                               'pred_sem_seg', 'gt_sem_seg'),
                'metainfo video_id/frame_id/num_slices from a volume '
                'dataset, gt_sem_seg at the original size'):
            video, frame = sample['video_id'], int(sample['frame_id'])
            gt = _uint8_ids(sample['gt_sem_seg'], 'gt_sem_seg')
            pred = _uint8_ids(sample['pred_sem_seg'], 'pred_sem_seg')
            if pred.shape != gt.shape:
                raise ValueError(
                    f'case {video!r} slice {frame}: prediction size '
                    f'{pred.shape} differs from the ground truth {gt.shape}')
            case = self._pending.setdefault(
                video, dict(num_slices=int(sample['num_slices']),
                            spacing=sample_spacing(sample), slices={}))
            case['slices'][frame] = (gt, pred)
            if len(case['slices']) == case['num_slices'] and set(
                    case['slices']) == set(range(case['num_slices'])):
                del self._pending[video]
                self.results.append(self._score_case(
                    video, case['slices'], case['spacing']))

    def flush_pending(self) -> None:
        """Move the slices of cases still incomplete on this rank into the
        results (stacked with the other ranks' slices when computing)."""
        for video, case in self._pending.items():
            for frame, (gt, pred) in case['slices'].items():
                self.results.append(
                    dict(video_id=video, frame_id=frame, gt=gt, pred=pred,
                         num_slices=case['num_slices'],
                         spacing=case['spacing']))
        self._pending = {}

    def evaluate(self, size: Optional[int] = None) -> dict:
        """:meth:`flush_pending`, then gather and compute (see
        :class:`BaseVideoMetric`)."""
        self.flush_pending()
        return super().evaluate(size)

    def _score_case(self, video: Any, slices: Dict[int, tuple],
                    spacing: Sequence[float]) -> dict:
        order = sorted(slices)
        gt = np.stack([slices[k][0] for k in order], axis=-1)
        pred = np.stack([slices[k][1] for k in order], axis=-1)
        scores = flare_case_scores(gt, pred, spacing, self.tolerance,
                                   z_axis=2,
                                   official_rules=self.official_rules,
                                   num_classes=self.num_classes)
        return dict(video_id=video, frame_id=CASE_FRAME_ID,
                    spacing=tuple(spacing), **scores)

    # -- computing ---------------------------------------------------------
    def case_scores(self, videos: Dict[Any, List[dict]]) -> Dict[str, dict]:
        """``dsc`` / ``nsd`` (organs,) of every case, by case name."""
        out = {}
        for video, entries in videos.items():
            if entries[0]['frame_id'] == CASE_FRAME_ID:
                res = entries[0]
            else:
                num = int(entries[0]['num_slices'])
                ids = [int(e['frame_id']) for e in entries]
                missing = sorted(set(range(num)) - set(ids))
                if missing or len(ids) != num:
                    raise ValueError(
                        f'case {video!r}: {num} slices expected, got '
                        f'{len(ids)}; missing slices {missing[:10]}')
                res = self._score_case(
                    video, {e['frame_id']: (e['gt'], e['pred'])
                            for e in entries}, entries[0]['spacing'])
            dsc, nsd = np.asarray(res['dsc']), np.asarray(res['nsd'])
            if self.round_decimals is not None:
                dsc, nsd = round_official(dsc), round_official(nsd)
            out[str(video)] = dict(dsc=dsc, nsd=nsd)
        return out

    def class_names(self) -> List[str]:
        """Organ names (ids 1..num_classes - 1) for the result keys."""
        classes = (self.dataset_meta or {}).get('classes')
        if classes is None and self.num_classes == len(FLARE22_CLASSES):
            classes = FLARE22_CLASSES
        if classes is not None and len(classes) == self.num_classes:
            return [str(c) for c in classes[1:]]
        return [f'class_{i}' for i in range(1, self.num_classes)]

    def compute_video_metrics(
            self, videos: Dict[Any, List[dict]]) -> Dict[str, float]:
        """Means over cases of the per-case, per-organ DSC / NSD.

        Args:
            videos (dict): ``video_id`` -> stored results, in frame order.

        Returns:
            dict[str, float]: ``mDSC``, ``mNSD``, ``DSC_<organ>``,
            ``NSD_<organ>``.
        """
        cases = self.case_scores(videos)
        if not cases:
            raise ValueError('VolumeDSCNSDMetric got no case to score')
        dsc = np.stack([c['dsc'] for c in cases.values()])
        nsd = np.stack([c['nsd'] for c in cases.values()])
        out = dict(mDSC=float(dsc.mean()), mNSD=float(nsd.mean()))
        names = self.class_names()
        for j, name in enumerate(names):
            out[f'DSC_{name}'] = float(dsc[:, j].mean())
        for j, name in enumerate(names):
            out[f'NSD_{name}'] = float(nsd[:, j].mean())
        print_log(
            f"FLARE22 DSC/NSD over {len(cases)} cases (tolerance "
            f'{self.tolerance!r}, official_rules={self.official_rules}): '
            f"mDSC {out['mDSC']:.4f} mNSD {out['mNSD']:.4f}\n" + '\n'.join(
                f"  {n}: DSC {out[f'DSC_{n}']:.4f} NSD "
                f"{out[f'NSD_{n}']:.4f}" for n in names),
            logger='current')
        if self.output_dir is not None:
            self.write_files(cases, out)
        return out

    def write_files(self, cases: Dict[str, dict],
                    means: Dict[str, float]) -> None:
        """Write the per-case CSV and JSON to ``output_dir`` atomically."""
        short = (list(FLARE22_SHORT_NAMES)
                 if self.num_classes == len(FLARE22_CLASSES) else
                 self.class_names())
        header = (['Name'] + [f'{n}_DSC' for n in short] +
                  [f'{n}_NSD' for n in short])
        lines = [','.join(header)]
        for name, c in cases.items():
            lines.append(','.join([name] + [repr(float(v)) for v in c['dsc']] +
                                  [repr(float(v)) for v in c['nsd']]))
        atomic_write_bytes(osp.join(self.output_dir, 'flare_dsc_nsd.csv'),
                           ('\n'.join(lines) + '\n').encode())
        report = dict(
            tolerance=self.tolerance, official_rules=self.official_rules,
            round_decimals=self.round_decimals, means=means,
            cases={name: dict(dsc=c['dsc'].tolist(), nsd=c['nsd'].tolist())
                   for name, c in cases.items()})
        atomic_write_bytes(osp.join(self.output_dir, 'flare_dsc_nsd.json'),
                           (json.dumps(report, indent=2) + '\n').encode())
