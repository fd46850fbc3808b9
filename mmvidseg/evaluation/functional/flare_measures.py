"""FLARE22 per-organ DSC and NSD of one case, as the official scorer.

Rules of the official ``FLARE22/Evaluation/FLARE22_DSC_NSD_Eval.py``
(JunMa11/FLARE), for organ ``i`` = 1..13 of a case (``official_rules``):

* ground truth and prediction both without ``i`` (whole volume): DSC = NSD
  = 1; exactly one of them without ``i``: DSC = NSD = 0;
* Aorta (5), IVC (6) and Esophagus (10) are evaluated only on the slices
  ``gt[:, :, z_lower:z_upper]`` of both volumes, ``z_lower`` / ``z_upper``
  the first / last slice (raw array axis 2) holding the organ in the ground
  truth. The upper bound is exclusive as in the official code, so the
  ground truth's last slice is left out too. When the ground truth holds
  the organ on a single slice the official crop is empty and the official
  script fails (DSC NaN, then ``ValueError: zero-size array to reduction
  operation maximum`` in ``compute_surface_distances``); here that one slice
  is evaluated instead (the range the rule intends);
* DSC ``2 |G P| / (|G| + |P|)`` (within the crop); NSD = 0 when DSC < 0.2,
  else DeepMind's surface Dice with the organ's tolerance
  (:data:`FLARE22_NSD_TOLERANCES`: Liver 5, kidneys 3, Spleen 3, Pancreas
  5, Aorta 2, IVC 2, adrenal glands 2, Gallbladder 2, Esophagus 3, Stomach
  5, Duodenum 7 mm) and the ground truth's header zooms as spacing;
* the CSV keeps ``round(value, 4)`` (:func:`round_official`); the values
  here keep full precision.

``official_rules=False`` gives the rules of the method's own script
(kaylode/ivos ``tools/evaluation/DSC_NSD_eval.py``, used with one 1 mm
tolerance): the same empty rules, but no slice crop and no DSC < 0.2 rule
(a prediction empty where the ground truth is not scores 0 either way).

Both scripts cast the volumes with ``np.uint8(get_fdata())``; callers pass
integer label volumes (ids > 255 or negative are rejected instead of being
wrapped). Ids outside 1..``num_classes - 1`` are ignored.
"""
from typing import Dict, Sequence, Union

import numpy as np
from scipy import ndimage

from mmvidseg.datasets.flare22_meta import (FLARE22_NSD_TOLERANCES,
                                            FLARE22_Z_CROPPED)

from .surface_distance import check_spacing, label_surface_dice

#: decimals of the official CSV (``round(DSC_i, 4)``)
OFFICIAL_DECIMALS = 4
#: official DSC below which NSD is set to 0
NSD_DSC_THRESHOLD = 0.2

Tolerance = Union[str, float, Sequence[float]]


def resolve_tolerances(tolerance: Tolerance,
                       num_organs: int = 13) -> np.ndarray:
    """Per-organ NSD tolerances (mm) from ``'flare22'``, a float or a list.

    Args:
        tolerance: ``'flare22'`` (the official per-organ values, 13 organs),
            one tolerance for every organ (e.g. 1.0, the method's script),
            or one per organ.
        num_organs (int): Number of organs (ids 1..num_organs).

    Returns:
        np.ndarray: (num_organs,) float64.

    Raises:
        ValueError: Unknown name, wrong length or a negative value.
    """
    if isinstance(tolerance, str):
        if tolerance.lower() != 'flare22':
            try:
                tolerance = float(tolerance)
            except ValueError:
                raise ValueError("tolerance must be 'flare22', a number of "
                                 f'mm or one per organ, got {tolerance!r}')
        else:
            tolerance = FLARE22_NSD_TOLERANCES
            if num_organs != len(tolerance):
                raise ValueError(f"tolerance 'flare22' has "
                                 f'{len(tolerance)} organs, not '
                                 f'{num_organs}')
    tol = np.asarray(tolerance, np.float64)
    if tol.ndim == 0:
        tol = np.full(num_organs, float(tol))
    if tol.shape != (num_organs, ) or not np.all(tol >= 0):
        raise ValueError(f'tolerance must give {num_organs} values >= 0 mm, '
                         f'got {tolerance!r}')
    return tol


def round_official(values) -> np.ndarray:
    """``round(v, 4)`` of each value, as the official CSV stores them."""
    arr = np.asarray(values, np.float64)
    return np.array([round(float(v), OFFICIAL_DECIMALS) for v in arr.ravel()],
                    np.float64).reshape(arr.shape)


def _as_labels(volume: np.ndarray, name: str) -> np.ndarray:
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f'{name} must be a 3D label volume, got shape '
                         f'{volume.shape}')
    if volume.dtype == bool:
        return volume.view(np.uint8)
    if volume.dtype.kind not in 'iu':
        raise ValueError(f'{name} must hold integer label ids, got dtype '
                         f'{volume.dtype}')
    if volume.dtype != np.uint8:
        if volume.size and (volume.min() < 0 or volume.max() > 255):
            raise ValueError(f'{name} holds ids outside 0..255 '
                             f'({volume.min()}..{volume.max()})')
        volume = volume.astype(np.uint8)
    return volume


def joint_slice_histogram(gt: np.ndarray, pred: np.ndarray,
                          num_ids: int = 256) -> np.ndarray:
    """Voxel counts per (slice, gt id, prediction id); slices on axis 2.

    Args:
        gt (np.ndarray): (D0, D1, S) uint8 labels.
        pred (np.ndarray): (D0, D1, S) uint8 labels.
        num_ids (int): Ids counted (0..num_ids - 1; larger ids are dropped).

    Returns:
        np.ndarray: (S, num_ids, num_ids) int64.
    """
    num = gt.shape[2]
    hist = np.zeros((num, num_ids, num_ids), np.int64)
    k = int(max(gt.max(initial=0), pred.max(initial=0))) + 1
    chunk = max(1, (1 << 22) // max(1, gt.shape[0] * gt.shape[1]))
    for z0 in range(0, num, chunk):
        g = gt[:, :, z0:z0 + chunk].astype(np.int32)
        p = pred[:, :, z0:z0 + chunk]
        zs = g.shape[2]
        idx = (g * k + p) + (np.arange(zs, dtype=np.int32) * k * k)
        counts = np.bincount(idx.ravel(), minlength=zs * k * k)
        counts = counts.reshape(zs, k, k)[:, :num_ids, :num_ids]
        hist[z0:z0 + zs, :counts.shape[1], :counts.shape[2]] = counts
    return hist


def flare_case_scores(gt: np.ndarray,
                      pred: np.ndarray,
                      spacing: Sequence[float],
                      tolerances: Tolerance = 'flare22',
                      z_axis: int = 2,
                      official_rules: bool = True,
                      num_classes: int = 14) -> Dict[str, np.ndarray]:
    """Per-organ DSC and NSD of one case (see the module docstring).

    Args:
        gt (np.ndarray): (D0, D1, D2) ground-truth label ids.
        pred (np.ndarray): (D0, D1, D2) predicted label ids.
        spacing (Sequence[float]): Voxel size (mm) along the 3 axes (the
            ground truth's header zooms in the official scorer).
        tolerances: ``'flare22'``, one tolerance (mm) or one per organ.
        z_axis (int): Slice axis of the official z-crop (raw array axis 2
            in the official scorer).
        official_rules (bool): The official scorer's rules (z-crop of
            Aorta / IVC / Esophagus, NSD = 0 when DSC < 0.2); False: the
            method's script (neither).
        num_classes (int): Classes including background; organs are ids
            1..num_classes - 1.

    Returns:
        dict: ``dsc`` and ``nsd``, (num_classes - 1,) float64, organ id
        ``i`` at index ``i - 1``.

    Raises:
        ValueError: Shapes differ, volumes are not 3D integer ids in
            0..255, bad spacing or tolerance.
    """
    gt, pred = _as_labels(gt, 'gt'), _as_labels(pred, 'pred')
    if gt.shape != pred.shape:
        raise ValueError(f'prediction shape {pred.shape} differs from the '
                         f'ground truth {gt.shape}')
    if z_axis not in (0, 1, 2, -1, -2, -3):
        raise ValueError(f'z_axis must be 0, 1 or 2, got {z_axis}')
    spacing = list(check_spacing(spacing))
    z_axis %= 3
    if z_axis != 2:
        gt, pred = np.moveaxis(gt, z_axis, 2), np.moveaxis(pred, z_axis, 2)
        spacing.append(spacing.pop(z_axis))
    spacing = tuple(spacing)
    organs = num_classes - 1
    tol = resolve_tolerances(tolerances, organs)
    hist = joint_slice_histogram(gt, pred, num_classes)
    gt_count = hist.sum(2)  # (S, K)
    pred_count = hist.sum(1)
    inter = np.diagonal(hist, axis1=1, axis2=2)
    boxes_gt = ndimage.find_objects(gt, max_label=organs)
    boxes_pred = ndimage.find_objects(pred, max_label=organs)
    dsc, nsd = np.zeros(organs), np.zeros(organs)
    for i in range(1, num_classes):
        g_all, p_all = gt_count[:, i].sum(), pred_count[:, i].sum()
        if g_all == 0 and p_all == 0:
            dsc[i - 1] = nsd[i - 1] = 1.0
            continue
        if g_all == 0 or p_all == 0:
            continue
        z0, z1 = 0, gt.shape[2]
        if official_rules and i in FLARE22_Z_CROPPED:
            zs = np.flatnonzero(gt_count[:, i])
            z0, z1 = int(zs[0]), int(zs[-1])  # exclusive, as the official
            z1 = max(z1, z0 + 1)  # single slice: official crop is empty
        g = gt_count[z0:z1, i].sum()
        p = pred_count[z0:z1, i].sum()
        dsc[i - 1] = 2 * inter[z0:z1, i].sum() / (g + p)
        if p == 0 or (official_rules and dsc[i - 1] < NSD_DSC_THRESHOLD):
            continue
        box_g = _crop_box(boxes_gt[i - 1], z0, z1)
        box_p = _crop_box(boxes_pred[i - 1], z0, z1)
        nsd[i - 1] = label_surface_dice(gt[:, :, z0:z1], pred[:, :, z0:z1],
                                        i, box_g, box_p, spacing, tol[i - 1])
    return dict(dsc=dsc, nsd=nsd)


def _crop_box(box: tuple, z0: int, z1: int):
    """find_objects slices -> (first, last) voxel per axis within the crop
    ``[z0, z1)`` of axis 2 (shifted to the crop); a superset is fine."""
    lo = np.array([s.start for s in box], np.int64)
    hi = np.array([s.stop - 1 for s in box], np.int64)
    lo[2] = max(lo[2], z0) - z0
    hi[2] = min(hi[2], z1 - 1) - z0
    return lo, hi
