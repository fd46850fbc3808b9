"""Throughput and peak memory of training steps and streaming inference.

The measuring tools (:class:`PeakRSS`, :func:`timed_peak`) are shared with
:mod:`mmvidseg.utils.read_benchmark` (memory read and label propagation
alone). Everything is decided from the built model, never from config or
class names: streaming goes through the streaming contract
(:class:`~mmvidseg.models.segmentors.StreamingMixin`).
"""
import copy
import os
import platform
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.registry import MODELS, TASK_UTILS

MODES = ('train', 'stream', 'both')


def resident_bytes() -> Optional[int]:
    """Resident size of this process (bytes); None where unknown."""
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except (OSError, AttributeError, ValueError):
        return None


class PeakRSS:
    """Peak resident memory of this process while the block runs (MiB).

    A thread samples ``/proc/self/statm`` every ``interval`` seconds; the
    result is the peak minus ``base`` (bytes; default: the resident size at
    entry). Linux only; on other systems ``peak_mib`` stays None.

    Args:
        interval (float): Sampling period in seconds.
        base (int, optional): Resident bytes to subtract from the peak.
    """

    def __init__(self, interval: float = 0.002,
                 base: Optional[int] = None) -> None:
        self.interval = interval
        self.base = base
        self.peak_mib: Optional[float] = None

    def __enter__(self) -> 'PeakRSS':
        self._base = resident_bytes() if self.base is None else self.base
        self._peak = resident_bytes()
        self._stop = threading.Event()

        def run():
            while not self._stop.is_set():
                r = resident_bytes()
                if r is not None and r > self._peak:
                    self._peak = r
                time.sleep(self.interval)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self._base is not None and self._peak is not None:
            self.peak_mib = (self._peak - self._base) / 2**20


def device_settings(device: torch.device) -> dict:
    """Device, its name, the torch version and CPU threads (for reports)."""
    if device.type == 'cuda':
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
        try:
            with open('/proc/cpuinfo') as f:
                for line in f:
                    if line.startswith('model name'):
                        name = line.split(':', 1)[1].strip()
                        break
        except OSError:
            pass
    return dict(device=str(device), device_name=name,
                torch=torch.__version__, threads=torch.get_num_threads())


def timed_peak(fn: Callable[[int], None], iters: int, warmup: int,
               device: torch.device,
               base_rss: Optional[int]) -> Tuple[float, Optional[float]]:
    """Run ``fn(i)`` warmup + iters times; seconds per iter and peak MiB.

    CUDA: peak allocated memory above what was allocated before the timed
    iterations. CPU: peak resident memory above ``base_rss`` (default: the
    size when the timed iterations start).
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


def fake_batch(batch: int,
               clip: int,
               hw: Tuple[int, int],
               num_classes: int,
               video_id: str = 'bench',
               frame_id: int = 0,
               given_mask: bool = False,
               key_index: Optional[int] = None,
               frame_ids: Optional[List[int]] = None,
               clip_bounds: Optional[List[Tuple[int, int]]] = None) -> dict:
    """Random uint8 clips (T, 3, H, W) with labels of every frame
    (``gt_clip_seg``; the key frame's in ``gt_sem_seg``).

    With ``given_mask`` every sample also carries its label as the mask
    given to a streaming model (``given_sem_seg``). ``key_index`` defaults
    to the last frame, ``frame_ids`` and ``clip_bounds`` (metainfo; the
    clips in the clip, e.g. MS-TFAL's ``[(0, L), (L, 2L)]``) to none.
    """
    key = clip - 1 if key_index is None else key_index
    from mmvidseg.models.segmentors import GIVEN_MASK_FIELD
    g = torch.Generator().manual_seed(frame_id)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.randint(0, 256, (clip, 3, *hw), generator=g,
                          dtype=torch.uint8))
        s = SegDataSample()
        labels = torch.randint(0, num_classes, (clip, *hw), generator=g)
        s.gt_clip_seg = PixelData(data=labels)
        s.gt_sem_seg = PixelData(data=labels[key:key + 1].clone())
        if given_mask:
            s.set_field(PixelData(data=s.gt_sem_seg.data.clone()),
                        GIVEN_MASK_FIELD)
        s.set_metainfo(
            dict(ori_shape=hw, img_shape=hw, pad_shape=hw,
                 padding_size=[0, 0, 0, 0], key_index=key,
                 video_id=video_id, frame_id=frame_id, flip=False))
        if frame_ids is not None:
            s.set_metainfo(dict(frame_ids=list(frame_ids)))
        if clip_bounds is not None:
            s.set_metainfo(
                dict(clip_bounds=[tuple(b) for b in clip_bounds]))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def _train_policy(cfg: Config):
    dataset = (cfg.get('train_dataloader') or {}).get('dataset') or {}
    for step in dataset.get('pipeline') or []:
        if step.get('type') == 'SampleClip':
            policy = step['policy']
            return TASK_UTILS.build(policy) if isinstance(policy,
                                                          dict) else policy
    return None


def train_clip_len(cfg: Config) -> int:
    """Frames per clip of the config's training pipeline (its clip policy's
    ``clip_len``); 1 without a ``SampleClip`` step."""
    policy = _train_policy(cfg)
    return 1 if policy is None else int(policy.clip_len)


def train_key_index(cfg: Config, clip_len: int) -> int:
    """Position of the key frame in the training clips (the policy's, for a
    key frame in the middle of a long video; else the last frame)."""
    policy = _train_policy(cfg)
    if policy is None or int(policy.clip_len) != clip_len:
        return clip_len - 1
    return int(policy(50, 101)[1])


def _input_shape(model_cfg: dict,
                 shape: Optional[Tuple[int, int]]) -> Tuple[int, int]:
    """The (H, W) to run; ``shape`` also becomes the data preprocessor's
    padding ``size`` (it would pad training batches to the crop size)."""
    pre = model_cfg.get('data_preprocessor')
    if shape is None:
        size = pre.get('size') if pre else None
        return tuple(size) if size else (512, 512)
    if pre is not None:
        pre['size'] = tuple(shape)
    return tuple(shape)


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
        cfg (Config): Full config (model; optim_wrapper for training).
        mode (str): ``'train'``, ``'stream'`` or ``'both'``.
        device (str): Torch device.
        shape (tuple, optional): (H, W) of the frames; also the data
            preprocessor's padding size. Defaults to that size or 512x512.
        batch_size (int): Clips per training step.
        clip_len (int, optional): Frames per training clip (default: the
            training pipeline's, see :func:`train_clip_len`); also the clip
            of the clip-mode inference compared with streaming.
        iters (int): Timed iterations (warm-up excluded).
        warmup (int): Untimed iterations.
        checkpoint (str, optional): Weights to load (speed does not depend
            on them).

    Returns:
        dict: ``settings`` and, per mode (``stream``, ``clip_infer``,
        ``train``), ``sec_per_iter``, ``frames_per_sec``, ``input_hw`` (the
        size the model ran on, after the data preprocessor) and
        ``peak_mem_mib`` (CUDA: allocator peak during the timed iterations;
        CPU: peak resident memory above the process's size before the model
        was built, so it includes weights, optimizer state and
        activations). Streaming runs before training so that its CPU figure
        does not include the training step's memory.

    Raises:
        ValueError: Unknown mode.
        KeyError: Training without ``optim_wrapper`` in the config.
        TypeError: Streaming a model without the streaming contract.
    """
    import mmvidseg  # noqa: F401 (registers the modules)
    from mmvidseg.models.segmentors import StreamingMixin
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    train, stream = mode in ('train', 'both'), mode in ('stream', 'both')
    if train and cfg.get('optim_wrapper') is None:
        raise KeyError('training needs optim_wrapper in the config; '
                       'benchmark an inference-only model with mode stream')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    shape = _input_shape(model_cfg, shape)
    base_rss = resident_bytes()  # before the model exists
    dev = torch.device(device)
    model = MODELS.build(model_cfg).to(dev)
    if checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu')
    streaming = isinstance(model, StreamingMixin)
    if stream and not streaming:
        raise TypeError(f'{type(model).__name__} does not implement the '
                        'streaming contract (StreamingMixin); it cannot be '
                        'benchmarked in streaming mode')
    clip_len = int(clip_len or train_clip_len(cfg))
    # random labels: classes of a segmentor, objects of a propagation model
    num_classes = getattr(model, 'num_classes', 3)
    report: Dict[str, dict] = dict(
        settings=dict(
            model=type(model).__name__, **device_settings(dev),
            shape=list(shape), batch_size=batch_size, clip_len=clip_len,
            streaming_model=streaming, iters=iters, warmup=warmup))
    if stream:
        report.update(
            _stream(model, shape, num_classes, clip_len, iters, warmup, dev,
                    base_rss))
    if train:
        model.train()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        batch = fake_batch(batch_size, clip_len, shape, num_classes,
                           key_index=train_key_index(cfg, clip_len))
        hw = _model_input_hw(model, batch_size, clip_len, shape,
                             num_classes, True)

        def step(_):
            model.train_step(batch, optim)

        sec, peak = timed_peak(step, iters, warmup, dev, base_rss)
        report['train'] = dict(
            sec_per_iter=sec, frames_per_sec=batch_size * clip_len / sec,
            key_frames_per_sec=batch_size / sec, input_hw=hw,
            peak_mem_mib=peak)
    return report


def _model_input_hw(model, batch: int, clip: int, shape: Tuple[int, int],
                    num_classes: int, training: bool) -> List[int]:
    """(H, W) of the inputs after the model's data preprocessor."""
    with torch.no_grad():
        data = model.data_preprocessor(
            fake_batch(batch, clip, shape, num_classes), training)
    return list(data['inputs'].shape[-2:])


def _stream(model, shape: Tuple[int, int], num_classes: int, clip_len: int,
            iters: int, warmup: int, dev: torch.device,
            base_rss: Optional[int]) -> Dict[str, dict]:
    """Streaming inference, then the same frames in clip mode (models that
    can run whole clips) where the clip has memory frames."""
    model.eval()
    if not model.is_streaming:
        model.enable_streaming()  # clip-mode config: stream like inference
    model.reset_state()
    given = model.requires_given_mask
    hw = _model_input_hw(model, 1, 1, shape, num_classes, False)

    @torch.no_grad()
    def frame(i):
        # the clip a frame reader gives (e.g. SALI's [t, t+1])
        ids, key = model.stream_frame_ids(i, False)
        model.test_step(
            fake_batch(1, len(ids), shape, num_classes, frame_id=i,
                       given_mask=given and i == 0, key_index=key,
                       frame_ids=ids))

    sec, peak = timed_peak(frame, iters, warmup, dev, base_rss)
    out = dict(stream=dict(sec_per_iter=sec, frames_per_sec=1.0 / sec,
                           input_hw=hw, peak_mem_mib=peak))
    model.reset_state()
    if clip_len > 1 and model.runs_clips:
        # the memory frames are encoded again for every key frame
        model.disable_streaming()

        @torch.no_grad()
        def clip(i):
            model.test_step(
                fake_batch(1, clip_len, shape, num_classes, frame_id=i))

        sec, peak = timed_peak(clip, iters, warmup, dev, base_rss)
        out['clip_infer'] = dict(sec_per_iter=sec, frames_per_sec=1.0 / sec,
                                 input_hw=hw, peak_mem_mib=peak)
    return out


def format_report(report: Dict[str, dict]) -> List[str]:
    """Printable lines: the settings, then one line per measurement.

    Memory-read reports (``settings.benchmark == 'memory_read'``) name their
    lines ``<implementation> read``.
    """
    settings = report.get('settings', {})
    lines = ['settings: ' + ', '.join(f'{k}={v}'
                                      for k, v in settings.items())]
    suffix = ' read' if settings.get('benchmark') == 'memory_read' else ''
    for name, r in report.items():
        if name == 'settings':
            continue
        parts = []
        if 'sec_per_frame' in r:
            parts.append(f"{r['sec_per_frame'] * 1000:.1f} ms/frame")
        if 'sec_per_iter' in r:
            parts.append(f"{r['sec_per_iter'] * 1000:.2f} ms/iter")
        if 'frames_per_sec' in r:
            parts.append(f"{r['frames_per_sec']:.2f} frames/s")
        if 'input_hw' in r:
            parts.append('input {}x{}'.format(*r['input_hw']))
        peak = r.get('peak_mem_mib')
        parts.append('peak memory ' +
                     ('n/a' if peak is None else f'{peak:.1f} MiB'))
        lines.append(f'{name}{suffix}: ' + ', '.join(parts))
    return lines
