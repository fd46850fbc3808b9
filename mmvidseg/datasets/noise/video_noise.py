"""Temporally coherent synthetic label noise for one video (MS-TFAL).

A video's frames (in the given order) are cut into consecutive segments of
random length in ``[3, 6]``; when at most 6 frames remain they form the
last segment (so it may be shorter than 3), as in MS-TFAL's
``noisy_label_generation.py`` (commit 538475e). For every segment and every
non-background class present in any of its frames, one noise type, radius
and ray count are drawn and applied to that class in every frame of the
segment holding it (:mod:`.noise_ops`). The corrupted class masks of a
frame are pasted on an all-background map in ascending class id (later
classes overwrite; the original pastes in ``os.listdir`` order, which is
file-system dependent), so background pixels change only where a noised
class grows over them, and pixels a class loses become background.

Random draws come from one ``np.random.Generator`` per video, in this
order: the segment lengths, then per segment and class (ascending) ``u``,
radius, ray count, then the draws of the chosen operation frame by frame.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .noise_ops import (NOISE_TYPES, affine_components, dilate_mask,
                        erode_mask, polygon_components)


@dataclass
class NoiseConfig:
    """Parameters of the generator (defaults: the original's).

    Args:
        radius (tuple[int, int]): Inclusive range of the dilate/erode disk
            radius.
        num_rays (tuple[int, int]): Inclusive range of polygon points.
        max_rotation (float): Affine rotation range +- degrees.
        translate (tuple[float, float]): Affine shift range as fractions of
            (width, height), torchvision's meaning: the original's
            ``(0, 0.2)`` shifts vertically only.
        max_rescale (float): Affine scale range ``1 +- max_rescale``.
        shift_ratio (float): Polygon point jitter, fraction of its extent.
        thread_class (int, optional): Class never given the polygon noise
            (EndoVis18 thread, 6); None: no such class.
        type_probs (tuple[float, ...]): Probabilities of
            ``('dilate', 'erode', 'affine', 'polygon')``.
        thread_type_probs (tuple[float, ...]): The same for
            ``thread_class``.
        segment_length (tuple[int, int]): Inclusive segment length range.
        hole_fill (str): Polygon hole filling, see
            :func:`~.noise_ops.fill_holes` (``'corner'``: the original).
        background (int): Class never noised.
    """
    radius: Tuple[int, int] = (40, 50)
    num_rays: Tuple[int, int] = (4, 8)
    max_rotation: float = 30.
    translate: Tuple[float, float] = (0., 0.2)
    max_rescale: float = 0.2
    shift_ratio: float = 0.2
    thread_class: Optional[int] = 6
    type_probs: Tuple[float, ...] = (0.25, 0.25, 0.25, 0.25)
    thread_type_probs: Tuple[float, ...] = (0.25, 0.25, 0.5, 0.)
    segment_length: Tuple[int, int] = (3, 6)
    hole_fill: str = 'corner'
    background: int = 0

    def __post_init__(self) -> None:
        for key in ('radius', 'num_rays', 'segment_length'):
            low, high = getattr(self, key)
            if not 0 <= low <= high or (key != 'radius' and low < 1):
                raise ValueError(f'NoiseConfig.{key} must be an inclusive '
                                 f'range low <= high, got {(low, high)}')
        if self.num_rays[0] < 3:
            raise ValueError('NoiseConfig.num_rays must be >= 3 for a '
                             f'polygon, got {self.num_rays}')
        for key in ('type_probs', 'thread_type_probs'):
            probs = np.asarray(getattr(self, key), dtype=np.float64)
            if probs.shape != (4, ) or (probs < 0).any() or \
                    not np.isclose(probs.sum(), 1.0):
                raise ValueError(f'NoiseConfig.{key} must be 4 non-negative '
                                 f'probabilities summing to 1, got '
                                 f'{getattr(self, key)}')
        if self.hole_fill not in ('corner', 'border'):
            raise ValueError("NoiseConfig.hole_fill must be 'corner' or "
                             f"'border', got {self.hole_fill!r}")


def split_segments(num_frames: int,
                   rng: np.random.Generator,
                   length: Sequence[int] = (3, 6)) -> List[int]:
    """Random segment lengths summing to ``num_frames``.

    Lengths are drawn in ``[length[0], length[1]]`` until at most
    ``length[1]`` frames remain; those form the last segment.
    """
    lengths, end = [], 0
    while end < num_frames:
        if end >= num_frames - length[1]:
            step = num_frames - end
        else:
            step = int(rng.integers(length[0], length[1] + 1))
        lengths.append(step)
        end += step
    return lengths


def choose_type(u: float, probs: Sequence[float]) -> str:
    """The noise type whose cumulative-probability bin holds ``u``."""
    index = int(np.searchsorted(np.cumsum(probs), u, side='right'))
    nonzero = np.flatnonzero(np.asarray(probs) > 0)
    return NOISE_TYPES[min(index, int(nonzero[-1]))]


def apply_noise(mask: np.ndarray, noise_type: str, radius: int, num_rays: int,
                rng: np.random.Generator, cfg: NoiseConfig) -> np.ndarray:
    """Corrupt one (H, W) binary class mask with ``noise_type``."""
    if noise_type == 'dilate':
        return dilate_mask(mask, radius)
    if noise_type == 'erode':
        return erode_mask(mask, radius)
    if noise_type == 'affine':
        return affine_components(mask, rng, cfg.max_rotation, cfg.translate,
                                 cfg.max_rescale)
    if noise_type == 'polygon':
        return polygon_components(mask, num_rays, rng, cfg.shift_ratio,
                                  cfg.hole_fill)
    raise ValueError(f'unknown noise type {noise_type!r}; expected one of '
                     f'{NOISE_TYPES}')


def noise_video(
        labels: Sequence[np.ndarray],
        rng: np.random.Generator,
        cfg: Optional[NoiseConfig] = None
) -> Tuple[List[np.ndarray], List[dict]]:
    """Corrupt the class-id maps of one video.

    Args:
        labels (Sequence[np.ndarray]): (H, W) integer class-id maps in
            temporal order.
        rng (np.random.Generator): The video's generator.
        cfg (NoiseConfig, optional): Parameters; defaults to the original's.

    Returns:
        tuple: The noisy (H, W) maps (dtype of the inputs) and one record
        per segment: ``dict(start, length, classes=[dict(cls, type,
        radius, num_rays, frames)])`` (``frames``: how many of the
        segment's frames hold the class).
    """
    cfg = cfg or NoiseConfig()
    noisy, records = [], []
    start = 0
    for length in split_segments(len(labels), rng, cfg.segment_length):
        frames = list(labels[start:start + length])
        present = [set(np.unique(lbl).tolist()) for lbl in frames]
        classes = sorted(set().union(*present) - {cfg.background})
        masks: List[Dict[int, np.ndarray]] = [{} for _ in frames]
        record = dict(start=start, length=length, classes=[])
        for cls in classes:
            u = float(rng.random())
            radius = int(rng.integers(cfg.radius[0], cfg.radius[1] + 1))
            num_rays = int(rng.integers(cfg.num_rays[0], cfg.num_rays[1] + 1))
            probs = cfg.thread_type_probs if cls == cfg.thread_class \
                else cfg.type_probs
            noise_type = choose_type(u, probs)
            count = 0
            for i, lbl in enumerate(frames):
                if cls in present[i]:
                    masks[i][cls] = apply_noise(lbl == cls, noise_type, radius,
                                                num_rays, rng, cfg)
                    count += 1
            record['classes'].append(
                dict(cls=int(cls),
                     type=noise_type,
                     radius=radius,
                     num_rays=num_rays,
                     frames=count))
        for lbl, frame_masks in zip(frames, masks):
            out = np.full_like(lbl, cfg.background)
            for cls in sorted(frame_masks):
                out[frame_masks[cls]] = cls
            noisy.append(out)
        records.append(record)
        start += length
    return noisy, records


def count_noise(clean: np.ndarray,
                noisy: np.ndarray,
                background: int = 0) -> dict:
    """Pixel counts of one frame, as MS-TFAL's ``count_noisy_ratio.py``.

    Returns:
        dict: ``pixels`` (all), ``labelled`` (clean non-background),
        ``changed`` (``noisy != clean``), and per class present in the
        clean map (background excluded) ``class_clean`` (its clean pixel
        count) and ``class_diff`` (``|#noisy - #clean|`` of that class, the
        original's per-class measure).
    """
    if clean.shape != noisy.shape:
        raise ValueError(f'clean and noisy maps differ in shape: '
                         f'{clean.shape} vs {noisy.shape}')
    size = int(max(clean.max(initial=0), noisy.max(initial=0))) + 1
    n_clean = np.bincount(clean.ravel().astype(np.int64), minlength=size)
    n_noisy = np.bincount(noisy.ravel().astype(np.int64), minlength=size)
    present = [c for c in np.flatnonzero(n_clean) if c != background]
    return dict(pixels=int(clean.size),
                labelled=int(clean.size - n_clean[background])
                if background < size else int(clean.size),
                changed=int(np.count_nonzero(clean != noisy)),
                class_clean={int(c): int(n_clean[c])
                             for c in present},
                class_diff={
                    int(c): int(abs(n_noisy[c] - n_clean[c]))
                    for c in present
                })


def add_counts(total: dict, counts: dict) -> dict:
    """Add the counts of :func:`count_noise` (or of a sum) into ``total``."""
    for key in ('pixels', 'labelled', 'changed'):
        total[key] = total.get(key, 0) + counts[key]
    for key in ('class_clean', 'class_diff'):
        acc = total.setdefault(key, {})
        for cls, value in counts[key].items():
            acc[cls] = acc.get(cls, 0) + value
    return total


def noise_ratios(counts: dict) -> dict:
    """Ratios of summed counts.

    Returns:
        dict: ``noise_ratio`` = changed / all pixels (the original's
        dataset-level value, as a fraction, not %), ``labelled_noise_ratio``
        = changed / clean non-background pixels, ``class_noise_ratio`` =
        ``diff / (clean + diff)`` per class (the original's).
    """

    def ratio(num, den):
        return num / den if den else 0.

    return dict(
        noise_ratio=ratio(counts.get('changed', 0), counts.get('pixels', 0)),
        labelled_noise_ratio=ratio(counts.get('changed', 0),
                                   counts.get('labelled', 0)),
        class_noise_ratio={
            cls: ratio(diff, counts['class_clean'][cls] + diff)
            for cls, diff in sorted(counts.get('class_diff', {}).items())
        })


def type_counts(records: Sequence[dict]) -> dict:
    """Per noise type: segment-class draws and (frame, class) masks."""
    draws = {t: 0 for t in NOISE_TYPES}
    masks = {t: 0 for t in NOISE_TYPES}
    for record in records:
        for item in record['classes']:
            draws[item['type']] += 1
            masks[item['type']] += item['frames']
    return dict(draws=draws, masks=masks)
