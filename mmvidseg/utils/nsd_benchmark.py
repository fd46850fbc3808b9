"""Time FLARE22 DSC / NSD of one case: ours vs the ``surface-distance``
package (DeepMind) used directly with the official scorer's loop."""
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from mmvidseg.datasets.flare22_meta import FLARE22_Z_CROPPED
from mmvidseg.evaluation.functional.flare_measures import (NSD_DSC_THRESHOLD,
                                                           flare_case_scores,
                                                           resolve_tolerances)
from mmvidseg.evaluation.functional.surface_distance import \
    neighbour_code_areas

#: organ ellipsoids as fractions of the volume: (centre, radii)
_ORGANS = (
    ((0.35, 0.35, 0.5), (0.18, 0.15, 0.3)),  # liver
    ((0.7, 0.3, 0.45), (0.06, 0.05, 0.15)),  # right kidney
    ((0.75, 0.7, 0.55), (0.06, 0.08, 0.15)),  # spleen
    ((0.5, 0.7, 0.35), (0.12, 0.03, 0.08)),  # pancreas
    ((0.5, 0.5, 0.5), (0.02, 0.02, 0.45)),  # aorta (tube)
    ((0.58, 0.45, 0.5), (0.02, 0.02, 0.4)),  # IVC (tube)
    ((0.62, 0.38, 0.7), (0.015, 0.015, 0.05)),  # right adrenal gland
    ((0.4, 0.62, 0.7), (0.015, 0.015, 0.05)),  # left adrenal gland
    ((0.3, 0.55, 0.35), (0.03, 0.03, 0.06)),  # gallbladder
    ((0.5, 0.58, 0.6), (0.012, 0.012, 0.35)),  # esophagus (tube)
    ((0.3, 0.7, 0.6), (0.1, 0.08, 0.2)),  # stomach
    ((0.55, 0.3, 0.35), (0.08, 0.03, 0.08)),  # duodenum
    ((0.7, 0.7, 0.35), (0.06, 0.05, 0.15)),  # left kidney
)


def _paint(volume: np.ndarray, label: int, centre: Sequence[float],
           radii: Sequence[float]) -> None:
    shape = volume.shape
    c = [f * n for f, n in zip(centre, shape)]
    r = [max(f * n, 1.0) for f, n in zip(radii, shape)]
    lo = [max(int(np.floor(a - b)), 0) for a, b in zip(c, r)]
    hi = [min(int(np.ceil(a + b)) + 1, n) for a, b, n in zip(c, r, shape)]
    grid = np.ogrid[tuple(slice(a, b) for a, b in zip(lo, hi))]
    inside = sum(((g - a) / b)**2 for g, a, b in zip(grid, c, r)) <= 1
    volume[tuple(slice(a, b) for a, b in zip(lo, hi))][inside] = label


Volumes = Tuple[np.ndarray, np.ndarray]


def synthetic_case(shape: Sequence[int] = (512, 512, 100)) -> Volumes:
    """(gt, pred) uint8 volumes with the 13 FLARE22 organs as ellipsoids.

    The prediction: organs shifted by 1-2 voxels (alternating axes),
    eroded or dilated once, tubes extended over every slice, and a far
    false-positive blob of the duodenum.
    """
    shape = tuple(int(n) for n in shape)
    gt = np.zeros(shape, np.uint8)
    for label, (centre, radii) in enumerate(_ORGANS, 1):
        _paint(gt, label, centre, radii)
    pred = np.zeros(shape, np.uint8)
    for label in range(1, 14):
        mask = gt == label
        if label in FLARE22_Z_CROPPED:
            mask = mask.any(axis=2, keepdims=True) & np.ones(shape, bool)
        elif label % 3 == 0:
            mask = ndimage.binary_erosion(mask)
        elif label % 3 == 1:
            mask = np.roll(mask, 1 + label % 2, axis=(label // 3) % 3)
        else:
            mask = ndimage.binary_dilation(mask)
        pred[mask & (pred == 0)] = label
    _paint(pred, 12, (0.9, 0.9, 0.9), (0.03, 0.03, 0.05))
    return gt, pred


def reference_case_scores(gt: np.ndarray, pred: np.ndarray,
                          spacing: Sequence[float],
                          tolerances='flare22') -> Dict[str, np.ndarray]:
    """The official scorer's loop with the ``surface_distance`` package.

    Raises:
        ImportError: The package is not installed.
    """
    import surface_distance as sd
    tol = resolve_tolerances(tolerances)
    dsc, nsd = np.zeros(13), np.zeros(13)
    for i in range(1, 14):
        g, p = gt == i, pred == i
        if not g.any() and not p.any():
            dsc[i - 1] = nsd[i - 1] = 1.0
            continue
        if not g.any() or not p.any():
            continue
        if i in FLARE22_Z_CROPPED:
            z = np.flatnonzero(g.any(axis=(0, 1)))
            g, p = g[:, :, z[0]:z[-1]], p[:, :, z[0]:z[-1]]
        dsc[i - 1] = sd.compute_dice_coefficient(g, p)
        if dsc[i - 1] >= NSD_DSC_THRESHOLD:
            dist = sd.compute_surface_distances(g, p, spacing)
            nsd[i - 1] = sd.compute_surface_dice_at_tolerance(dist, tol[i - 1])
    return dict(dsc=dsc, nsd=nsd)


def _time(fn, repeats: int) -> Tuple[List[float], dict]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def time_nsd(shape: Sequence[int] = (512, 512, 100),
             spacing: Sequence[float] = (0.8, 0.8, 2.5),
             repeats: int = 3,
             reference: bool = True) -> Dict[str, object]:
    """Seconds per case of :func:`flare_case_scores` and of the reference.

    Args:
        shape (Sequence[int]): Volume shape (slices last).
        spacing (Sequence[float]): Voxel size (mm).
        repeats (int): Timed runs of each.
        reference (bool): Also time the ``surface_distance`` package (skipped
            with a message in ``reference_skipped`` when not installed).

    Returns:
        dict: ``shape``, ``spacing``, ``repeats``, ``ours_s`` (seconds per
        run), ``dsc`` / ``nsd`` (ours) and, with the reference,
        ``reference_s``, ``speedup`` (reference / ours, medians; the
        one-time area table of ours is built before timing),
        ``max_abs_diff`` (DSC and NSD, ours vs reference).
    """
    if repeats < 1:
        raise ValueError(f'repeats must be >= 1, got {repeats}')
    gt, pred = synthetic_case(shape)
    spacing = tuple(float(s) for s in spacing)
    neighbour_code_areas(spacing)  # one-time table, not timed
    ours_s, ours = _time(lambda: flare_case_scores(gt, pred, spacing),
                         repeats)
    report: Dict[str, object] = dict(
        shape=list(gt.shape), spacing=list(spacing), repeats=repeats,
        ours_s=ours_s, dsc=ours['dsc'].tolist(), nsd=ours['nsd'].tolist())
    if not reference:
        return report
    try:
        import surface_distance  # noqa: F401
    except ImportError:
        report['reference_skipped'] = (
            'the surface-distance package is not installed (pip install '
            'surface-distance absl-py); reference not timed')
        return report
    ref_s, ref = _time(lambda: reference_case_scores(gt, pred, spacing),
                       repeats)
    report.update(
        reference_s=ref_s,
        speedup=float(np.median(ref_s) / np.median(ours_s)),
        max_abs_diff=max(float(np.abs(ours[k] - ref[k]).max())
                         for k in ('dsc', 'nsd')))
    return report


def format_nsd_report(report: Dict[str, object]) -> List[str]:
    """Lines for :func:`time_nsd`'s report."""
    lines = [f"nsd: volume {report['shape']} spacing {report['spacing']}, "
             f"{report['repeats']} run(s)",
             f"ours: {np.median(report['ours_s']):.3f} s/case (median), "
             f"mDSC {np.mean(report['dsc']):.4f} "
             f"mNSD {np.mean(report['nsd']):.4f}"]
    skipped: Optional[str] = report.get('reference_skipped')
    if skipped:
        lines.append(f'reference: skipped, {skipped}')
    elif 'reference_s' in report:
        lines.append(f"reference: {np.median(report['reference_s']):.3f} "
                     f"s/case (median), speedup x{report['speedup']:.2f}, "
                     f"max |diff| {report['max_abs_diff']:.3g}")
    return lines
