"""Label propagation of the CRW / videowalk DAVIS protocol, streaming.

Target frame ``t >= 1`` reads frame 0 (long-term, no radius mask) and the
``L`` previous frames (short-term; indices < 0 are copies of frame 0), with
frame 0's labels and the soft predictions of later frames fed back: cosine
affinity, ``-1e10`` on short-term keys at grid distance ``>= radius``,
``/ temperature``, top-k over all ``(L+1)hw`` context positions, softmax,
weighted sum of their labels.

The streaming state is a :class:`MemoryBank`: frame 0 is a permanent entry,
the queue ``L`` working entries with the radius, pruned first in first out.
Reads run the shared tiled core (:func:`tiled_read`): queries in square
tiles of ``<= chunk_size`` positions; a short-term frame only contributes
the keys within ``ceil(radius) - 1`` rows/columns of the tile. This is
exact: a masked logit is ``-1e10 / temperature``, whose softmax weight
underflows to 0 since an unmasked key always exists.
"""
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .memory_bank import MemoryBank
from .tiled_read import MASK_VALUE, KeyGroup, _far_table, far_mask, tiled_read

Frames = Union[Tensor, Sequence[Tensor]]


def radius_mask(h: int, w: int, radius: float,
                device: Optional[torch.device] = None) -> Tensor:
    """Additive (hw, hw) float32 short-term mask: 0 where grid positions i,
    j (row-major) are at Euclidean distance ``< radius``, else -1e10."""
    far = far_mask((0, h), (0, w), (0, h), (0, w),
                   _far_table(h, w, radius, torch.device(device or 'cpu')))
    return torch.zeros(far.shape, device=far.device).masked_fill_(
        far, MASK_VALUE)


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
    feats = [_hwc(f)[None] for f in feats]
    labels = [_hwc(y.to(query_feat))[None] for y in labels]
    groups = [KeyGroup(feats[:num_long], labels[:num_long])] if num_long \
        else []
    if len(feats) > num_long:
        groups.append(KeyGroup(feats[num_long:], labels[num_long:], radius))
    return _chw(
        tiled_read(_hwc(query_feat)[None], groups, temperature=temperature,
                   topk=topk, chunk_size=chunk_size)[0])


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

    Holds frame 0 (a permanent :class:`MemoryBank` entry) and the
    ``queue_len`` latest frames' features and soft labels (working entries
    with the radius, first in first out), i.e. ``queue_len + 1`` frames
    whatever the video length (the padding frames before 0 are frame 0's
    tensors, not copies). Runs under ``torch.no_grad()``.

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
        self.radius = radius
        self.norm_mask = norm_mask
        self.normalize = normalize
        self.bank = MemoryBank(
            affinity='dot', temperature=temperature, topk=topk,
            max_frames=queue_len, prune='fifo', chunk_size=chunk_size)
        self.frame_index = -1

    def _prepare(self, feat: Tensor) -> Tensor:
        """(C, h, w) -> normalised (1, C, h, w)."""
        if feat.dim() != 3:
            raise ValueError('features must be (C, h, w), got '
                             f'{tuple(feat.shape)}')
        feat = feat.detach()
        return (F.normalize(feat, dim=0) if self.normalize else feat)[None]

    @property
    def _long(self) -> Optional[Tuple[Tensor, Tensor]]:
        """Frame 0's features (h, w, C) and long-term labels (h, w, K)."""
        perm = [e for e in self.bank.entries if e.kind == 'permanent']
        return (perm[0].keys[0][0], perm[0].values[0][0]) if perm else None

    @property
    def _labels(self) -> List[Tensor]:
        """Soft labels (h, w, K) of the queue, oldest first."""
        return [e.values[0][0] for e in self.bank.working]

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
        _check_labels(first_labels, feat.shape[2:], 'first_labels')
        labels = first_labels.detach().to(feat)
        long = minmax_normalize(labels) if self.norm_mask else labels
        self.bank.reset()
        self.frame_index = -1
        self.bank.write(feat, long[None], 'permanent', frame=0)
        if self.queue_len:
            self.bank.write(feat, labels[None], 'working', self.radius,
                            frame=0, repeat=self.queue_len)
        self.frame_index = 0
        return long.clone()

    @torch.no_grad()
    def step(self, feat: Tensor) -> Tensor:
        """Propagate to the next frame and push it into the queue.

        Args:
            feat (Tensor): (C, h, w) features of the next frame.

        Returns:
            Tensor: (K, h, w) soft labels of that frame.
        """
        if self.frame_index < 0:
            raise RuntimeError('call reset(first_feat, first_labels) first')
        feat = self._prepare(feat)
        h, w, c = self.bank.entries[0].keys[0].shape[1:]
        if tuple(feat.shape[1:]) != (c, h, w):
            raise ValueError(
                f'feature shape {tuple(feat.shape[1:])} != frame 0 '
                f'feature shape {(c, h, w)}')
        pred = self.bank.read(feat)  # (1, K, h, w)
        self.frame_index += 1
        if self.queue_len:
            self.bank.write(feat, pred, 'working', self.radius,
                            frame=self.frame_index)
        pred = _chw(pred[0].movedim(0, -1))  # a copy: the bank keeps pred
        return minmax_normalize(pred) if self.norm_mask else pred

    @torch.no_grad()
    def add_mask(self, feat: Tensor, labels: Tensor) -> Tensor:
        """Take a frame whose mask is given instead of predicting it.

        The frame joins the permanent memory (read like frame 0, without
        radius) and the queue, as interactive VOS tools do. Labels with more
        channels than the stored ones add objects (stored labels get zero
        channels).

        Args:
            feat (Tensor): (C, h, w) features of the next frame.
            labels (Tensor): (K', h, w) its labels, K' >= K.

        Returns:
            Tensor: (K', h, w) the given labels.
        """
        if self.frame_index < 0:
            raise RuntimeError('call reset(first_feat, first_labels) first')
        feat = self._prepare(feat)
        _check_labels(labels, feat.shape[2:], 'given labels')
        stored = self.bank.entries[0].values[0].size(-1)
        if labels.size(0) < stored:
            raise ValueError(f'given labels have {labels.size(0)} channels, '
                             f'fewer than the {stored} stored')
        if labels.size(0) > stored:
            self.bank.pad_values(labels.size(0) - stored)
        labels = labels.detach().to(feat)[None]
        self.frame_index += 1
        self.bank.write(feat, labels, 'permanent', frame=self.frame_index)
        if self.queue_len:
            self.bank.write(feat, labels, 'working', self.radius,
                            frame=self.frame_index)
        return labels[0].clone()

    @property
    def num_held_frames(self) -> int:
        """Context frames held (long-term + short-term queue)."""
        return self.bank.num_frames

    def held_tensors(self) -> List[Tensor]:
        """The distinct tensors held (features (1, h, w, C), labels
        (1, h, w, K))."""
        return self.bank.held_tensors()


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
