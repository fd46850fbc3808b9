"""Label propagation of the CRW / videowalk DAVIS protocol, streaming.

Target frame ``t >= 1`` reads frame 0 (long-term, no radius mask) and the
``L`` previous frames (short-term; indices < 0 are copies of frame 0), with
frame 0's labels and the soft predictions of later frames fed back: cosine
affinity, ``-1e10`` on short-term keys at grid distance ``>= radius``,
``/ temperature``, top-k over all ``(L+1)hw`` context positions, softmax,
weighted sum of their labels.

Queries run in square tiles of ``<= chunk_size`` positions; a short-term
frame only contributes the keys within ``ceil(radius) - 1`` rows/columns of
the tile. This is exact: a masked logit is ``-1e10 / temperature``, whose
softmax weight underflows to 0 since an unmasked key always exists.
"""
import math
from collections import deque
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

MASK_VALUE = -1e10
Frames = Union[Tensor, Sequence[Tensor]]


def _far_table(h: int, w: int, radius: float,
               device: torch.device) -> Tensor:
    """Bool ``far[d2]`` for every squared distance d2 of an (h, w) grid,
    computed as the original: ``float(d2) ** 0.5 >= radius``."""
    d2 = torch.arange((h - 1)**2 + (w - 1)**2 + 1, device=device)
    return d2.float()**0.5 >= radius


def _far(r0: int, r1: int, c0: int, c1: int, b0: int, b1: int, d0: int,
         d1: int, table: Tensor) -> Tensor:
    """(m, P) bool: queries [r0:r1, c0:c1] x keys [b0:b1, d0:d1]."""
    dev = table.device
    dy = torch.arange(r0, r1, device=dev)[:, None] - torch.arange(
        b0, b1, device=dev)
    dx = torch.arange(c0, c1, device=dev)[:, None] - torch.arange(
        d0, d1, device=dev)
    d2 = dy.square()[:, None, :, None] + dx.square()[None, :, None, :]
    return table[d2.flatten(2).flatten(0, 1)]


def radius_mask(h: int, w: int, radius: float,
                device: Optional[torch.device] = None) -> Tensor:
    """Additive (hw, hw) float32 short-term mask: 0 where grid positions i,
    j (row-major) are at Euclidean distance ``< radius``, else -1e10."""
    far = _far(0, h, 0, w, 0, h, 0, w,
               _far_table(h, w, radius, torch.device(device or 'cpu')))
    return torch.zeros(far.shape, device=far.device).masked_fill_(
        far, MASK_VALUE)


def _tiles(h: int, w: int,
           chunk_size: Optional[int]) -> List[Tuple[int, int, int, int]]:
    """Square-ish query tiles (r0, r1, c0, c1) of <= chunk_size positions."""
    if chunk_size is None or chunk_size >= h * w:
        return [(0, h, 0, w)]
    tw = min(w, max(1, math.isqrt(chunk_size)))
    th = min(h, max(1, chunk_size // tw))
    return [(r, min(r + th, h), c, min(c + tw, w)) for r in range(0, h, th)
            for c in range(0, w, tw)]


def _hwc(x: Tensor, dims: Tuple[int, ...] = (1, 2, 0)) -> Tensor:
    """(C, h, w) -> (h, w, C) contiguous copy (or another permutation)."""
    return x.permute(*dims).clone(memory_format=torch.contiguous_format)


def _chw(x: Tensor) -> Tensor:
    return _hwc(x, (2, 0, 1))


def _check_params(temperature: float, topk: int,
                  chunk_size: Optional[int]) -> None:
    if temperature <= 0 or topk < 1:
        raise ValueError('temperature must be > 0 and topk >= 1')
    if chunk_size is not None and chunk_size < 1:
        raise ValueError('chunk_size must be >= 1 or None')


def _check_labels(labels: Tensor, feat_hw: Sequence[int], what: str) -> None:
    if labels.dim() != 3 or tuple(labels.shape[1:]) != tuple(feat_hw):
        raise ValueError(f'{what} shape {tuple(labels.shape)} is not '
                         f'(K, h, w) with the feature size {tuple(feat_hw)}')


def _topk_labels(query: Tensor, keys: Tensor, labels: Tensor,
                 far: Optional[Tensor], temperature: float,
                 topk: int) -> Tuple[Tensor, Tensor]:
    """Top-k logits (m, k) of one key group (N, C) and labels (m, k, K).

    ``far`` (m, P) masks every one of the N / P frames of the group.
    """
    logits = query @ keys.t()  # (m, N)
    if far is not None:
        logits.view(far.size(0), -1, far.size(1)).masked_fill_(
            far[:, None], MASK_VALUE)
    logits.div_(temperature)
    vals, idx = logits.topk(min(topk, logits.size(1)), dim=1)
    return vals, labels[idx]


def _propagate_hwc(query: Tensor, long_feats: List[Tensor],
                   long_labels: List[Tensor], short_feats: List[Tensor],
                   short_labels: List[Tensor], temperature: float,
                   topk: int, radius: float,
                   chunk_size: Optional[int]) -> Tensor:
    """Channels-last core: features (h, w, C), labels (h, w, K).

    Per query tile the long-term and the banded short-term keys form two
    groups; the top-k of their union is the top-k of their top-k's.
    """
    h, w, c = query.shape
    k_cls = (long_labels or short_labels)[0].size(-1)
    if long_feats:
        long_k = torch.cat([f.view(-1, c) for f in long_feats])
        long_y = torch.cat([y.view(-1, k_cls) for y in long_labels])
    # largest per-axis offset at distance < radius
    reach = max(h, w) if radius > max(h, w) else math.ceil(radius) - 1
    if reach < 0:  # every short-term key is masked: weight 0
        short_feats = []
    table = _far_table(h, w, radius, query.device)
    out = query.new_empty(h, w, k_cls)
    for r0, r1, c0, c1 in _tiles(h, w, chunk_size):
        q = query[r0:r1, c0:c1].reshape(-1, c)  # (m, C)
        groups = []
        if long_feats:
            groups.append(
                _topk_labels(q, long_k, long_y, None, temperature, topk))
        if short_feats:
            b0, b1 = max(r0 - reach, 0), min(r1 + reach, h)
            d0, d1 = max(c0 - reach, 0), min(c1 + reach, w)
            keys = torch.stack([f[b0:b1, d0:d1] for f in short_feats])
            vals = torch.stack([y[b0:b1, d0:d1] for y in short_labels])
            far = _far(r0, r1, c0, c1, b0, b1, d0, d1, table)
            groups.append(
                _topk_labels(q, keys.view(-1, c), vals.view(-1, k_cls),
                             far if bool(far.any()) else None, temperature,
                             topk))
        logits = torch.cat([g[0] for g in groups], 1)  # (m, <= 2k)
        labels = torch.cat([g[1] for g in groups], 1)  # (m, <= 2k, K)
        if len(groups) > 1:
            logits, sel = logits.topk(min(topk, logits.size(1)), dim=1)
            labels = labels.gather(1, sel[..., None].expand(-1, -1, k_cls))
        weights = logits.softmax(dim=1)
        pred = (labels * weights[..., None]).sum(1)  # (m, K)
        out[r0:r1, c0:c1] = pred.view(r1 - r0, c1 - c0, k_cls)
    return out


def propagate_step(query_feat: Tensor,
                   ctx_feats: Frames,
                   ctx_labels: Frames,
                   num_long: int = 1,
                   temperature: float = 0.05,
                   topk: int = 10,
                   radius: float = 12.,
                   chunk_size: Optional[int] = 256) -> Tensor:
    """Propagate the context labels to one query frame.

    Args:
        query_feat (Tensor): (C, h, w) query features (L2-normalised by the
            caller for cosine affinities).
        ctx_feats (Tensor | Sequence[Tensor]): (n, C, h, w) or n maps
            (C, h, w); the first ``num_long`` are long-term (no radius
            mask), the others short-term.
        ctx_labels (Tensor | Sequence[Tensor]): (n, K, h, w) or n maps
            (K, h, w), soft labels of the context frames.
        num_long (int): Number of long-term context frames.
        temperature (float): Logits are ``affinity / temperature``.
        topk (int): Context positions kept per query (at most all).
        radius (float): Short-term radius in grid units (> 0 if
            ``num_long == 0``).
        chunk_size (int, optional): Query positions per tile (None: the
            whole frame); the logits alive are about ``chunk_size x
            (num_long*hw + n_short*band)``, band = (tile side + 2*radius)^2.

    Returns:
        Tensor: (K, h, w) propagated soft labels.
    """
    feats, labels = list(ctx_feats), list(ctx_labels)
    if len(feats) != len(labels) or not feats:
        raise ValueError(f'{len(feats)} context feature maps and '
                         f'{len(labels)} label maps; need as many, >= 1')
    for i, (f, y) in enumerate(zip(feats, labels)):
        if f.shape != query_feat.shape or f.dim() != 3:
            raise ValueError(f'context frame {i}: feature shape '
                             f'{tuple(f.shape)} != query feature shape '
                             f'{tuple(query_feat.shape)}, (C, h, w)')
        _check_labels(y, f.shape[1:], f'context frame {i}: label')
        if y.size(0) != labels[0].size(0):
            raise ValueError(f'context frame {i}: {y.size(0)} label '
                             f'channels != {labels[0].size(0)}')
    if not 0 <= num_long <= len(feats):
        raise ValueError(f'num_long={num_long} not in [0, {len(feats)}]')
    _check_params(temperature, topk, chunk_size)
    if num_long == 0 and not radius > 0:
        raise ValueError('with no long-term frame the radius must be > 0')
    feats = [_hwc(f) for f in feats]
    labels = [_hwc(y.to(query_feat)) for y in labels]
    return _chw(
        _propagate_hwc(_hwc(query_feat), feats[:num_long], labels[:num_long],
                       feats[num_long:], labels[num_long:], temperature,
                       topk, radius, chunk_size))


def minmax_normalize(labels: Tensor) -> Tensor:
    """Per-pixel min-max normalisation of (K, h, w) across classes.

    ``(y - min) / (max - min)``; a pixel whose classes are all equal gives
    0 (the original divides by zero there and gives NaN).
    """
    shifted = labels - labels.amin(0, keepdim=True)
    top = shifted.amax(0, keepdim=True)
    return shifted / torch.where(top > 0, top, torch.ones_like(top))


class LabelPropagationState:
    """Streaming label propagation with a bounded memory.

    Holds frame 0 (long-term) and a deque of the ``queue_len`` latest
    frames' features and soft labels, i.e. ``queue_len + 1`` frames whatever
    the video length (the padding frames before 0 are frame 0's tensors, not
    copies). Runs under ``torch.no_grad()``.

    Args:
        queue_len (int): Short-term context frames L (>= 0).
        temperature (float): Softmax temperature.
        topk (int): Context positions kept per query.
        radius (float): Short-term spatial radius (grid units).
        norm_mask (bool): Min-max normalise the returned labels. As in the
            original, the fed-back predictions stay unnormalised while
            frame 0's long-term labels are normalised (the original
            normalises that entry in place); a no-op for one-hot labels.
        normalize (bool): L2-normalise features over channels (False when
            the caller passes normalised features).
        chunk_size (int, optional): Query positions per tile.
    """

    def __init__(self,
                 queue_len: int = 20,
                 temperature: float = 0.05,
                 topk: int = 10,
                 radius: float = 12.,
                 norm_mask: bool = False,
                 normalize: bool = True,
                 chunk_size: Optional[int] = 256) -> None:
        if queue_len < 0:
            raise ValueError('queue_len must be >= 0')
        _check_params(temperature, topk, chunk_size)
        self.queue_len = queue_len
        self.temperature = temperature
        self.topk = topk
        self.radius = radius
        self.norm_mask = norm_mask
        self.normalize = normalize
        self.chunk_size = chunk_size
        self._long: Optional[Tuple[Tensor, Tensor]] = None
        self._feats: deque = deque(maxlen=queue_len)
        self._labels: deque = deque(maxlen=queue_len)
        self.frame_index = -1

    def _prepare(self, feat: Tensor) -> Tensor:
        """(C, h, w) -> normalised (h, w, C) copy."""
        if feat.dim() != 3:
            raise ValueError('features must be (C, h, w), got '
                             f'{tuple(feat.shape)}')
        feat = feat.detach()
        return _hwc(F.normalize(feat, dim=0) if self.normalize else feat)

    @torch.no_grad()
    def reset(self, first_feat: Tensor, first_labels: Tensor) -> Tensor:
        """Start a video.

        Args:
            first_feat (Tensor): (C, h, w) features of frame 0.
            first_labels (Tensor): (K, h, w) frame-0 labels at feature
                resolution (one-hot or soft; an all-zero channel stays 0).

        Returns:
            Tensor: (K, h, w) output of frame 0: the given labels
            (min-max normalised if ``norm_mask``).
        """
        feat = self._prepare(first_feat)
        _check_labels(first_labels, feat.shape[:2], 'first_labels')
        labels = _hwc(first_labels.detach().to(feat))
        long = _hwc(minmax_normalize(_chw(labels))) if self.norm_mask \
            else labels
        self._long = (feat, long)
        self._feats = deque([feat] * self.queue_len, maxlen=self.queue_len)
        self._labels = deque([labels] * self.queue_len,
                             maxlen=self.queue_len)
        self.frame_index = 0
        return _chw(long)

    @torch.no_grad()
    def step(self, feat: Tensor) -> Tensor:
        """Propagate to the next frame and push it into the queue.

        Args:
            feat (Tensor): (C, h, w) features of the next frame.

        Returns:
            Tensor: (K, h, w) soft labels of that frame.
        """
        if self._long is None:
            raise RuntimeError('call reset(first_feat, first_labels) first')
        feat = self._prepare(feat)
        if feat.shape != self._long[0].shape:
            raise ValueError(
                f'feature shape {tuple(_chw(feat).shape)} != frame 0 '
                f'feature shape {tuple(_chw(self._long[0]).shape)}')
        pred = _propagate_hwc(feat, [self._long[0]], [self._long[1]],
                              list(self._feats), list(self._labels),
                              self.temperature, self.topk, self.radius,
                              self.chunk_size)
        self._feats.append(feat)
        self._labels.append(pred)
        self.frame_index += 1
        pred = _chw(pred)
        return minmax_normalize(pred) if self.norm_mask else pred

    @property
    def num_held_frames(self) -> int:
        """Context frames held (long-term + short-term queue)."""
        return 0 if self._long is None else 1 + len(self._feats)

    def held_tensors(self) -> List[Tensor]:
        """The distinct tensors held (features (h, w, C), labels (h, w, K))."""
        held = (*(self._long or ()), *self._feats, *self._labels)
        return list({id(t): t for t in held}.values())


def propagate_video(feats: Union[Tensor, Iterable[Tensor]],
                    first_labels: Tensor,
                    queue_len: int = 20,
                    temperature: float = 0.05,
                    topk: int = 10,
                    radius: float = 12.,
                    norm_mask: bool = False,
                    normalize: bool = True,
                    chunk_size: Optional[int] = 256) -> Iterator[Tensor]:
    """Propagate frame 0's labels through a video.

    Args:
        feats (Tensor | Iterable[Tensor]): (T, C, h, w), or an iterable of
            (C, h, w) maps (consumed lazily: memory stays bounded).
        first_labels (Tensor): (K, h, w) frame-0 labels.
        queue_len, temperature, topk, radius, norm_mask, normalize,
            chunk_size: see :class:`LabelPropagationState`.

    Returns:
        Iterator[Tensor]: (K, h, w) soft labels per frame, frame 0 first
        (``list(...)`` for the whole video).
    """
    state = LabelPropagationState(queue_len, temperature, topk, radius,
                                  norm_mask, normalize, chunk_size)
    if isinstance(feats, Tensor):  # check eagerly
        if feats.dim() != 4 or feats.size(0) == 0:
            raise ValueError('feats must be (T, C, h, w) with T >= 1, got '
                             f'{tuple(feats.shape)}')
        _check_labels(first_labels, feats.shape[2:], 'first_labels')
    return _run(state, feats, first_labels)


def _run(state: LabelPropagationState, feats: Iterable[Tensor],
         first_labels: Tensor) -> Iterator[Tensor]:
    for t, feat in enumerate(feats):
        yield state.step(feat) if t else state.reset(feat, first_labels)
    if state.frame_index < 0:
        raise ValueError('the video has no frames')


def upsample_labels(labels: Tensor, size: Tuple[int, int]) -> Tensor:
    """Bilinearly resize soft labels (K, h, w) to (K, H, W).

    ``align_corners=False``, no antialiasing: the half-pixel sampling and
    border clamping of the original's ``cv2.resize`` (INTER_LINEAR) on
    float maps; values agree up to float rounding of the coefficients.
    """
    return F.interpolate(labels[None].float(), size=tuple(size),
                         mode='bilinear', align_corners=False)[0]


def labels_to_mask(labels: Tensor,
                   size: Optional[Tuple[int, int]] = None) -> Tensor:
    """Argmax (H, W) int64 of soft labels (K, h, w), upsampled to ``size``
    first (first maximum on ties, as ``np.argmax``)."""
    if size is not None:
        labels = upsample_labels(labels, size)
    return labels.argmax(0)
