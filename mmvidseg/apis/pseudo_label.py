"""Pseudo-labels of unlabelled volumes by mutual agreement of several runs.

The FLARE22 method (``tools/postprocess/filter_most_certainty.py``) ensembles
N prediction runs of an unlabelled CT by a voxel-wise majority vote ``E``
and keeps ``E`` as a pseudo-label only when the runs agree with it: its
certainty, computed in chunks of ``T // 3`` slices along the last axis, is

    mean over chunks of  (1/N) sum_m (1/13) sum_{c=1..13} IoU(P_m == c, E == c)

with IoU = 1 when both masks are empty and 0 when ``E`` is empty but
``P_m`` is not. Volumes with certainty >= 0.9 are kept. With a given pseudo
ground truth (its ``-g`` option) the runs are compared with it instead of
the vote, and it is what gets kept.
"""
import csv
import io
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from mmvidseg.datasets.volume_cache import as_label_ids, import_nibabel
from mmvidseg.utils.io import atomic_path, atomic_write_bytes

LABEL_EXT = '.nii.gz'


def _check_ids(labels: np.ndarray, num_classes: int, name: str) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'{name} holds ids outside 0..{num_classes - 1} '
                         f'(found {int(labels.min())}..{int(labels.max())})')


def majority_vote(runs: np.ndarray, num_classes: int = 14) -> np.ndarray:
    """Voxel-wise majority vote of N label maps; ties go to the lowest id.

    Args:
        runs (np.ndarray): (N, ...) integer class ids in [0, num_classes).
        num_classes (int): Number of classes (background included).

    Returns:
        np.ndarray: (...) the voted ids, dtype of ``runs``.
    """
    runs = np.asarray(runs)
    _check_ids(runs, num_classes, 'runs')
    best = np.zeros(runs.shape[1:], runs.dtype)
    best_count = (runs == 0).sum(0)
    for c in range(1, num_classes):
        count = (runs == c).sum(0)
        better = count > best_count  # strict: ties keep the lower id
        best[better] = c
        best_count[better] = count[better]
    return best


def organ_iou(pred: np.ndarray, target: np.ndarray,
              num_classes: int = 14) -> np.ndarray:
    """IoU of every class 1..C-1 of ``pred`` against ``target``.

    Both empty -> 1, ``target`` empty but ``pred`` not -> 0, as the
    original's ``binary_compute``.

    Returns:
        np.ndarray: (num_classes - 1, ) float64.
    """
    conf = np.bincount(
        pred.astype(np.intp).ravel() * num_classes +
        target.astype(np.intp).ravel(),
        minlength=num_classes * num_classes).reshape(num_classes,
                                                     num_classes)
    inter = np.diag(conf).astype(np.float64)
    pred_sum, target_sum = conf.sum(1), conf.sum(0)
    union = pred_sum + target_sum - inter
    iou = np.where(target_sum == 0, (pred_sum == 0).astype(np.float64),
                   inter / np.maximum(union, 1))
    return iou[1:]


def vote_and_certainty(runs: np.ndarray,
                       pseudo_gt: Optional[np.ndarray] = None,
                       num_classes: int = 14,
                       num_chunks: int = 3) -> Tuple[np.ndarray, float]:
    """Pseudo-label and mutual-agreement certainty of N runs of a volume.

    The volume is cut along its last axis into chunks of ``T //
    num_chunks`` slices (the last chunk may be shorter, and counts as much
    as the others, as in the original; ``T < num_chunks`` uses chunks of 1
    slice where the original fails). Per chunk the target is the majority
    vote of the runs (or ``pseudo_gt``) and the score is the mean over runs
    of the mean over classes 1..C-1 of :func:`organ_iou`; the certainty is
    the mean of the chunk scores.

    Args:
        runs (np.ndarray): (N, ..., T) integer class ids.
        pseudo_gt (np.ndarray, optional): (..., T) ids compared with the
            runs instead of their vote (and returned as the label).
        num_classes (int): Number of classes (background included).
        num_chunks (int): Chunks of ``T // num_chunks`` slices.

    Returns:
        tuple[np.ndarray, float]: The pseudo-label (..., T) and the
        certainty in [0, 1].
    """
    runs = np.asarray(runs)
    if runs.ndim < 2:
        raise ValueError(f'runs must be (N, ..., T), got shape {runs.shape}')
    _check_ids(runs, num_classes, 'runs')
    if pseudo_gt is not None:
        pseudo_gt = np.asarray(pseudo_gt)
        if pseudo_gt.shape != runs.shape[1:]:
            raise ValueError(f'pseudo_gt has shape {pseudo_gt.shape}, the '
                             f'runs {runs.shape[1:]}')
        _check_ids(pseudo_gt, num_classes, 'pseudo_gt')
    num = runs.shape[-1]
    step = max(num // int(num_chunks), 1)
    labels, scores = [], []
    for start in range(0, num, step):
        chunk = runs[..., start:start + step]
        target = (majority_vote(chunk, num_classes) if pseudo_gt is None
                  else pseudo_gt[..., start:start + step])
        per_run = [
            organ_iou(run, target, num_classes).mean() for run in chunk
        ]
        scores.append(float(np.mean(per_run)))
        labels.append(target)
    return np.concatenate(labels, axis=-1), float(np.mean(scores))


def _load_labels(path: str, num_classes: int):
    nib = import_nibabel()
    try:
        img = nib.load(path)
        data = np.asanyarray(img.dataobj)
    except Exception as e:  # ImageFileError, gzip errors, ...
        raise OSError(f'cannot read label volume {path!r}: {e}') from e
    data = as_label_ids(data, path)
    _check_ids(data, num_classes, f'label volume {path!r}')
    return data, img


def list_run_cases(run_dirs: Sequence[str]) -> List[str]:
    """Cases (``<case>.nii.gz`` files) common to every run folder.

    Raises:
        FileNotFoundError: A run folder is missing, or a case is missing
            from one run (naming both).
        ValueError: Fewer than one run, or no case at all.
    """
    if not run_dirs:
        raise ValueError('at least one prediction run folder is needed')
    per_run = []
    for d in run_dirs:
        if not osp.isdir(d):
            raise FileNotFoundError(f'run folder {d!r} not found')
        per_run.append({f[:-len(LABEL_EXT)] for f in os.listdir(d)
                        if f.endswith(LABEL_EXT) and len(f) > len(LABEL_EXT)})
    cases = sorted(set().union(*per_run))
    if not cases:
        raise ValueError(f'no <case>{LABEL_EXT} file in the run folders '
                         f'{list(run_dirs)}')
    for d, found in zip(run_dirs, per_run):
        missing = [c for c in cases if c not in found]
        if missing:
            raise FileNotFoundError(
                f'case {missing[0]!r} is missing from run {d!r} '
                f'({osp.join(d, missing[0] + LABEL_EXT)!r}; {len(missing)} '
                'cases missing there)')
    return cases


def save_label_volume(path: str, labels: np.ndarray, like) -> None:
    """Write ``labels`` as NIfTI with the affine and header of ``like``
    (a nibabel image), atomically."""
    nib = import_nibabel()
    img = nib.Nifti1Image(labels, like.affine, like.header)
    img.set_data_dtype(labels.dtype)
    with atomic_path(path, suffix=LABEL_EXT) as tmp:
        nib.save(img, tmp)


def _report_csv(rows: List[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=['case', 'certainty', 'kept'],
                            lineterminator='\n')
    writer.writeheader()
    for row in rows:
        writer.writerow(dict(row, certainty=f"{row['certainty']:.6f}"))
    return buf.getvalue().encode()


def filter_pseudo_labels(run_dirs: Sequence[str],
                         out_dir: str,
                         threshold: float = 0.9,
                         pgt_dir: Optional[str] = None,
                         num_classes: int = 14,
                         num_chunks: int = 3,
                         affine_atol: float = 1e-3,
                         progress: bool = True) -> Dict:
    """Keep the volumes whose runs agree; write their pseudo-labels.

    Reads ``<run>/<case>.nii.gz`` label volumes (every run must have every
    case, same shape and geometry), computes :func:`vote_and_certainty` per
    case and writes, for every case with certainty >= ``threshold``,
    ``out_dir/<case>.nii.gz`` (uint8, the first run's affine and header);
    the pseudo-label of a rejected case left there by an earlier call is
    removed. Also writes ``out_dir/report.csv`` (case, certainty, kept) and
    ``out_dir/report.json`` (the same plus the settings), all atomically.

    Args:
        run_dirs (Sequence[str]): N prediction folders.
        out_dir (str): Output folder.
        threshold (float): Keep cases with certainty >= threshold.
        pgt_dir (str, optional): Pseudo ground truths ``<case>.nii.gz``
            compared with the runs instead of their vote, and kept as the
            label; cases without one are left out (as the original).
        num_classes (int): Number of classes (FLARE22: 14).
        num_chunks (int): See :func:`vote_and_certainty`.
        affine_atol (float): Largest affine difference between runs (mm).
        progress (bool): Show a progress bar.

    Returns:
        dict: ``cases`` (rows: case, certainty, kept), ``kept``, ``total``,
        ``without_pgt`` and the settings.

    Raises:
        FileNotFoundError: A folder is missing or a case is missing from a
            run.
        ValueError: Runs of a case differ in shape or affine, or hold ids
            outside ``0..num_classes - 1``.
    """
    cases = list_run_cases(run_dirs)
    without_pgt = []
    if pgt_dir is not None:
        if not osp.isdir(pgt_dir):
            raise FileNotFoundError(f'pseudo-GT folder {pgt_dir!r} not '
                                    'found')
        without_pgt = [c for c in cases
                       if not osp.isfile(osp.join(pgt_dir, c + LABEL_EXT))]
        cases = [c for c in cases if c not in set(without_pgt)]
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for case in tqdm(cases, disable=not progress, unit='case'):
        runs, ref = [], None
        for d in run_dirs:
            path = osp.join(d, case + LABEL_EXT)
            data, img = _load_labels(path, num_classes)
            if ref is None:
                ref, first = img, path
            elif data.shape != ref.shape:
                raise ValueError(f'{path!r} has shape {data.shape} but '
                                 f'{first!r} has {ref.shape}')
            elif np.abs(img.affine - ref.affine).max() > affine_atol:
                raise ValueError(f'{path!r}: affine differs from {first!r}')
            runs.append(data)
        pgt = None
        if pgt_dir is not None:
            path = osp.join(pgt_dir, case + LABEL_EXT)
            pgt, _ = _load_labels(path, num_classes)
            if pgt.shape != ref.shape:
                raise ValueError(f'{path!r} has shape {pgt.shape} but the '
                                 f'runs have {ref.shape}')
        labels, certainty = vote_and_certainty(np.stack(runs), pgt,
                                               num_classes, num_chunks)
        kept = certainty >= threshold
        out = osp.join(out_dir, case + LABEL_EXT)
        if kept:
            save_label_volume(out, labels, ref)
        elif osp.lexists(out):
            os.remove(out)
        rows.append(dict(case=case, certainty=certainty, kept=bool(kept)))
    report = dict(threshold=threshold, runs=list(run_dirs), pgt_dir=pgt_dir,
                  num_classes=num_classes, num_chunks=num_chunks,
                  kept=sum(r['kept'] for r in rows), total=len(rows),
                  without_pgt=without_pgt, cases=rows)
    atomic_write_bytes(osp.join(out_dir, 'report.csv'), _report_csv(rows))
    atomic_write_bytes(osp.join(out_dir, 'report.json'),
                       json.dumps(report, indent=1).encode())
    return report
