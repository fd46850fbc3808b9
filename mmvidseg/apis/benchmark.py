"""Throughput and peak memory of training steps and streaming inference."""
import os
import platform
import threading
import time
from typing import Callable, Dict, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.registry import MODELS


class PeakRSS:
    """Peak resident memory of this process while the block runs (MiB).

    A thread samples ``/proc/self/statm`` every ``interval`` seconds; the
    result is the peak minus ``base`` (bytes; default: the resident size at
    entry). Linux only; on other systems ``peak_mib`` stays None.
    """

    def __init__(self, interval: float = 0.002,
                 base: Optional[int] = None) -> None:
        self.interval = interval
        self.base = base
        self.peak_mib: Optional[float] = None
        self._page = os.sysconf('SC_PAGE_SIZE') if hasattr(os,
                                                           'sysconf') else 0

    def _rss(self) -> Optional[int]:
        try:
            with open('/proc/self/statm') as f:
                return int(f.read().split()[1]) * self._page
        except OSError:
            return None

    def __enter__(self) -> 'PeakRSS':
        self._base = self._rss() if self.base is None else self.base
        self._peak = self._rss()
        self._stop = threading.Event()

        def run():
            while not self._stop.is_set():
                r = self._rss()
                if r is not None and r > self._peak:
                    self._peak = r
                time.sleep(self.interval)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self._base is not None:
            self.peak_mib = (self._peak - self._base) / 2**20


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed_peak(fn: Callable[[int], None], iters: int, warmup: int,
               device: torch.device,
               base_rss: Optional[int]) -> Tuple[float, Optional[float]]:
    """Run ``fn(i)`` warmup + iters times; seconds per iter and peak MiB.

    CUDA: peak allocated memory above what was allocated before the timed
    iterations. CPU: peak resident memory above ``base_rss``.
    """
    cuda = device.type == 'cuda'
    for i in range(warmup):
        fn(i)
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    with PeakRSS(base=base_rss) as rss:
        start = time.perf_counter()
        for i in range(iters):
            fn(warmup + i)
        if cuda:
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - start
    if cuda:
        peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    else:
        peak = rss.peak_mib
    return elapsed / max(iters, 1), peak


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
        scale (float): Affinity scale (TMANet: 1.0, no 1/sqrt(Ck)).

    Returns:
        dict: ``settings``, ``sdpa`` and ``plain`` with ``sec_per_iter`` and
        ``peak_mem_mib`` (forward only, no autograd).
    """
    dev = torch.device(device)
    n_q = hw[0] * hw[1]
    g = torch.Generator(device=dev).manual_seed(0)
    q = torch.randn(batch_size, n_q, key_channels, device=dev, generator=g)
    k = torch.randn(batch_size, num_memory * n_q, key_channels, device=dev,
                    generator=g)
    v = torch.randn(batch_size, num_memory * n_q, value_channels,
                    device=dev, generator=g)
    base_rss = PeakRSS()._rss()

    from mmvidseg.models.utils import sdpa as sdpa_read

    @torch.no_grad()
    def sdpa(_):
        sdpa_read(q, k, v, scale)

    @torch.no_grad()
    def plain(_):
        attn = torch.softmax(scale * torch.bmm(q, k.transpose(1, 2)), -1)
        torch.bmm(attn, v)

    report: Dict[str, dict] = dict(settings=dict(
        device=str(dev),
        device_name=(torch.cuda.get_device_name(dev)
                     if dev.type == 'cuda' else _cpu_name()),
        torch=torch.__version__, feature_hw=list(hw), memory_frames=num_memory,
        key_channels=key_channels, value_channels=value_channels,
        batch_size=batch_size, iters=iters, warmup=warmup))
    for name, fn in (('sdpa', sdpa), ('plain', plain)):
        sec, peak = timed_peak(fn, iters, warmup, dev, base_rss)
        report[name] = dict(sec_per_iter=sec, peak_mem_mib=peak)
    return report


def _fake_batch(batch: int, clip: int, hw: Tuple[int, int], num_classes: int,
                video_id: str = 'bench', frame_id: int = 0) -> dict:
    g = torch.Generator().manual_seed(frame_id)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.randint(0, 256, (clip, 3, *hw), generator=g,
                          dtype=torch.uint8))
        s = SegDataSample()
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, *hw), generator=g))
        s.set_metainfo(
            dict(ori_shape=hw, img_shape=hw, pad_shape=hw,
                 padding_size=[0, 0, 0, 0], key_index=clip - 1,
                 video_id=video_id, frame_id=frame_id, flip=False))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def run_benchmark(cfg: Config,
                  mode: str = 'both',
                  device: str = 'cpu',
                  shape: Optional[Tuple[int, int]] = None,
                  batch_size: int = 1,
                  clip_len: Optional[int] = None,
                  iters: int = 10,
                  warmup: int = 3,
                  checkpoint: Optional[str] = None) -> Dict[str, dict]:
    """Benchmark a config's model on random clips.

    Args:
        cfg (Config): Full config (model, optim_wrapper).
        mode (str): ``'train'``, ``'stream'`` or ``'both'``.
        device (str): Torch device.
        shape (tuple, optional): (H, W); defaults to the data preprocessor's
            ``size`` or 512x512.
        batch_size (int): Clips per training step.
        clip_len (int, optional): Frames per training clip (default:
            ``stream_cfg.num_ref_frames + 1``).
        iters (int): Timed iterations (warm-up excluded).
        warmup (int): Untimed iterations.
        checkpoint (str, optional): Weights to load (speed does not depend
            on them).

    Returns:
        dict: ``settings`` and, per mode, ``sec_per_iter``,
        ``frames_per_sec`` and ``peak_mem_mib`` (CUDA: allocator peak during
        the timed iterations; CPU: peak resident memory above the process's
        size before the model was built, so it includes weights, optimizer
        state and activations). Streaming runs before training so that its
        CPU figure does not include the training step's memory.
    """
    import mmvidseg  # noqa: F401
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    base_rss = PeakRSS()._rss()  # before the model exists
    dev = torch.device(device)
    model = MODELS.build(cfg.model).to(dev)
    if checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu')
    if getattr(model, 'stream_cfg', 'missing') is None:
        model.enable_streaming()  # clip-mode config: stream like inference
    stream_cfg = getattr(model, 'stream_cfg', None) or {}
    num_ref = int(stream_cfg.get('num_ref_frames', 0))
    clip_len = clip_len or num_ref + 1
    if shape is None:
        size = cfg.model.get('data_preprocessor', {}).get('size')
        shape = tuple(size) if size else (512, 512)
    num_classes = model.num_classes
    report: Dict[str, dict] = dict(
        settings=dict(
            model=type(model).__name__, device=str(dev),
            device_name=(torch.cuda.get_device_name(dev)
                         if dev.type == 'cuda' else _cpu_name()),
            torch=torch.__version__, threads=torch.get_num_threads(),
            shape=list(shape), batch_size=batch_size, clip_len=clip_len,
            stream_ref_frames=num_ref, iters=iters, warmup=warmup))
    if mode in ('stream', 'both'):
        if not stream_cfg:
            raise ValueError('the model has no stream_cfg; streaming '
                             'inference cannot be benchmarked')
        model.eval()
        model.reset_state()

        @torch.no_grad()
        def frame(i):
            model.test_step(_fake_batch(1, 1, shape, num_classes,
                                        frame_id=i))

        sec, peak = timed_peak(frame, iters, warmup, dev, base_rss)
        report['stream'] = dict(
            sec_per_iter=sec, frames_per_sec=1.0 / sec, peak_mem_mib=peak)
        if num_ref:
            # the same frames in clip mode: the memory frames are encoded
            # again for every key frame
            saved = model.stream_cfg
            model.disable_streaming()

            @torch.no_grad()
            def clip(i):
                model.test_step(_fake_batch(1, num_ref + 1, shape,
                                            num_classes, frame_id=i))

            sec, peak = timed_peak(clip, iters, warmup, dev, base_rss)
            report['clip_infer'] = dict(
                sec_per_iter=sec, frames_per_sec=1.0 / sec,
                peak_mem_mib=peak)
            model.stream_cfg = saved
        model.reset_state()
    if mode in ('train', 'both'):
        model.train()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        batch = _fake_batch(batch_size, clip_len, shape, num_classes)

        def step(_):
            model.train_step(batch, optim)

        sec, peak = timed_peak(step, iters, warmup, dev, base_rss)
        report['train'] = dict(
            sec_per_iter=sec, frames_per_sec=batch_size * clip_len / sec,
            key_frames_per_sec=batch_size / sec, peak_mem_mib=peak)
    return report
