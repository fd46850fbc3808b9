"""DAVIS J&F for semi-supervised video object segmentation (pure numpy).

Reproduces the semi-supervised task of the official ``davis2017-evaluation``
scorer (davisvideochallenge/davis2017-evaluation):

* the first (given) and the last annotated frame of every sequence are not
  scored;
* the objects of a sequence are the ids ``1..K`` with ``K`` the largest id of
  the first annotation (void ``255`` excluded): ids missing in between are
  still scored (their ground truth is empty), ids above ``K`` that appear
  later are ignored, and a prediction holding an id above ``K`` is an error;
* void pixels (``255``) count as background, as the official semi-supervised
  scorer passes no void mask to J and F (``exclude_void=True`` leaves them
  out of both instead);
* an empty ground truth and an empty prediction give J = F = 1.
"""
import multiprocessing
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

#: boundary tolerance as a fraction of the image diagonal
BOUND_TH = 0.008
#: the statistics of one object, in the order of the official table
STAT_KEYS = ('J-Mean', 'J-Recall', 'J-Decay', 'F-Mean', 'F-Recall',
             'F-Decay')
#: the keys of the global table
GLOBAL_KEYS = ('J&F-Mean', ) + STAT_KEYS


def _check_shapes(gt: np.ndarray, pred: np.ndarray,
                  void: Optional[np.ndarray]) -> None:
    shapes = [np.shape(a) for a in (gt, pred, void) if a is not None]
    if len(set(shapes)) > 1:
        raise ValueError(f'mask shapes differ (gt, prediction, void): '
                         f'{shapes}')


def _nanmean(values: np.ndarray) -> float:
    """Mean of the non-NaN values; NaN (and no warning) when there are none."""
    if np.isnan(values).all():
        return float('nan')
    return float(np.nanmean(values))


def region_similarity(gt: np.ndarray,
                      pred: np.ndarray,
                      void: Optional[np.ndarray] = None) -> np.ndarray:
    """Jaccard index J of binary masks, frame by frame.

    Args:
        gt (np.ndarray): Masks of one object, (T, H, W) or (H, W), as bool.
        pred (np.ndarray): Predicted masks, same shape.
        void (np.ndarray, optional): Pixels left out of both, same shape.

    Returns:
        np.ndarray: J per frame, shape ``gt.shape[:-2]``, float64; 1 where
        the union is empty.
    """
    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    _check_shapes(gt, pred, void)
    inter, union = gt & pred, gt | pred
    if void is not None:
        keep = ~np.asarray(void, bool)
        inter, union = inter & keep, union & keep
    inter, union = inter.sum(axis=(-2, -1)), union.sum(axis=(-2, -1))
    empty = union == 0
    return np.where(empty, 1.0, inter / np.where(empty, 1, union))


def boundary_map(seg: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary of binary masks (the ``seg2bmap`` rule).

    A pixel is on the boundary when it differs from its east, south or
    south-east neighbour; outside the image a neighbour takes the value of
    the nearest pixel (so the image border itself is no boundary).

    Args:
        seg (np.ndarray): Masks, (..., H, W), read as bool.

    Returns:
        np.ndarray: Boundary maps, bool, same shape.
    """
    seg = np.asarray(seg, bool)
    pad = np.pad(seg, [(0, 0)] * (seg.ndim - 2) + [(0, 1), (0, 1)], 'edge')
    east, south, south_east = (pad[..., :-1, 1:], pad[..., 1:, :-1],
                               pad[..., 1:, 1:])
    return (seg != east) | (seg != south) | (seg != south_east)


def tolerance_disk(shape: Sequence[int],
                   bound_th: float = BOUND_TH) -> np.ndarray:
    """Structuring element of the boundary match tolerance.

    Args:
        shape (Sequence[int]): (H, W) of the frames.
        bound_th (float): Below 1: a fraction of the image diagonal (rounded
            up to whole pixels); otherwise a radius in pixels.

    Returns:
        np.ndarray: uint8 disk ``x**2 + y**2 <= r**2`` on the grid
        ``arange(-r, r + 1)``, shape (2r+1, 2r+1) for whole ``r``.
    """
    if bound_th >= 1:
        radius = bound_th
    else:
        height, width = int(shape[-2]), int(shape[-1])
        radius = np.ceil(bound_th * np.sqrt(float(height**2 + width**2)))
    grid = np.arange(-radius, radius + 1)
    return (grid[:, None]**2 + grid[None, :]**2 <= radius**2).astype(np.uint8)


def boundary_f_measure(gt: np.ndarray,
                       pred: np.ndarray,
                       void: Optional[np.ndarray] = None,
                       bound_th: float = BOUND_TH) -> np.ndarray:
    """Boundary F-measure of binary masks, frame by frame.

    Boundaries of ``gt`` and ``pred`` (void pixels cleared first) match when
    they lie within the :func:`tolerance_disk` of each other; precision is
    the matched fraction of predicted boundary pixels, recall that of the
    ground-truth ones, F their harmonic mean. Without predicted boundary
    precision is 1 and recall 0, without ground-truth boundary precision 0
    and recall 1 (F = 0 either way); with neither, F = 1.

    Args:
        gt (np.ndarray): Masks of one object, (T, H, W) or (H, W), as bool.
        pred (np.ndarray): Predicted masks, same shape.
        void (np.ndarray, optional): Pixels cleared in both, same shape.
        bound_th (float): See :func:`tolerance_disk`.

    Returns:
        np.ndarray: F per frame, shape ``gt.shape[:-2]``, float64.
    """
    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    _check_shapes(gt, pred, void)
    if void is not None:
        keep = ~np.asarray(void, bool)
        gt, pred = gt & keep, pred & keep
    lead = gt.shape[:-2]
    gt_b = boundary_map(gt).reshape(-1, *gt.shape[-2:])
    pred_b = boundary_map(pred).reshape(-1, *gt.shape[-2:])
    n_gt, n_pred = gt_b.sum(axis=(1, 2)), pred_b.sum(axis=(1, 2))
    disk = tolerance_disk(gt.shape, bound_th)
    # no predicted boundary: P = 1; else no ground-truth boundary: P = 0
    precision = np.where(n_pred == 0, 1.0, 0.0)
    recall = np.where(n_gt == 0, 1.0, 0.0)
    for i in np.flatnonzero((n_gt > 0) & (n_pred > 0)):
        gt_dil = cv2.dilate(gt_b[i].view(np.uint8), disk).astype(bool)
        pred_dil = cv2.dilate(pred_b[i].view(np.uint8), disk).astype(bool)
        precision[i] = (pred_b[i] & gt_dil).sum() / float(n_pred[i])
        recall[i] = (gt_b[i] & pred_dil).sum() / float(n_gt[i])
    total, f_res = precision + recall, np.zeros(len(precision))
    ok = total > 0
    f_res[ok] = 2 * precision[ok] * recall[ok] / total[ok]
    return f_res.reshape(lead)


def davis_statistics(values: np.ndarray) -> Tuple[float, float, float]:
    """Mean, recall and decay of per-frame values of one object.

    Recall is the fraction of frames above 0.5. Decay is the mean of the
    first quarter minus that of the last: the frame range is cut at the
    rounded points of ``linspace(1, N, 5)`` (1-based) and the first and the
    fourth bin include both of their ends. The official code casts the cut
    indices to uint8 (wrong for N > 256 frames); they are not truncated here.

    Args:
        values (np.ndarray): Per-frame values, (N, ); NaN values are left
            out of the mean and of the decay bins.

    Returns:
        tuple[float, float, float]: (mean, recall, decay); all NaN for
        ``N == 0``.
    """
    values = np.asarray(values, np.float64).reshape(-1)
    if values.size == 0:
        return float('nan'), float('nan'), float('nan')
    cuts = np.round(np.linspace(1, values.size, 5) + 1e-10).astype(int) - 1
    first, last = values[cuts[0]:cuts[1] + 1], values[cuts[3]:cuts[4] + 1]
    decay = _nanmean(first) - _nanmean(last)
    return _nanmean(values), float(np.mean(values > 0.5)), decay


def score_objects(gt: np.ndarray,
                  pred: np.ndarray,
                  obj_ids: Sequence[int],
                  void_label: int = 255,
                  exclude_void: bool = False,
                  bound_th: float = BOUND_TH) -> Tuple[np.ndarray, np.ndarray]:
    """J and F of every frame for the given object ids.

    Args:
        gt (np.ndarray): Ground-truth id maps, (T, H, W), ``void_label`` =
            void.
        pred (np.ndarray): Predicted id maps, (T, H, W).
        obj_ids (Sequence[int]): Objects to score, (K, ).
        void_label (int): Void id of ``gt``.
        exclude_void (bool): Leave void pixels out of J and F (the official
            semi-supervised scorer counts them as background).
        bound_th (float): See :func:`tolerance_disk`.

    Returns:
        tuple[np.ndarray, np.ndarray]: J and F, each (K, T) float64.
    """
    gt, pred = np.asarray(gt), np.asarray(pred)
    _check_shapes(gt, pred, None)
    void_mask = gt == void_label
    void = void_mask if exclude_void and void_mask.any() else None
    j_res, f_res = np.ones((2, len(obj_ids), gt.shape[0]))
    for k, obj in enumerate(obj_ids):
        j_res[k] = region_similarity(gt == obj, pred == obj, void)
        f_res[k] = boundary_f_measure(gt == obj, pred == obj, void, bound_th)
    return j_res, f_res


def present_ids(ids: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an id map (bincount for small ids)."""
    ids = np.asarray(ids).reshape(-1)
    if ids.size and np.issubdtype(ids.dtype, np.integer) and \
            0 <= ids.min() and ids.max() < 1 << 16:
        return np.flatnonzero(np.bincount(ids))
    return np.unique(ids)


def first_frame_objects(first_gt: np.ndarray, void_label: int = 255) -> int:
    """``K``, the number of objects: the largest non-void id of frame 0."""
    ids = np.asarray(first_gt)
    return int(ids[ids != void_label].max(initial=0))


def check_prediction_ids(pred_ids: np.ndarray, num_objects: int,
                         where: str) -> None:
    """Raise if predicted ids are not in ``0..K`` (the official exits)."""
    bad = np.setdiff1d(pred_ids, np.arange(num_objects + 1))
    if bad.size:
        raise ValueError(f'{where}: predicted object ids {bad.tolist()} '
                         f'are not among the {num_objects} objects (ids '
                         f'1..{num_objects}) of the first-frame annotation')


def sequence_table(name: str, j_res: np.ndarray,
                   f_res: np.ndarray) -> Dict[str, Dict[str, float]]:
    """:data:`STAT_KEYS` of objects ``1..K`` (J and F on the scored frames,
    each (K, T')), keyed ``'<name>_<id>'`` as the official table."""
    return {
        f'{name}_{k + 1}': dict(
            zip(STAT_KEYS,
                davis_statistics(j_res[k]) + davis_statistics(f_res[k])))
        for k in range(j_res.shape[0])
    }


def global_table(per_object: Dict[str, Dict[str, float]]) -> Dict[str, float]:
    """Every statistic averaged over all objects; ``J&F-Mean`` first."""
    rows = list(per_object.values())
    out = {key: float(np.mean([row[key] for row in rows])) if rows else
           float('nan') for key in STAT_KEYS}
    return {'J&F-Mean': (out['J-Mean'] + out['F-Mean']) / 2., **out}


def evaluate_sequence(gt_masks: np.ndarray,
                      pred_masks: np.ndarray,
                      void_label: int = 255,
                      exclude_void: bool = False,
                      bound_th: float = BOUND_TH) -> Dict[int, dict]:
    """Score one sequence the way the official semi-supervised scorer does.

    Args:
        gt_masks (np.ndarray): Ground-truth object ids of every annotated
            frame, (T, H, W), ``void_label`` = void, T >= 3.
        pred_masks (np.ndarray): Predicted ids, (T, H, W); frames 0 and T-1
            are not read.
        void_label (int): Void id.
        exclude_void (bool): See :func:`score_objects`.
        bound_th (float): See :func:`tolerance_disk`.

    Returns:
        dict[int, dict]: For object ids ``1..K``: ``'J'`` and ``'F'`` of
        frames 1..T-2, (T-2, ), and the :data:`STAT_KEYS` statistics.
    """
    gt_masks, pred_masks = np.asarray(gt_masks), np.asarray(pred_masks)
    _check_shapes(gt_masks, pred_masks, None)
    if gt_masks.ndim != 3 or gt_masks.shape[0] < 3:
        raise ValueError('a sequence needs (T, H, W) masks with T >= 3 '
                         f'(first and last frame are not scored), got '
                         f'{gt_masks.shape}')
    num = first_frame_objects(gt_masks[0], void_label)
    check_prediction_ids(present_ids(pred_masks[1:-1]), num, 'sequence')
    j_res, f_res = score_objects(gt_masks[1:-1], pred_masks[1:-1],
                                 range(1, num + 1), void_label, exclude_void,
                                 bound_th)
    table = sequence_table('', j_res, f_res)
    return {k + 1: dict(J=j_res[k], F=f_res[k], **table[f'_{k + 1}'])
            for k in range(num)}


def _read_ids(path: str) -> np.ndarray:
    with Image.open(path) as img:
        if img.mode not in ('P', 'L'):
            raise ValueError(f'{path}: expected a palette (P) or greyscale '
                             f'(L) PNG of object ids, got mode {img.mode}')
        return np.array(img)


def _score_folder(args: tuple) -> Tuple[np.ndarray, np.ndarray]:
    """Worker: J and F, (K, T-2), of one sequence folder."""
    pred_dir, gt_dir, exclude_void, bound_th = args
    names = sorted(f for f in os.listdir(gt_dir) if f.endswith('.png'))
    if len(names) < 3:
        raise ValueError(f'{gt_dir}: a sequence needs at least 3 annotated '
                         f'frames, found {len(names)}')
    if not osp.isdir(pred_dir):
        raise FileNotFoundError(f'prediction folder {pred_dir} not found')
    extra = sorted({f for f in os.listdir(pred_dir) if f.endswith('.png')} -
                   set(names))
    if extra:
        raise ValueError(f'{pred_dir}: prediction files without a '
                         f'ground-truth frame: {extra[:5]}')
    gt = np.stack([_read_ids(osp.join(gt_dir, f)) for f in names])
    pred = np.zeros_like(gt[1:-1])
    for t, name in enumerate(names[1:-1]):
        path = osp.join(pred_dir, name)
        if not osp.isfile(path):
            raise FileNotFoundError(f'prediction {path} not found (one PNG '
                                    'per annotated frame, named as it)')
        ids = _read_ids(path)
        if ids.shape != gt.shape[1:]:
            raise ValueError(f'prediction {path} has size {ids.shape}, the '
                             f'ground truth {gt.shape[1:]}')
        pred[t] = ids
    num = first_frame_objects(gt[0])
    check_prediction_ids(present_ids(pred), num, pred_dir)
    return score_objects(gt[1:-1], pred, range(1, num + 1), 255,
                         exclude_void, bound_th)


def evaluate_davis_folder(pred_root: str,
                          davis_root: str,
                          sequences: Optional[List[str]] = None,
                          nproc: int = 1,
                          subset: str = 'val',
                          resolution: str = '480p',
                          exclude_void: bool = False,
                          bound_th: float = BOUND_TH) -> dict:
    """Score a results folder in the official DAVIS-2017 layout.

    Predictions ``pred_root/<seq>/<frame>.png`` (palette or greyscale ids)
    are needed for every annotation ``davis_root/Annotations/<resolution>/
    <seq>/<frame>.png`` (DAVIS-2017 ids, 255 = void: convert DAVIS-2016
    {0, 255} masks first) but the first and the last.

    Args:
        pred_root (str): Results folder.
        davis_root (str): DAVIS folder.
        sequences (list[str], optional): Default: ``ImageSets/2017/
            <subset>.txt`` when it exists, else every annotation folder.
        nproc (int): Worker processes (one sequence each).
        subset (str): Split file used when ``sequences`` is None.
        resolution (str): Annotation resolution folder.
        exclude_void (bool): See :func:`score_objects`.
        bound_th (float): See :func:`tolerance_disk`.

    Returns:
        dict: ``'global'`` (:data:`GLOBAL_KEYS` -> float), ``'per_object'``
        (``'<seq>_<id>'`` -> statistics) and ``'per_frame'`` (``'<seq>_<id>'``
        -> ``{'J', 'F'}`` arrays, (T-2, )).
    """
    ann_root = osp.join(davis_root, 'Annotations', resolution)
    split = osp.join(davis_root, 'ImageSets', '2017', f'{subset}.txt')
    if sequences is None and osp.isfile(split):
        with open(split) as f:
            sequences = [s.strip() for s in f if s.strip()]
    elif sequences is None:
        sequences = sorted(d for d in os.listdir(ann_root)
                           if osp.isdir(osp.join(ann_root, d)))
    for seq in sequences:
        if not osp.isdir(osp.join(ann_root, seq)):
            raise FileNotFoundError(f'annotations of sequence {seq!r} not '
                                    f'found under {ann_root}')
    tasks = [(osp.join(pred_root, seq), osp.join(ann_root, seq),
              exclude_void, bound_th) for seq in sequences]
    if nproc > 1 and len(tasks) > 1:
        with multiprocessing.Pool(min(nproc, len(tasks))) as pool:
            scores = pool.map(_score_folder, tasks, chunksize=1)
    else:
        scores = [_score_folder(task) for task in tasks]
    per_object, per_frame = {}, {}
    for seq, (j_res, f_res) in zip(sequences, scores):
        per_object.update(sequence_table(seq, j_res, f_res))
        per_frame.update({f'{seq}_{k + 1}': dict(J=j_res[k], F=f_res[k])
                          for k in range(j_res.shape[0])})
    return {'global': global_table(per_object), 'per_object': per_object,
            'per_frame': per_frame}
