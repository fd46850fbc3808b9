"""Reference slices and propagation ranges of two-stage volume inference.

Pure functions (no model) re-implementing the slice bookkeeping of the
two-stage FLARE22 inference of ``kaylode/ivos``: the uniform candidate
sampling (``utilities/sampling.py``), the ``largest-area`` reference choice
and the propagation ranges (``utilities/referencer.py``).
"""
import os.path as osp
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

Range = Tuple[int, int]


def candidate_slices(num_slices: int,
                     sample_every: int = 5,
                     max_refs: int = 64) -> List[int]:
    """Slices the reference model predicts: uniform sampling.

    ``n = num_slices // sample_every`` indices ``linspace(0, num_slices - 1,
    n)`` truncated to integers; when ``n > max_refs`` the list is sampled
    again the same way down to ``max_refs`` entries (positions
    ``linspace(0, n - 1, max_refs)`` truncated), so the result is not
    always evenly spaced. Fewer than ``sample_every`` slices give an empty
    list (as the original; the caller decides what to do then).

    Args:
        num_slices (int): Slices of the volume.
        sample_every (int): Sampling step (the original's ``sample_fp``).
        max_refs (int): Most candidates (the original's ``max_ref_frames``).

    Returns:
        list[int]: Sorted slice indices.

    Raises:
        ValueError: ``sample_every`` or ``max_refs`` below 1, or a negative
            ``num_slices``.
    """
    if sample_every < 1 or max_refs < 1:
        raise ValueError(f'sample_every ({sample_every}) and max_refs '
                         f'({max_refs}) must be >= 1')
    if num_slices < 0:
        raise ValueError(f'num_slices must be >= 0, got {num_slices}')
    uniform = np.linspace(0, num_slices - 1, num=num_slices // sample_every,
                          dtype=int)
    if len(uniform) > max_refs:
        keep = np.linspace(0, len(uniform) - 1, num=max_refs, dtype=int)
        uniform = uniform[keep]
    return sorted(int(i) for i in uniform)


def select_references(cand_preds: Mapping[int, np.ndarray],
                      num_classes: int) -> List[int]:
    """``largest-area`` reference slices: one per organ, de-duplicated.

    For every class id ``1 .. num_classes - 1`` present in any candidate
    prediction, the candidate where its area (pixel count) is largest;
    among candidates with the same largest area the lowest slice index
    (the original sorts the candidates by area with a stable sort, in slice
    order). Ids outside ``1 .. num_classes - 1`` are ignored.

    Args:
        cand_preds (Mapping[int, np.ndarray]): Slice index -> (H, W) id map.
        num_classes (int): Classes including the background 0.

    Returns:
        list[int]: Sorted, distinct reference slice indices (empty when no
        candidate holds a foreground class).
    """
    best: Dict[int, Tuple[int, int]] = {}  # class -> (area, slice)
    for index in sorted(cand_preds):
        pred = np.asarray(cand_preds[index])
        counts = np.bincount(pred[(pred > 0) & (pred < num_classes)].ravel(),
                             minlength=num_classes)
        for cls in np.flatnonzero(counts):
            area = int(counts[cls])
            if cls not in best or area > best[cls][0]:
                best[int(cls)] = (area, int(index))
    return sorted({index for _, index in best.values()})


def propagation_ranges(guides: Sequence[int],
                       num_slices: int,
                       bidirectional: bool = True) -> List[Range]:
    """The original's propagation ranges ``(start, end)`` between guides.

    With sorted guides ``g_1 < ... < g_m``: ``(g_1, 0)``, ``(g_i, g_{i+1})``
    for ``i < m``, ``(g_m, num_slices)``. ``bidirectional`` appends the
    same built from the reversed guides: ``(g_1, 0)``, ``(g_{i+1}, g_i)``
    from the last pair down, ``(g_m, num_slices)`` (the two end ranges are
    run twice). A range with ``end > start`` propagates forward, otherwise
    backward (see :func:`visited_slices`).

    Args:
        guides (Sequence[int]): Reference slice indices (sorted, distinct).
        num_slices (int): Slices of the volume.
        bidirectional (bool): Add the reversed pass.

    Returns:
        list[tuple[int, int]]: Ranges in the order they run; empty without
        guides.

    Raises:
        ValueError: Guides not sorted and distinct, or outside the volume.
    """
    guides = [int(g) for g in guides]
    if not guides:
        return []
    if any(b <= a for a, b in zip(guides, guides[1:])):
        raise ValueError(f'guides must be sorted and distinct, got {guides}')
    if guides[0] < 0 or guides[-1] >= num_slices:
        raise ValueError(f'guides {guides} outside a volume of '
                         f'{num_slices} slices')

    def one_pass(order: List[int]) -> List[Range]:
        pairs = list(zip(order, order[1:]))
        return [(min(order), 0)] + pairs + [(max(order), num_slices)]

    ranges = one_pass(guides)
    if bidirectional:
        ranges += one_pass(guides[::-1])
    return ranges


def visited_slices(start: int, end: int) -> List[int]:
    """Slices that receive a propagated prediction in a range.

    The original's ``do_pass``: forward (``start < end``) visits ``start+1
    .. end-1``; otherwise backward visits ``start, start-1, ..., end`` (the
    reference slice and ``end`` included).
    """
    if start < end:
        return list(range(start + 1, end))
    return list(range(start, end - 1, -1))


def case_name(path: str) -> str:
    """FLARE case name: the file name without ``_0000.nii.gz``,
    ``.nii.gz`` or ``.nii``."""
    name = osp.basename(path)
    for suffix in ('_0000.nii.gz', '.nii.gz', '_0000.nii', '.nii'):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name
