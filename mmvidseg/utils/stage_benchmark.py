"""Cost of MS-TFAL's stages: one training step per stage against the plain
step, and the TFAL maths alone.

Every stage trains the same model on the same random clip (the clip and its
shifted copy of the config's training policy, e.g. ``ShiftedClipPolicy``
``clip_len=4``: 8 frames, 4 trained):

* ``'plain'``: OHEM loss of the clip (the baseline);
* ``'video'``: times the video weight (``{bench: 1.0}``);
* ``'image'``: plus the shifted clip's forward pass (no gradient) and the
  affinities (TFAL) giving the image weight (thresholds 0.3 / 0.6);
* ``'pixel'``: the clip's video is uncertain (``U = ['bench']``): plus the
  frozen correction model's forward pass and the noise selection.

``tfal_maths`` times :func:`tfal_affinity` + :func:`select_noise` alone on
random embeddings of the step's size, to tell the affinity maths from the
extra forward passes. Memory (see :func:`run_stage_benchmark`) is what a
step allocates above what is alive before it.
"""
import copy
import ctypes
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope

from mmvidseg.registry import MODELS

from .benchmark import (_input_shape, _train_policy, device_settings,
                        fake_batch, timed_peak, train_clip_len,
                        train_key_index)

STAGES = ('plain', 'video', 'image', 'pixel')
VIDEO = 'bench'
THRESHOLDS = (0.3, 0.6)
# keys of AmpOptimWrapper that a plain OptimWrapper does not take
AMP_KEYS = ('loss_scale', 'dtype', 'use_fsdp')


def _release_freed_memory() -> None:
    """Give freed heap pages back to the system (glibc), so that the
    resident size measures live memory; no-op elsewhere."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def build_stage_optim_wrapper(model: torch.nn.Module, optim_cfg: dict,
                              device: torch.device
                              ) -> Tuple[OptimWrapper, str]:
    """The config's optim wrapper; an AMP wrapper becomes a plain
    ``OptimWrapper`` (same optimizer) off CUDA.

    Returns:
        tuple: The wrapper and a note for the settings (its class, and why
        it differs from the config's).
    """
    cfg = copy.deepcopy(dict(optim_cfg))
    kind = cfg.get('type', 'OptimWrapper')
    name = kind if isinstance(kind, str) else kind.__name__
    if 'Amp' in name and device.type != 'cuda':
        cfg['type'] = 'OptimWrapper'
        for key in AMP_KEYS:
            cfg.pop(key, None)
        note = f'OptimWrapper (config: {name}, which needs CUDA; fp32 here)'
    else:
        note = name
    return build_optim_wrapper(model, cfg), note


def _check_stage_model(model: torch.nn.Module) -> None:
    for method in ('set_stage', 'set_reliability', 'set_correction_model'):
        if not callable(getattr(model, method, None)):
            raise TypeError(
                f'{type(model).__name__} has no {method}(): the stage '
                'benchmark needs an MS-TFAL model (MSTFALSegmentor) whose '
                'loss changes with set_stage')


def _configure(model, stage: str, frozen) -> None:
    """Stage, reliability and correction model as MSTFALHook sets them."""
    model.set_stage(stage)
    model.set_reliability({VIDEO: 1.0}, *THRESHOLDS,
                          uncertain=[VIDEO] if stage == 'pixel' else [])
    model.set_correction_model(frozen if stage == 'pixel' else None)


def _overhead(value: Optional[float],
              base: Optional[float]) -> Optional[float]:
    """``100 * (value - base) / base``; None where either is unknown or the
    base is not positive."""
    if value is None or base is None or base <= 0:
        return None
    return 100.0 * (value - base) / base


def _timed(fn, iters: int, warmup: int,
           dev: torch.device) -> Tuple[float, Optional[float]]:
    """Warm up, release freed memory, then :func:`timed_peak` with the
    resident size at the start of the timed iterations as base."""
    for i in range(warmup):
        fn(i)
    _release_freed_memory()
    return timed_peak(fn, iters, 0, dev, None)


def tfal_maths_step(emb_shape: Tuple[int, int, int, int],
                    size: Tuple[int, int],
                    num_classes: int,
                    noise_ratio: float = 0.3,
                    device: str = 'cpu',
                    seed: int = 0):
    """A function timing what TFAL adds besides forward passes.

    Args:
        emb_shape (tuple): Embeddings of the trained frames (B, C, h, w).
        size (tuple): Input size (H, W) the noise mask is selected at.
        num_classes (int): Label classes.
        noise_ratio (float): Share of pixels of each noise candidate set.
        device (str): Torch device.
        seed (int): Seed of the random embeddings and labels.

    Returns:
        callable: ``fn(i)`` running the labels' nearest downsampling,
        :func:`tfal_affinity` (frame t against t-1) and
        :func:`select_noise` over the B frames.
    """
    from mmvidseg.models.utils import select_noise, tfal_affinity
    b = emb_shape[0]
    g = torch.Generator().manual_seed(seed)
    emb = F.normalize(torch.randn(2, *emb_shape, generator=g), dim=2)
    emb, emb_prev = emb.to(device)
    labels = torch.randint(0, num_classes, (2 * b, *size),
                           generator=g).to(device)

    @torch.no_grad()
    def fn(_):
        small = F.interpolate(labels[:, None].float(), size=emb_shape[-2:],
                              mode='nearest')[:, 0].long()
        aff = tfal_affinity(emb, emb_prev, small[:b], small[b:], num_classes)
        select_noise(aff, size, noise_ratio, 'intersection')

    return fn


def run_stage_benchmark(cfg: Config,
                        shape: Optional[Tuple[int, int]] = None,
                        device: str = 'cpu',
                        iters: int = 5,
                        warmup: int = 1,
                        batch_size: int = 1) -> Dict[str, dict]:
    """Time one training step of every MS-TFAL stage on random clips.

    Args:
        cfg (Config): Full config: an MS-TFAL model (with ``set_stage``),
            ``optim_wrapper`` and a training pipeline whose clip policy has
            ``clip_bounds`` (``ShiftedClipPolicy``).
        shape (tuple, optional): (H, W) of the frames; also the data
            preprocessor's padding size. Defaults to the config's
            ``crop_size``, else the preprocessor's size or 512x512.
        device (str): Torch device.
        iters (int): Timed steps per stage.
        warmup (int): Untimed steps per stage.
        batch_size (int): Clips per step.

    Returns:
        dict: ``settings``; per stage ``sec_per_iter``, ``frames_per_sec``
        (trained frames, ``batch_size * L``), ``input_hw``,
        ``peak_mem_mib`` (CUDA: allocator peak above the memory allocated
        before the timed steps; CPU: peak resident growth above the live
        memory before them, freed heap pages released first; both leave out
        weights, optimizer state and the correction copy, which ``pixel``
        reports as ``correction_model_mib``), ``time_overhead_pct`` and
        ``mem_overhead_pct`` (against ``plain``); and ``tfal_maths``
        (``sec_per_iter``, ``peak_mem_mib``, ``time_share_pct`` = its time
        in % of the plain step).

    Raises:
        TypeError: The model has no ``set_stage`` (not MS-TFAL).
        KeyError: No ``optim_wrapper`` in the config.
        ValueError: The training clip policy gives no ``clip_bounds``.
    """
    import mmvidseg  # noqa: F401 (registers the modules)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    if shape is None and cfg.get('crop_size'):
        shape = tuple(cfg.crop_size)
    shape = _input_shape(model_cfg, shape)
    dev = torch.device(device)
    model = MODELS.build(model_cfg).to(dev)
    _check_stage_model(model)
    if cfg.get('optim_wrapper') is None:
        raise KeyError('the stage benchmark trains: optim_wrapper missing '
                       'from the config')
    policy = _train_policy(cfg)
    bounds = getattr(policy, 'clip_bounds', None)
    if not bounds:
        raise ValueError(
            'the stage benchmark needs the training clip policy of '
            'MS-TFAL (a SampleClip step with ShiftedClipPolicy, which gives '
            f'clip_bounds); got {type(policy).__name__}')
    bounds = [tuple(int(x) for x in b) for b in bounds]
    clip_len = train_clip_len(cfg)
    trained = bounds[0][1] - bounds[0][0]
    num_classes = int(getattr(model, 'num_classes', 3))
    model.train()
    optim, optim_note = build_stage_optim_wrapper(model, cfg.optim_wrapper,
                                                  dev)
    model.set_correction_model(None)
    frozen = copy.deepcopy(model).eval().requires_grad_(False)
    batch = fake_batch(batch_size, clip_len, shape, num_classes,
                       video_id=VIDEO,
                       key_index=train_key_index(cfg, clip_len),
                       clip_bounds=bounds)
    with torch.no_grad():  # the embedding's size (eval: BN of 1 frame)
        data = model.data_preprocessor(batch, True)
        frames = data['inputs'][:, :trained].flatten(0, 1)
        emb_shape = tuple(
            model.eval().frame_forward(frames[:1])[1].shape[1:])
    model.train()
    input_hw = list(frames.shape[-2:])
    report: Dict[str, dict] = dict(
        settings=dict(
            model=type(model).__name__, **device_settings(dev),
            shape=list(shape), batch_size=batch_size, clip_len=clip_len,
            trained_frames=trained, optim_wrapper=optim_note,
            video_weight=1.0, thresholds=list(THRESHOLDS),
            iters=iters, warmup=warmup))

    def step(_):
        model.train_step(batch, optim)

    # one untimed step first: the optimizer state exists for every stage
    _configure(model, 'plain', None)
    step(-1)
    for stage in STAGES:
        _configure(model, stage, frozen)
        sec, peak = _timed(step, iters, warmup, dev)
        report[stage] = dict(
            sec_per_iter=sec, frames_per_sec=batch_size * trained / sec,
            input_hw=input_hw, peak_mem_mib=peak)
    _configure(model, 'plain', None)
    report['pixel']['correction_model_mib'] = sum(
        t.numel() * t.element_size()
        for t in list(frozen.parameters()) + list(frozen.buffers())) / 2**20
    plain = report['plain']
    for stage in STAGES:
        r = report[stage]
        r['time_overhead_pct'] = _overhead(r['sec_per_iter'],
                                           plain['sec_per_iter'])
        r['mem_overhead_pct'] = _overhead(r['peak_mem_mib'],
                                          plain['peak_mem_mib'])
    maths = tfal_maths_step((batch_size * trained, ) + emb_shape,
                            tuple(input_hw), num_classes,
                            getattr(model, 'noise_ratio', 0.3), device)
    sec, peak = _timed(maths, iters, warmup, dev)
    report['tfal_maths'] = dict(
        sec_per_iter=sec, embedding=list((batch_size * trained, ) +
                                         emb_shape),
        peak_mem_mib=peak,
        time_share_pct=100.0 * sec / plain['sec_per_iter'])
    return report


def _pct(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:+.1f}%'


def _mib(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:.1f} MiB'


def format_stage_report(report: Dict[str, dict]) -> List[str]:
    """Printable lines of :func:`run_stage_benchmark`'s report: settings,
    one line per stage, the TFAL maths and the TFAL overhead summary."""
    settings = report['settings']
    lines = ['settings: ' + ', '.join(f'{k}={v}'
                                      for k, v in settings.items())]
    for stage in STAGES:
        r = report[stage]
        line = (f"{stage}: {r['sec_per_iter'] * 1000:.2f} ms/iter, "
                f"{r['frames_per_sec']:.2f} frames/s, "
                'input {}x{}, '.format(*r['input_hw']) +
                f"peak memory {_mib(r['peak_mem_mib'])}")
        if stage != 'plain':
            line += (f", vs plain: time {_pct(r['time_overhead_pct'])}, "
                     f"memory {_pct(r['mem_overhead_pct'])}")
        if 'correction_model_mib' in r:
            line += (', correction model weights '
                     f"{r['correction_model_mib']:.1f} MiB")
        lines.append(line)
    m = report['tfal_maths']
    lines.append(
        f"tfal_maths: {m['sec_per_iter'] * 1000:.2f} ms/iter, embedding "
        + 'x'.join(str(x) for x in m['embedding']) +
        f", peak memory {_mib(m['peak_mem_mib'])}, "
        f"{m['time_share_pct']:.1f}% of the plain step")
    image, pixel = report['image'], report['pixel']
    lines.append(
        'TFAL overhead per step: image vs plain (shifted forward + '
        f"affinity) time {_pct(image['time_overhead_pct'])}, memory "
        f"{_pct(image['mem_overhead_pct'])}; pixel vs plain (+ correction) "
        f"time {_pct(pixel['time_overhead_pct'])}, memory "
        f"{_pct(pixel['mem_overhead_pct'])}")
    return lines
