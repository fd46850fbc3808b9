"""Speed and peak memory of the memory read and of label propagation alone.

Both run on random features (the stand-in for the encoder) and compare the
library's implementation with the straightforward one of
:mod:`mmvidseg.utils.benchmark_references`:

* memory read: ``scaled_dot_product_attention`` (:func:`sdpa`) against
  matmul-softmax-matmul, at the sizes read from a built decode head;
* label propagation: ``'streaming'`` is :func:`propagate_video` fed one
  frame at a time (the features of at most ``queue_len + 1`` frames and one
  query tile's affinities are alive); ``'original'`` is the original
  evaluation's formulation (:func:`propagate_videowalk`: every frame's
  features, then the T x (L+1) x C x hw key tensor, then the top-k
  affinities of every target, then the labels). Settings come from a built
  propagation model.
"""
import copy
import multiprocessing
import time
from typing import Dict, Iterator, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import Tensor

from mmvidseg.registry import MODELS

from .benchmark import (device_settings, resident_bytes, timed_peak,
                        train_clip_len)
from .benchmark_references import plain_memory_read, propagate_videowalk
from .propagation_flops import matmul_peak, propagation_gflop

IMPLEMENTATIONS = ('streaming', 'original')


def _build_model(cfg: Config):
    import mmvidseg  # noqa: F401 (registers the modules)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return MODELS.build(copy.deepcopy(cfg.model))


def _feature_hw(shape: Tuple[int, int], stride: int) -> Tuple[int, int]:
    """Feature grid (h, w) of an (H, W) input at ``stride``."""
    return -(-shape[0] // stride), -(-shape[1] // stride)


# ------------------------------------------------------------- memory read
def benchmark_memory_read(hw: Tuple[int, int],
                          num_memory: int,
                          key_channels: int,
                          value_channels: int,
                          device: str = 'cpu',
                          batch_size: int = 1,
                          iters: int = 10,
                          warmup: int = 3,
                          scale: float = 1.0) -> Dict[str, dict]:
    """Time the memory read alone: SDPA against matmul-softmax-matmul.

    Args:
        hw (tuple[int, int]): Feature size (h, w) of every frame.
        num_memory (int): Memory frames T (keys: T*h*w tokens).
        key_channels (int): Key channels.
        value_channels (int): Value channels.
        device (str): Torch device.
        batch_size (int): Clips per read.
        iters (int): Timed iterations.
        warmup (int): Untimed iterations.
        scale (float): Affinity scale (TMANet: 1.0, no 1/sqrt(Ck)).

    Returns:
        dict: ``settings``, ``sdpa`` and ``plain`` with ``sec_per_iter`` and
        ``peak_mem_mib`` (forward only, no autograd).
    """
    from mmvidseg.models.utils import sdpa as sdpa_read
    dev = torch.device(device)
    n_q = hw[0] * hw[1]
    g = torch.Generator(device=dev).manual_seed(0)
    q = torch.randn(batch_size, n_q, key_channels, device=dev, generator=g)
    k = torch.randn(batch_size, num_memory * n_q, key_channels, device=dev,
                    generator=g)
    v = torch.randn(batch_size, num_memory * n_q, value_channels,
                    device=dev, generator=g)
    base_rss = resident_bytes()
    report: Dict[str, dict] = dict(settings=dict(
        benchmark='memory_read', **device_settings(dev),
        feature_hw=list(hw), memory_frames=num_memory,
        key_channels=key_channels, value_channels=value_channels,
        scale=scale, batch_size=batch_size, iters=iters, warmup=warmup))
    reads = (('sdpa', sdpa_read), ('plain', plain_memory_read))
    for name, read in reads:
        sec, peak = timed_peak(
            torch.no_grad()(lambda _, read=read: read(q, k, v, scale)),
            iters, warmup, dev, base_rss)
        report[name] = dict(sec_per_iter=sec, peak_mem_mib=peak)
    return report


def head_read_settings(head, num_memory: Optional[int] = None) -> dict:
    """Memory-read sizes of a built decode head, from its attributes.

    The head must have ``key_channels`` and ``value_channels``; its memory
    frames are ``head.num_memory_frames`` (None: a head that reads any
    number, then ``num_memory``) and its affinity ``head.affinity`` or, for
    TMANet's head, ``'scaled_dot'`` / ``'dot'`` after ``head.matmul_norm``.

    Args:
        head (nn.Module): The built decode head.
        num_memory (int, optional): Memory frames of a head that reads any
            number of them (e.g. the training clip's).

    Returns:
        dict: ``num_memory``, ``key_channels``, ``value_channels`` and
        ``scale``.

    Raises:
        ValueError: Missing attributes, or an affinity that is not a scaled
            dot product.
    """
    from mmvidseg.models.utils import affinity_scale
    name = type(head).__name__
    missing = [
        a for a in ('key_channels', 'value_channels')
        if not isinstance(getattr(head, a, None), int)
    ]
    num_memory = getattr(head, 'num_memory_frames', None) or num_memory
    if not num_memory:
        missing.append('num_memory_frames')
    if missing:
        raise ValueError(f'decode head {name} has no {", ".join(missing)}: '
                         'no memory read to benchmark')
    affinity = getattr(head, 'affinity', None)
    if affinity is None:
        affinity = 'scaled_dot' if getattr(head, 'matmul_norm',
                                           False) else 'dot'
    if affinity not in ('dot', 'scaled_dot'):
        raise ValueError(f'decode head {name} reads with the {affinity!r} '
                         'affinity; only dot products are benchmarked')
    return dict(num_memory=int(num_memory),
                key_channels=head.key_channels,
                value_channels=head.value_channels,
                scale=affinity_scale(affinity, head.key_channels))


def run_memory_read_benchmark(cfg: Config,
                              device: str = 'cpu',
                              shape: Optional[Tuple[int, int]] = None,
                              batch_size: int = 1,
                              iters: int = 10,
                              warmup: int = 3,
                              feature_stride: int = 8) -> Dict[str, dict]:
    """:func:`benchmark_memory_read` at the sizes of a config's decode head.

    Args:
        cfg (Config): Config whose built model has a memory-read decode head
            (see :func:`head_read_settings`).
        shape (tuple, optional): Input (H, W); default: the built data
            preprocessor's ``size``, else 512x512.
        feature_stride (int): Stride of the head's input features.
        Others: see :func:`benchmark_memory_read`.
    """
    model = _build_model(cfg)
    if getattr(model, 'decode_head', None) is None:
        raise ValueError(f'{type(model).__name__} has no decode_head: no '
                         'memory read to benchmark')
    read = head_read_settings(model.decode_head, train_clip_len(cfg) - 1)
    if shape is None:
        size = getattr(model.data_preprocessor, 'size', None)
        shape = tuple(size) if size else (512, 512)
    hw = _feature_hw(shape, feature_stride)
    del model
    report = benchmark_memory_read(hw, device=device, batch_size=batch_size,
                                   iters=iters, warmup=warmup, **read)
    report['settings'].update(shape=list(shape),
                              feature_stride=feature_stride)
    return report


# ------------------------------------------------------- label propagation
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

    Features are random (C, h, w) maps made inside the measured region
    (``'streaming'`` makes them one at a time, ``'original'`` all before
    propagating, as the original evaluation computes every frame's
    features first).

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
        implementation (str): ``'streaming'`` or ``'original'``.
        temperature (float): Softmax temperature.
        chunk_size (int, optional): Query tile size of ``'streaming'``.
        seed (int): Seed of the synthetic features and labels.

    Returns:
        dict: ``sec_per_frame`` (wall time / (T - 1) propagated frames),
        ``cpu_sec_per_frame`` (CPU time of the process, all threads),
        ``frames_per_sec``, ``peak_mem_mib`` (CUDA: allocator peak above
        the allocation at start; CPU: peak resident memory above the size
        at start) and the settings.
    """
    from mmvidseg.models.utils import propagate_video
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
            propagate_videowalk(torch.stack(list(frames)), y0, **kwargs)

    run(2, (8, 8))  # warm-up: thread pools, kernels
    cpu = time.process_time()
    elapsed, peak = timed_peak(lambda _: run(num_frames, hw), 1, 0, dev,
                               None)
    cpu = time.process_time() - cpu
    sec = elapsed / (num_frames - 1)
    return dict(
        implementation=implementation, sec_per_frame=sec,
        cpu_sec_per_frame=cpu / (num_frames - 1),
        frames_per_sec=1.0 / sec, peak_mem_mib=peak,
        settings=dict(
            **device_settings(dev), num_frames=num_frames,
            feat_hw=list(hw), channels=channels, num_classes=num_classes,
            queue_len=queue_len, topk=topk, radius=radius,
            temperature=temperature,
            chunk_size=chunk_size if implementation == 'streaming' else
            None))


def _process_peak_mib() -> Optional[float]:
    """Peak resident memory of this process (VmHWM, MiB); None if unknown.
    """
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _isolated_propagation(kwargs: dict, threads: int) -> dict:
    """:func:`benchmark_propagation` in a fresh process (``spawn``), with the
    caller's thread count; adds ``process_peak_rss_mib``."""
    torch.set_num_threads(threads)
    res = benchmark_propagation(**kwargs)
    res['process_peak_rss_mib'] = _process_peak_mib()
    return res


def propagation_settings(model) -> dict:
    """Propagation settings of a built model that propagates given masks.

    Such a model follows the streaming contract, starts from given masks
    (``requires_given_mask``) and keeps its propagation settings in
    ``prop_cfg`` (``queue_len``, ``temperature``, ``topk``, ``radius``,
    optionally ``chunk_size``).

    Raises:
        ValueError: Any other model.
    """
    from mmvidseg.models.segmentors import StreamingMixin
    prop_cfg = getattr(model, 'prop_cfg', None)
    keys = ('queue_len', 'temperature', 'topk', 'radius')
    if not (isinstance(model, StreamingMixin) and model.requires_given_mask
            and isinstance(prop_cfg, dict)
            and all(k in prop_cfg for k in keys)):
        raise ValueError(
            f'{type(model).__name__} is not a label-propagation model (a '
            'streaming model that starts from given masks and has a '
            f'prop_cfg with {", ".join(keys)})')
    out = {k: prop_cfg[k] for k in keys}
    out['chunk_size'] = prop_cfg.get('chunk_size', 256)
    return out


def run_propagation_benchmark(cfg: Config,
                              num_frames: int = 100,
                              shape: Tuple[int, int] = (480, 854),
                              channels: Optional[int] = None,
                              num_objects: int = 3,
                              device: str = 'cpu',
                              reference_frames: Optional[int] = None,
                              isolate: bool = False,
                              measure_peak: bool = False
                              ) -> Dict[str, dict]:
    """Both propagation implementations with a config's model settings.

    The built model gives the propagation settings
    (:func:`propagation_settings`) and, from one small forward pass, its
    feature stride and channels. The affinity work per frame
    (:func:`propagation_gflop`) is reported with the rate each
    implementation reached and, with ``measure_peak``, the fraction of the
    machine's fp32 matrix-product peak (:func:`matmul_peak`).

    Args:
        cfg (Config): Config of a label-propagation model.
        num_frames (int): Video length of ``'streaming'``.
        shape (tuple): Frame size (H, W); DAVIS 480p by default.
        channels (int, optional): Feature channels (default: the model's).
        num_objects (int): Label channels K.
        device (str): Torch device.
        reference_frames (int, optional): Video length of ``'original'``
            (default: ``num_frames``); its memory grows with the video
            (the key tensor holds T x (L+1) x C x hw floats).
        isolate (bool): Run each implementation in a fresh process
            (``spawn``): the memory figures are then those of a separate
            process, ``process_peak_rss_mib`` included.
        measure_peak (bool): Measure the matrix-product peak first.

    Returns:
        dict: ``settings`` (with ``gflop_per_frame``: ``dense``,
        ``within_radius``, ``streaming``), ``streaming`` and ``original``,
        each with ``sec_per_frame``, ``cpu_sec_per_frame``,
        ``frames_per_sec``, ``peak_mem_mib``, ``num_frames``,
        ``gflop_per_frame`` (computed), ``gflops`` (computed / time) and,
        with ``measure_peak``, ``useful_peak_fraction`` (the
        ``within_radius`` work / time / peak) and ``peak_fraction``
        (computed work / time / peak).
    """
    model = _build_model(cfg).eval()
    prop = propagation_settings(model)
    with torch.no_grad():
        feat = model(torch.zeros(1, 1, 3, 64, 64), mode='tensor')
    stride = 64 // feat.size(-1)
    channels = int(channels or feat.size(1))
    del model, feat
    hw = _feature_hw(shape, stride)
    work = propagation_gflop(hw, channels, prop['queue_len'],
                             prop['radius'], prop['chunk_size'],
                             prop['topk'], num_objects)
    peak = matmul_peak(device) if measure_peak else None
    report: Dict[str, dict] = {}
    for impl in IMPLEMENTATIONS:
        kwargs = dict(
            num_frames=num_frames if impl == 'streaming' else
            (reference_frames or num_frames), feat_hw=hw, channels=channels,
            num_classes=num_objects, device=device, implementation=impl,
            **prop)
        if isolate:
            ctx = multiprocessing.get_context('spawn')
            with ctx.Pool(1) as pool:
                res = pool.apply(_isolated_propagation,
                                 (kwargs, torch.get_num_threads()))
        else:
            res = benchmark_propagation(**kwargs)
        settings = res.pop('settings')
        gflop = work['streaming' if impl == 'streaming' else 'dense']
        res.update(num_frames=kwargs['num_frames'], gflop_per_frame=gflop,
                   gflops=gflop / res['sec_per_frame'])
        if peak is not None:
            res.update(
                useful_peak_fraction=work['within_radius'] /
                res['sec_per_frame'] / peak['gflops'],
                peak_fraction=res['gflops'] / peak['gflops'])
        report[impl] = res
    settings.update(shape=list(shape), feature_stride=stride,
                    gflop_per_frame=work, isolated=isolate)
    for key in ('chunk_size', 'num_frames'):
        settings.pop(key)
    settings['streaming_chunk_size'] = prop['chunk_size']
    if peak is not None:
        settings['matmul_peak_gflops'] = peak['gflops']
    return dict(settings=settings, **report)
