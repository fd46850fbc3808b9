"""Speed and peak memory of label propagation: streaming vs all frames.

``'streaming'`` is :func:`mmvidseg.models.utils.propagate_video` fed one
frame at a time (the features of at most ``queue_len + 1`` frames and one
query tile's affinities are alive). ``'all_frames'`` is the straightforward
evaluation of the same maths: the features and labels of every frame stay
in memory and each target's full ((L+1)hw x hw) affinity is built at once.
"""
from typing import Dict, Iterator, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmvidseg.apis.benchmark import _cpu_name, timed_peak
from mmvidseg.models.utils import propagate_video, radius_mask

IMPLEMENTATIONS = ('streaming', 'all_frames')


def propagate_all_frames(feats: Tensor,
                         first_labels: Tensor,
                         queue_len: int = 20,
                         temperature: float = 0.05,
                         topk: int = 10,
                         radius: float = 12.) -> Tensor:
    """Whole-video label propagation with full affinity matrices.

    Args:
        feats (Tensor): (T, C, h, w) features of every frame (normalised
            here over C).
        first_labels (Tensor): (K, h, w) frame-0 labels.
        queue_len (int): Short-term context frames L.
        temperature (float): Softmax temperature.
        topk (int): Context positions kept per query.
        radius (float): Short-term spatial radius (grid units).

    Returns:
        Tensor: (T, K, h, w) soft labels (frame 0: the given labels).
    """
    num, c, h, w = feats.shape
    hw, k_cls = h * w, first_labels.size(0)
    keys = F.normalize(feats, dim=1).flatten(2)  # (T, C, hw)
    labels = feats.new_zeros(num, k_cls, hw)
    labels[0] = first_labels.reshape(k_cls, hw)
    mask = radius_mask(h, w, radius, feats.device).to(feats)  # symmetric
    for t in range(1, num):
        ctx = [0] + [max(s, 0) for s in range(t - queue_len, t)]
        n = len(ctx)
        # (hw, n*hw): query x context position
        aff = keys[t].t() @ torch.cat([keys[i] for i in ctx], 1)
        aff.view(hw, n, hw)[:, 1:] += mask[:, None]
        aff /= temperature
        weights, idx = aff.topk(min(topk, n * hw), dim=1)
        weights = weights.softmax(dim=1)
        ctx_labels = torch.cat([labels[i] for i in ctx], 1)
        labels[t] = (ctx_labels[:, idx.t()] * weights.t()[None]).sum(1)
        del aff
    return labels.view(num, k_cls, h, w)


def _frames(num: int, channels: int, hw: Tuple[int, int],
            device: torch.device, seed: int) -> Iterator[Tensor]:
    """Synthetic per-frame features (C, h, w), made lazily."""
    g = torch.Generator(device=device).manual_seed(seed)
    for _ in range(num):
        yield torch.randn(channels, *hw, generator=g, device=device)


def _first_labels(num_classes: int, hw: Tuple[int, int],
                  device: torch.device, seed: int) -> Tensor:
    g = torch.Generator(device=device).manual_seed(seed + 1)
    ids = torch.randint(0, num_classes, hw, generator=g, device=device)
    return F.one_hot(ids, num_classes).permute(2, 0, 1).float()


def benchmark_propagation(num_frames: int,
                          feat_hw: Tuple[int, int],
                          channels: int,
                          num_classes: int,
                          queue_len: int = 20,
                          topk: int = 10,
                          radius: float = 12.,
                          device: str = 'cpu',
                          implementation: str = 'streaming',
                          temperature: float = 0.05,
                          chunk_size: Optional[int] = 256,
                          seed: int = 0) -> Dict[str, object]:
    """Time one synthetic video through label propagation.

    Features are random (C, h, w) maps made inside the measured region (the
    stand-in for the encoder: streaming makes them one at a time,
    ``'all_frames'`` all before propagating, as the original evaluation).

    Args:
        num_frames (int): Frames T of the video (>= 2).
        feat_hw (tuple[int, int]): Feature grid (h, w); DAVIS 480x854 at
            stride 8 is (60, 107).
        channels (int): Feature channels C.
        num_classes (int): Label channels K.
        queue_len (int): Short-term context frames L.
        topk (int): Context positions kept per query.
        radius (float): Short-term radius (grid units).
        device (str): Torch device.
        implementation (str): ``'streaming'`` or ``'all_frames'``.
        temperature (float): Softmax temperature.
        chunk_size (int, optional): Query tile size of ``'streaming'``.
        seed (int): Seed of the synthetic features and labels.

    Returns:
        dict: ``sec_per_frame`` (wall time / (T - 1) propagated frames),
        ``peak_mem_mib`` (CUDA: allocator peak above the allocation at
        start; CPU: peak resident memory above the size at start,
        sampled by :class:`PeakRSS`) and the settings.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f'implementation must be one of {IMPLEMENTATIONS}')
    if num_frames < 2:
        raise ValueError('num_frames must be >= 2')
    dev = torch.device(device)
    hw = tuple(feat_hw)
    kwargs = dict(queue_len=queue_len, temperature=temperature, topk=topk,
                  radius=radius)

    @torch.no_grad()
    def run(num: int, size: Tuple[int, int]) -> None:
        y0 = _first_labels(num_classes, size, dev, seed)
        frames = _frames(num, channels, size, dev, seed)
        if implementation == 'streaming':
            for _ in propagate_video(frames, y0, chunk_size=chunk_size,
                                     **kwargs):
                pass
        else:
            propagate_all_frames(torch.stack(list(frames)), y0, **kwargs)

    run(2, (8, 8))  # warm-up: thread pools, kernels
    cuda = dev.type == 'cuda'
    elapsed, peak = timed_peak(lambda _: run(num_frames, hw), 1, 0, dev,
                               None)
    return dict(
        implementation=implementation,
        sec_per_frame=elapsed / (num_frames - 1),
        peak_mem_mib=peak,
        settings=dict(
            device=str(dev),
            device_name=(torch.cuda.get_device_name(dev) if cuda else
                         _cpu_name()),
            torch=torch.__version__, threads=torch.get_num_threads(),
            num_frames=num_frames, feat_hw=list(hw), channels=channels,
            num_classes=num_classes, queue_len=queue_len, topk=topk,
            radius=radius, temperature=temperature,
            chunk_size=chunk_size if implementation == 'streaming' else
            None))
