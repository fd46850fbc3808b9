"""The steps of two-stage volume inference as functions of tensors.

Used by :class:`~mmvidseg.apis.TwoStageVolumeInferencer`; each step takes
and returns plain arrays/tensors so that it can be tested and reused alone
(e.g. propagation from given reference masks).
"""
import warnings
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from torch import Tensor

from .volume_references import propagation_ranges, visited_slices

Size = Union[int, Tuple[int, int]]


def size_hw(size: Size) -> Tuple[int, int]:
    h, w = (size, size) if isinstance(size, int) else size
    if h < 1 or w < 1:
        raise ValueError(f'size must be positive, got {size}')
    return int(h), int(w)


def prepare_slices(hu: np.ndarray,
                   size: Size,
                   slices: Optional[Sequence[int]] = None) -> Tensor:
    """CT windows of axial slices resized to the model size.

    Each slice ``hu[..., k]`` (rows along the first canonical axis) goes
    through :func:`ct_multi_window` (three windows, [0, 255]) and is resized
    bilinearly (``cv2.INTER_LINEAR``, albumentations ``Resize``'s default,
    as the original) to ``size``. The original resized the /255 image; the
    division is linear, so dividing afterwards (the models' data
    preprocessors) gives the same values.

    Args:
        hu (np.ndarray): (X, Y, Z) canonical volume in HU.
        size (int | tuple[int, int]): Model input size (H, W).
        slices (Sequence[int], optional): Slice indices (default: all).

    Returns:
        Tensor: (N, 3, H, W) float32 in [0, 255].
    """
    from mmvidseg.datasets.transforms.ct_multi_window import ct_multi_window
    h, w = size_hw(size)
    slices = range(hu.shape[2]) if slices is None else slices
    out = torch.empty((len(slices), 3, h, w), dtype=torch.float32)
    for i, k in enumerate(slices):
        win = ct_multi_window(np.asarray(hu[..., k]))
        if win.shape[:2] != (h, w):
            win = cv2.resize(win, (w, h), interpolation=cv2.INTER_LINEAR)
        out[i] = torch.from_numpy(np.ascontiguousarray(win)).permute(2, 0, 1)
    return out


def normalizer(preprocessor) -> Callable[[Tensor], Tensor]:
    """The per-image part of a data preprocessor (channel order, mean/std).

    Works for mmseg's ``SegDataPreProcessor`` and our
    ``VideoSegDataPreProcessor`` (attributes ``channel_conversion``,
    ``_enable_normalize``, ``mean``, ``std``); padding is left to the
    caller. A preprocessor without them leaves images as they are.

    Returns:
        Callable: ``f(x (N, 3, H, W)) -> (N, 3, H, W)`` float, applied in
        place when ``x`` is float32.
    """
    flip = bool(getattr(preprocessor, 'channel_conversion', False))
    norm = bool(getattr(preprocessor, '_enable_normalize', False))
    mean = std = None
    if norm:
        mean = preprocessor.mean.detach().float().cpu().view(1, -1, 1, 1)
        std = preprocessor.std.detach().float().cpu().view(1, -1, 1, 1)

    def apply(x: Tensor) -> Tensor:
        x = x.float()
        if flip and x.size(1) == 3:
            x = x[:, [2, 1, 0]]
        if norm:
            x = x.sub_(mean.to(x.device)).div_(std.to(x.device))
        return x

    return apply


@torch.no_grad()
def cps_predict(model,
                windows: Tensor,
                positions: Sequence[float],
                batch_size: int = 4,
                indices: Optional[Sequence[int]] = None) -> Tensor:
    """Reference-model predictions of a few slices.

    Args:
        model: A segmentor whose ``test_step(dict(inputs, data_samples))``
            takes (3, H, W) images in [0, 255] (its data preprocessor
            normalises) and returns samples with ``pred_sem_seg``; samples
            carry ``img_shape`` = ``ori_shape`` = (H, W) and
            ``slice_position`` (slice index / number of slices, the
            original's positional input).
        windows (Tensor): (N, 3, H, W) in [0, 255].
        positions (Sequence[float]): Slice position of each image
            predicted.
        batch_size (int): Images per ``test_step``.
        indices (Sequence[int], optional): Predict only these images of
            ``windows`` (gathered one batch at a time).

    Returns:
        Tensor: (len(positions), H, W) int64 class ids, on the CPU.
    """
    from mmseg.structures import SegDataSample
    indices = list(range(len(windows)) if indices is None else indices)
    if len(positions) != len(indices):
        raise ValueError(f'{len(indices)} images but {len(positions)} '
                         'slice positions')
    hw = tuple(windows.shape[-2:])
    preds = []
    for i in range(0, len(indices), batch_size):
        samples = []
        for p in positions[i:i + batch_size]:
            s = SegDataSample()
            s.set_metainfo(dict(img_shape=hw, ori_shape=hw,
                                slice_position=float(p)))
            samples.append(s)
        batch = windows[indices[i:i + batch_size]]
        out = model.test_step(dict(inputs=list(batch), data_samples=samples))
        preds += [o.pred_sem_seg.data.reshape(hw).long().cpu() for o in out]
    if not preds:
        return torch.zeros((0, ) + hw, dtype=torch.long)
    return torch.stack(preds)


def new_accumulator(num_classes: int, num_slices: int, hw: Tuple[int, int],
                    dtype: torch.dtype = torch.float32,
                    device: Union[str, torch.device] = 'cpu') -> Tensor:
    """Zero probabilities (K, T, H, W), background 1e-7 as the original
    (slices no range reaches come out as background)."""
    acc = torch.zeros((num_classes, num_slices) + tuple(hw), dtype=dtype,
                      device=device)
    acc[0] = 1e-7
    return acc


@torch.no_grad()
def propagate_volume(propagator,
                     frames: Tensor,
                     references: Dict[int, Tensor],
                     acc: Tensor,
                     bidirectional: bool = True,
                     progress: Optional[Callable[[int], None]] = None,
                     **range_kwargs) -> list:
    """Propagate reference masks through the volume, range by range.

    For each range of :func:`propagation_ranges` over the sorted reference
    slices, ``propagator.propagate_range(frames, start, end,
    references[start], acc, num_objects=K - 1, **range_kwargs)`` adds the
    reference mask and the propagated probabilities to ``acc`` (its memory
    is flushed after every range). Without references nothing is added
    (the volume stays background) and a warning is issued.

    Args:
        propagator: Any object with ``propagate_range`` (see
            ``STCN.propagate_range``).
        frames (Tensor): (T, 3, H, W) normalised, padded slices.
        references (dict[int, Tensor]): Slice index -> (H, W) int64 ids.
        acc (Tensor): (K, T, H, W) accumulator, updated in place.
        bidirectional (bool): Also run the ranges of the reversed guides.
        progress (Callable[[int], None], optional): Called with the number
            of slices each range visited.
        **range_kwargs: Passed to ``propagate_range`` (``storage_device``,
            ``max_frames``, ``mem_every``, ``include_last``).

    Returns:
        list[tuple[int, int]]: The ranges run.
    """
    num_slices = frames.size(0)
    if acc.shape[1] != num_slices or acc.shape[2:] != frames.shape[2:]:
        raise ValueError(f'accumulator {tuple(acc.shape)} does not match '
                         f'frames {tuple(frames.shape)}')
    guides = sorted(references)
    if not guides:
        warnings.warn('no reference slice (the reference model predicted '
                      'only background): the volume is all background')
        return []
    ranges = propagation_ranges(guides, num_slices, bidirectional)
    for start, end in ranges:
        propagator.propagate_range(
            frames, start, end, references[start], acc,
            num_objects=acc.size(0) - 1, **range_kwargs)
        if progress is not None:
            progress(len(visited_slices(start, end)))
    return ranges


def _nearest(lab: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Nearest-neighbour resize (``cv2.INTER_NEAREST``, as the original)
    of an (H, W) uint8 map to (rows, cols)."""
    if lab.shape == (rows, cols):
        return lab
    return cv2.resize(lab, (cols, rows), interpolation=cv2.INTER_NEAREST)


def labels_from_acc(acc: Tensor,
                    out_hw: Tuple[int, int],
                    unpad_fn: Optional[Callable[[Tensor], Tensor]] = None
                    ) -> np.ndarray:
    """Argmax of the accumulated probabilities, slice by slice, at the
    original in-plane size.

    Each slice: argmax over classes (ties -> the lowest id, as the
    original's ``smart_aggregate``), padding removed by ``unpad_fn`` (on a
    (1, 1, H, W) map), nearest-neighbour resize to ``out_hw``.

    Args:
        acc (Tensor): (K, T, H, W).
        out_hw (tuple[int, int]): (rows, cols) of the output slices.
        unpad_fn (Callable, optional): Removes the padding.

    Returns:
        np.ndarray: (rows, cols, T) uint8.
    """
    rows, cols = out_hw
    out = np.empty((rows, cols, acc.size(1)), np.uint8)
    for t in range(acc.size(1)):
        lab = acc[:, t].float().argmax(0)[None, None]
        if unpad_fn is not None:
            lab = unpad_fn(lab)
        out[..., t] = _nearest(lab[0, 0].to('cpu', torch.uint8).numpy(),
                               rows, cols)
    return out


def resize_labels(labels: Tensor, out_hw: Tuple[int, int]) -> np.ndarray:
    """(T, H, W) ids -> (rows, cols, T) uint8, nearest neighbour."""
    rows, cols = out_hw
    out = np.empty((rows, cols, labels.size(0)), np.uint8)
    for t, lab in enumerate(labels):
        out[..., t] = _nearest(lab.to(torch.uint8).numpy(), rows, cols)
    return out
