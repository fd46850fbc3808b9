"""Temporal feature affinity learning (TFAL) of MS-TFAL, batched in torch.

MS-TFAL (Cui et al., MICCAI 2023) scores how well the noisy label of every
pixel of frame ``t`` agrees with its embedding: with L2-normalised
embeddings ``f_t, f_{t-1}`` of shape (C, h, w) and labels nearest-downsampled
to h x w, the cosine similarity ``S = f_t^T f_{t-1}`` (hw x hw) and the masks
``M+_ij = [y_t(i) == y_{t-1}(j)]``, ``M- = 1 - M+``::

    a_p(i) = sum_j M+_ij S_ij / #{j : M+_ij S_ij != 0}
    a_n(i) = sum_j M-_ij S_ij / #{j : M-_ij S_ij != 0}

(NaN, i.e. no counted pixel, becomes 0); the frame values are the means of
``a_p`` / ``a_n`` over the pixels where they are non-zero. From these the
multi-scale supervision derives a video weight (:func:`video_reliability`),
an image weight (:func:`image_weight`) and a pixel noise mask
(:func:`select_noise`). Everything runs under ``torch.no_grad()``: TFAL only
produces weights and masks, no gradient flows through it.

Unlike the original, nothing leaves the device and ``S`` is never built
whole: query rows are processed in chunks of at most ``max_block`` elements
of ``S``, and the masked sums / counts are per-class matrix products
``S @ onehot(y_{t-1})`` gathered at ``y_t(i)`` (same values, different float
summation order, so results agree to float32 rounding).
"""
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .tiled_read import MAX_BLOCK

NOISE_MODES = ('intersection', 'union', 'p', 'n')


class TFALAffinity(NamedTuple):
    """Per-pixel and per-frame temporal feature affinities.

    Attributes:
        pos (Tensor): Positive affinity ``a_p`` (B, h, w), 0 where frame
            ``t-1`` has no (non-orthogonal) pixel of the same class.
        neg (Tensor): Negative affinity ``a_n`` (B, h, w), 0 where it has no
            pixel of another class.
        pos_mean (Tensor): Mean of the non-zero ``a_p`` per frame (B,).
        neg_mean (Tensor): Mean of the non-zero ``a_n`` per frame (B,).
    """
    pos: Tensor
    neg: Tensor
    pos_mean: Tensor
    neg_mean: Tensor


class VideoReliability(NamedTuple):
    """Video-level result of MS-TFAL's per-epoch reliability ranking.

    Attributes:
        weights (Tensor): Loss weight of every video (V,), float64.
        p_thr (float): ``mean_v(pos_sum / count)``.
        n_thr (float): ``mean_v((count - neg_sum) / count)``.
        uncertain (Tensor): Indices (into the V videos) of the
            ``num_uncertain`` least reliable videos, least reliable first.
        reliability (Tensor): ``(pos_sum + count - neg_sum) / count`` (V,).
    """
    weights: Tensor
    p_thr: float
    n_thr: float
    uncertain: Tensor
    reliability: Tensor


def _check_labels(label: Tensor, shape: Tuple[int, int, int], name: str,
                  num_classes: int) -> Tensor:
    if tuple(label.shape) != shape:
        raise ValueError(f'tfal_affinity: {name} must have shape {shape} '
                         f'(B, h, w) like the features, got '
                         f'{tuple(label.shape)}')
    label = label.long()  # the original casts with .to(torch.int64) too
    if label.numel() and (label.min() < 0 or label.max() >= num_classes):
        raise ValueError(f'tfal_affinity: {name} values must lie in '
                         f'[0, {num_classes}), got [{int(label.min())}, '
                         f'{int(label.max())}]')
    return label


@torch.no_grad()
def tfal_affinity(feat: Tensor,
                  feat_prev: Tensor,
                  label: Tensor,
                  label_prev: Tensor,
                  num_classes: int,
                  max_block: int = MAX_BLOCK,
                  empty_value: Optional[float] = None) -> TFALAffinity:
    """Positive / negative temporal feature affinity of frame t to t-1.

    Zero and NaN handling is the original's (``TFAL_get_affinity``): a
    product ``M_ij S_ij`` that is exactly 0 is not counted; a pixel with no
    counted product gets 0; a frame mean averages only non-zero pixel values,
    so a frame where all ``a_p`` (or all ``a_n``) are 0 gets NaN (0 / 0) --
    e.g. ``neg_mean`` when both frames hold a single, identical class, or
    ``pos_mean`` when the two frames share no class. The NaN then propagates
    into :func:`image_weight` and :func:`video_reliability` as in the
    original; pass ``empty_value`` (e.g. 0.0) to replace it instead.

    Args:
        feat (Tensor): L2-normalised embeddings of frame t (B, C, h, w).
        feat_prev (Tensor): Embeddings of frame t-1 (B, C, h, w).
        label (Tensor): Labels of frame t at h x w (B, h, w), integers in
            [0, num_classes) (the caller downsamples with 'nearest').
        label_prev (Tensor): Labels of frame t-1 (B, h, w).
        num_classes (int): Number of classes.
        max_block (int): Largest chunk of ``S`` (elements, over the batch)
            computed at once. Defaults to ``MAX_BLOCK`` (2**24).
        empty_value (float, optional): Frame mean used where a frame has no
            non-zero value. Defaults to None (NaN, as the original).

    Returns:
        TFALAffinity: ``pos``/``neg`` (B, h, w), ``pos_mean``/``neg_mean``
        (B,), float32 (float64 if the features are float64).
    """
    if feat.dim() != 4 or feat.shape != feat_prev.shape:
        raise ValueError(f'tfal_affinity: feat and feat_prev must both be '
                         f'(B, C, h, w), got {tuple(feat.shape)} and '
                         f'{tuple(feat_prev.shape)}')
    b, c, h, w = feat.shape
    n = h * w
    label = _check_labels(label, (b, h, w), 'label', num_classes)
    label_prev = _check_labels(label_prev, (b, h, w), 'label_prev',
                               num_classes)
    dtype = torch.promote_types(feat.dtype, torch.float32)
    query = feat.reshape(b, c, n).transpose(1, 2).to(dtype)  # (B, n, C)
    key = feat_prev.reshape(b, c, n).to(dtype)  # (B, C, n)
    onehot = F.one_hot(label_prev.reshape(b, n), num_classes).to(dtype)
    # columns [0, K): same class k; [K, 2K): any class but k
    classes = torch.cat([onehot, 1 - onehot], dim=2)  # (B, n, 2K)
    index = label.reshape(b, n, 1)
    index = torch.cat([index, index + num_classes], dim=2)  # (B, n, 2)

    rows = max(1, max_block // max(1, b * n))
    sums, counts = [], []
    for start in range(0, n, rows):
        sim = torch.bmm(query[:, start:start + rows], key)  # (B, r, n)
        idx = index[:, start:start + rows]
        sums.append(torch.bmm(sim, classes).gather(2, idx))
        counts.append(torch.bmm((sim != 0).to(dtype), classes).gather(2, idx))
        del sim
    # 0 / 0 -> NaN -> 0 (np.nan_to_num in the original)
    aff = torch.nan_to_num(torch.cat(sums, 1) / torch.cat(counts, 1))
    pos, neg = aff[..., 0], aff[..., 1]  # (B, n)

    def frame_mean(x: Tensor) -> Tensor:
        mean = x.sum(1) / (x != 0).sum(1)
        if empty_value is not None:
            mean = torch.nan_to_num(mean, nan=empty_value)
        return mean

    return TFALAffinity(
        pos=pos.reshape(b, h, w),
        neg=neg.reshape(b, h, w),
        pos_mean=frame_mean(pos),
        neg_mean=frame_mean(neg))


def _upsample(x: Tensor, size: Optional[Sequence[int]]) -> Tensor:
    """(B, h, w) -> (B, H, W) bilinear, ``align_corners=False`` (the
    original's ``F.interpolate(mode='bilinear')`` default)."""
    if size is None:
        return x
    return F.interpolate(
        x.unsqueeze(1), size=tuple(size), mode='bilinear',
        align_corners=False).squeeze(1)


@torch.no_grad()
def confidence_map(aff: TFALAffinity,
                   size: Optional[Sequence[int]] = None) -> Tensor:
    """Pixel confidence ``a_p + 1 - a_n``.

    Args:
        aff (TFALAffinity): Output of :func:`tfal_affinity`.
        size (Sequence[int], optional): (H, W) to bilinearly upsample
            ``a_p`` and ``a_n`` to first, as ``TFAL_select_Mask`` does.
            Defaults to None (feature size).

    Returns:
        Tensor: Confidence (B, h, w), or (B, H, W) with ``size``.
    """
    return _upsample(aff.pos, size) + 1 - _upsample(aff.neg, size)


@torch.no_grad()
def select_noise(aff: TFALAffinity,
                 size: Sequence[int],
                 ratio: float = 0.3,
                 mode: str = 'intersection') -> Tensor:
    """Pixel-level noise selection of MS-TFAL (``TFAL_select_Mask``).

    ``a_p`` and ``a_n`` are bilinearly upsampled (``align_corners=False``)
    to ``size``; with ``K = int(ratio * H * W)``, ``N_p`` = the K pixels of
    lowest ``a_p`` and ``N_n`` = the K pixels of highest ``a_n`` per frame.
    Both are chosen with ``torch.topk`` as in the original (batched over
    frames), so ties at the K-th value are broken as ``torch.topk`` breaks
    them on the device at hand.

    Args:
        aff (TFALAffinity): Output of :func:`tfal_affinity`.
        size (Sequence[int]): Input size (H, W).
        ratio (float): Fraction of pixels in ``N_p`` and in ``N_n``.
            Defaults to 0.3 (training; the visualisation script uses 0.4).
        mode (str): 'intersection' (``N_p`` and ``N_n``, used in training),
            'union', 'p' (``N_p`` only) or 'n' (``N_n`` only).
            Defaults to 'intersection'.

    Returns:
        Tensor: Noise mask (B, H, W), bool; True = label considered noisy.
    """
    if mode not in NOISE_MODES:
        raise ValueError(f'select_noise: mode must be one of {NOISE_MODES}, '
                         f'got {mode!r}')
    if not 0 <= ratio <= 1:
        raise ValueError(f'select_noise: ratio must be in [0, 1], '
                         f'got {ratio}')
    height, width = (int(s) for s in size)
    k = int(ratio * height * width)
    b = aff.pos.shape[0]

    def top(x: Tensor, largest: bool) -> Tensor:
        x = _upsample(x, (height, width)).reshape(b, -1)
        idx = torch.topk(x, k, dim=1, largest=largest).indices
        return torch.zeros_like(x, dtype=torch.bool).scatter_(1, idx, True)

    if mode == 'p':
        mask = top(aff.pos, largest=False)
    elif mode == 'n':
        mask = top(aff.neg, largest=True)
    elif mode == 'union':
        mask = top(aff.pos, largest=False) | top(aff.neg, largest=True)
    else:
        mask = top(aff.pos, largest=False) & top(aff.neg, largest=True)
    return mask.reshape(b, height, width)


@torch.no_grad()
def image_weight(pos_mean: Tensor, neg_mean: Tensor, p_thr: float,
                 n_thr: float) -> Tensor:
    """Image-level loss weight of MS-TFAL stages 3-4.

    ``exp(2 * (mean_b(pos_mean + 1 - neg_mean) - p_thr - n_thr))``, i.e. the
    original's ``1 / exp(-(mean(p + 1 - n) - (p_thr + n_thr)))**2``
    (evaluated in float64 from the float32 clip mean, as there).

    Args:
        pos_mean (Tensor): Frame values ``pos_mean`` of the clip (B,).
        neg_mean (Tensor): Frame values ``neg_mean`` of the clip (B,).
        p_thr (float): Positive threshold from :func:`video_reliability`.
        n_thr (float): Negative threshold from :func:`video_reliability`.

    Returns:
        Tensor: 0-dim weight in the dtype of ``pos_mean`` (NaN if a frame
        value is NaN, as in the original).
    """
    quality = torch.mean(pos_mean + 1 - neg_mean).double()
    return torch.exp(2 * (quality - (p_thr + n_thr))).to(pos_mean.dtype)


def video_reliability(pos_sum: Union[Tensor, Sequence[float]],
                      neg_sum: Union[Tensor, Sequence[float]],
                      count: Union[Tensor, Sequence[float]],
                      weights: Union[Tensor, Sequence[float]],
                      num_uncertain: int) -> VideoReliability:
    """Video weights, thresholds and uncertain videos of MS-TFAL.

    As ``get_weight_for_vedio_endo``: ``r_v = (pos_sum + count - neg_sum) /
    count``; videos sorted by ``r_v`` ascending get ``weights`` by rank (the
    least reliable the first weight); the first ``num_uncertain`` of that
    order are the uncertain videos. Ties keep the video order (stable sort);
    the original's ``np.argsort`` (default quicksort) does the same for up
    to 16 videos (insertion sort) but may order ties differently above that
    or with SIMD sorting. NaN reliabilities (e.g. a NaN frame value, or
    ``count == 0``) sort last, as in numpy.

    Args:
        pos_sum (Tensor | Sequence[float]): Sum of ``pos_mean`` over the
            frames of each video (V,).
        neg_sum (Tensor | Sequence[float]): Sum of ``neg_mean`` (V,).
        count (Tensor | Sequence[float]): Number of frames summed (V,).
        weights (Tensor | Sequence[float]): Rank weights (V,), least
            reliable first, e.g. EndoVis18
            ``[.4, .4, .4, .4, .4, .5, .6, .7, .8, .9, 1, 1, 1, 1, 1]``.
        num_uncertain (int): Number of uncertain videos (3 on EndoVis18).

    Returns:
        VideoReliability: weights (V,), p_thr, n_thr, uncertain indices,
        reliability (V,).
    """
    pos_sum, neg_sum, count, weights = (
        torch.as_tensor(x, dtype=torch.float64).reshape(-1).cpu()
        for x in (pos_sum, neg_sum, count, weights))
    num = pos_sum.numel()
    if neg_sum.numel() != num or count.numel() != num or \
            weights.numel() != num:
        raise ValueError(
            f'video_reliability: pos_sum, neg_sum, count and weights need '
            f'one value per video, got {num}, {neg_sum.numel()}, '
            f'{count.numel()}, {weights.numel()}')
    if not 0 <= num_uncertain <= num:
        raise ValueError(f'video_reliability: num_uncertain must be in '
                         f'[0, {num}], got {num_uncertain}')
    reliability = (pos_sum + count - neg_sum) / count
    order = torch.sort(reliability, stable=True).indices
    final = torch.empty_like(weights)
    final[order] = weights
    return VideoReliability(
        weights=final,
        p_thr=float(torch.mean(pos_sum / count)),
        n_thr=float(torch.mean((count - neg_sum) / count)),
        uncertain=order[:num_uncertain].clone(),
        reliability=reliability)
