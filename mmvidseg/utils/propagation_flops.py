"""Arithmetic work of CRW label propagation and the machine's matmul peak.

The affinity products dominate label propagation: every query position of
a target frame is compared with the context keys over C channels (a
multiply and an add each, 2 FLOP). Three counts per target frame:

* ``dense``: every position of the ``L + 1`` context frames, as the
  original evaluation computes (``2 C (L+1) hw^2``);
* ``within_radius``: only the keys that can receive weight, frame 0's
  ``hw`` and, on each short-term frame, the positions at grid distance
  ``< radius`` (the work any exact method must do);
* ``streaming``: what :class:`LabelPropagationState` multiplies, frame 0
  whole and the band of rows/columns within reach of each query tile (the
  whole frame when the band covers most of it).
"""
import math
import time
from typing import Dict, List, Optional, Tuple

import torch

from mmvidseg.models.utils.tiled_read import (FULL_BAND, MAX_BLOCK, KeyGroup,
                                              plan_tiles, reach_of)


def radius_pairs(h: int, w: int, radius: float) -> int:
    """Ordered (query, key) position pairs of an (h, w) grid at Euclidean
    distance ``< radius`` (the same position included)."""
    dy = torch.arange(-h + 1, h)[:, None]
    dx = torch.arange(-w + 1, w)[None]
    near = (dy.square() + dx.square()).float()**0.5 < radius
    count = (h - dy.abs()) * (w - dx.abs())
    return int(count[near].sum())


def _streaming_keys(hw: Tuple[int, int], channels: int, queue_len: int,
                    radius: float, chunk_size: Optional[int], topk: int,
                    num_classes: int, max_block: int) -> int:
    """(query, key) products of one streaming step, tile by tile."""
    h, w = hw

    def entry(c):  # shapes only: nothing is allocated
        return torch.zeros(()).expand(1, h, w, c)

    groups = [KeyGroup([entry(channels)], [entry(num_classes)])]
    if queue_len:
        groups.append(
            KeyGroup([entry(channels)] * queue_len,
                     [entry(num_classes)] * queue_len, radius))
    tiles = plan_tiles(h * w, hw, groups, 1, chunk_size, max_block, topk)
    reach = max(reach_of(radius, h, w), -1)
    pairs = 0
    for r0, r1, c0, c1 in tiles:
        band = 0 if reach < 0 else \
            (min(r1 + reach, h) - max(r0 - reach, 0)) * \
            (min(c1 + reach, w) - max(c0 - reach, 0))
        if band >= FULL_BAND * h * w:  # read as the whole frame
            band = h * w
        pairs += (r1 - r0) * (c1 - c0) * (h * w + queue_len * band)
    return pairs


def propagation_gflop(feat_hw: Tuple[int, int],
                      channels: int,
                      queue_len: int = 20,
                      radius: float = 12.,
                      chunk_size: Optional[int] = 256,
                      topk: int = 10,
                      num_classes: int = 3,
                      max_block: int = MAX_BLOCK) -> Dict[str, float]:
    """Affinity work of one target frame, in GFLOP (1e9).

    Args:
        feat_hw (tuple[int, int]): Feature grid (h, w).
        channels (int): Feature channels C.
        queue_len (int): Short-term context frames L.
        radius (float): Short-term radius (grid units).
        chunk_size (int, optional): Query tile size of the streaming read.
        topk (int): Top-k (it bounds the streaming tiles).
        num_classes (int): Label channels (they bound the tiles too).
        max_block (int): Largest logit block of the streaming read.

    Returns:
        dict: ``dense``, ``within_radius`` and ``streaming`` (see the
        module docstring).
    """
    h, w = feat_hw
    hw = h * w
    flop = 2 * channels / 1e9
    return dict(
        dense=flop * (queue_len + 1) * hw * hw,
        within_radius=flop * (hw * hw +
                              queue_len * radius_pairs(h, w, radius)),
        streaming=flop * _streaming_keys(
            (h, w), channels, queue_len, radius, chunk_size, topk,
            num_classes, max_block))


def matmul_peak(device: str = 'cpu',
                size: int = 2048,
                iters: int = 5) -> Dict[str, float]:
    """fp32 matrix-product speed of this machine (the peak reference).

    Multiplies two (size x size) fp32 matrices ``iters`` times after one
    warm-up, with the current torch thread count.

    Returns:
        dict: ``gflops`` (best of the iterations, wall time: the least
        disturbed by other processes), ``gflops_median`` and ``size``.
    """
    dev = torch.device(device)
    a = torch.randn(size, size, device=dev)
    b = torch.randn(size, size, device=dev)
    out = torch.empty(size, size, device=dev)

    def once() -> float:
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        if dev.type == 'cuda':
            torch.cuda.synchronize(dev)
        return time.perf_counter() - start

    once()
    times = sorted(once() for _ in range(max(iters, 1)))
    work = 2 * size**3 / 1e9
    return dict(gflops=work / times[0],
                gflops_median=work / times[len(times) // 2],
                size=size)


def peak_fraction(gflop: float, sec: float, peak_gflops: float) -> float:
    """Fraction of the peak reached by ``gflop`` of work in ``sec``."""
    if sec <= 0 or peak_gflops <= 0 or not math.isfinite(sec):
        raise ValueError('time and peak must be positive')
    return gflop / sec / peak_gflops


def format_propagation_report(report: Dict[str, dict]) -> List[str]:
    """Printable lines of a :func:`run_propagation_benchmark` report: the
    settings, the work per frame, then one line per implementation."""
    settings = dict(report.get('settings', {}))
    work = settings.pop('gflop_per_frame', None)
    peak = settings.pop('matmul_peak_gflops', None)
    lines = ['settings: ' + ', '.join(f'{k}={v}'
                                      for k, v in settings.items())]
    if work:
        line = 'affinity work per frame: ' + ', '.join(
            f'{k} {v:.1f} GFLOP' for k, v in work.items())
        if peak:
            line += f'; fp32 matmul peak {peak:.1f} GFLOP/s'
        lines.append(line)
    for name, r in report.items():
        if name == 'settings':
            continue
        parts = [f"{r['sec_per_frame'] * 1000:.1f} ms/frame"]
        if r.get('cpu_sec_per_frame') is not None:
            parts[0] += f" (CPU {r['cpu_sec_per_frame'] * 1000:.1f} ms)"
        parts.append(f"{r['frames_per_sec']:.2f} frames/s")
        if 'num_frames' in r:
            parts.append(f"{r['num_frames']} frames")
        mem = r.get('peak_mem_mib')
        parts.append('peak memory ' +
                     ('n/a' if mem is None else f'{mem:.1f} MiB'))
        if r.get('process_peak_rss_mib') is not None:
            parts.append(f"process peak {r['process_peak_rss_mib']:.1f} MiB")
        if 'gflops' in r:
            parts.append(f"{r['gflop_per_frame']:.1f} GFLOP/frame at "
                         f"{r['gflops']:.1f} GFLOP/s")
        if 'peak_fraction' in r:
            parts.append(f"{100 * r['peak_fraction']:.0f}% of peak "
                         f"(within-radius work: "
                         f"{100 * r['useful_peak_fraction']:.0f}%)")
        lines.append(f'{name}: ' + ', '.join(parts))
    return lines
