"""Throughput and peak memory of two-stage CT volume inference.

``tools/analysis_tools/benchmark.py CONFIG --mode volume``: a synthetic CT
(organ-like ellipsoids in HU) goes through
:class:`~mmvidseg.apis.TwoStageVolumeInferencer` (CPS on the candidate
slices, STCN propagation between references); the report holds slices/s
overall and per stage and the peak memory (CPU: resident-memory growth of
the process, sampled; CUDA: allocator peak). ``CONFIG`` ``tiny`` uses tiny
randomly initialised models (a quick check of the machinery, not of the
real models' speed).
"""
import copy
import resource
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .benchmark import PeakRSS, device_settings, resident_bytes

#: (name, FLARE22 id, HU, centre (fractions of X, Y, Z), radii (fractions))
SYNTHETIC_ORGANS = (
    ('liver', 1, 60, (0.35, 0.45, 0.55), (0.16, 0.14, 0.30)),
    ('kidney_r', 2, 150, (0.36, 0.68, 0.40), (0.05, 0.06, 0.18)),
    ('spleen', 3, 50, (0.68, 0.62, 0.60), (0.07, 0.08, 0.20)),
    ('aorta', 5, 200, (0.52, 0.58, 0.50), (0.02, 0.02, 0.60)),
    ('kidney_l', 13, 150, (0.64, 0.70, 0.42), (0.05, 0.06, 0.18)),
    ('spine', 0, 700, (0.50, 0.75, 0.50), (0.05, 0.05, 0.70)),
)


def synthetic_ct(shape: Sequence[int] = (512, 512, 100),
                 seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """A CT-like volume: a soft-tissue body in air with organ ellipsoids.

    Args:
        shape (Sequence[int]): (X, Y, Z) canonical shape.
        seed (int): Noise seed.

    Returns:
        tuple: HU (X, Y, Z) int16 and the organ labels (uint8, FLARE22 ids;
        the spine is bone, no label).
    """
    x, y, z = (np.linspace(0, 1, n, dtype=np.float32) for n in shape)
    xx, yy = np.meshgrid(x, y, indexing='ij')
    rng = np.random.default_rng(seed)
    hu = np.full(shape, -1000, np.int16)
    labels = np.zeros(shape, np.uint8)
    body = ((xx - 0.5) / 0.42)**2 + ((yy - 0.55) / 0.33)**2 <= 1
    for k, zk in enumerate(z):
        sl = np.where(body, 30, -1000).astype(np.float32)
        lab = np.zeros(shape[:2], np.uint8)
        for _, cls, value, (cx, cy, cz), (rx, ry, rz) in SYNTHETIC_ORGANS:
            dz = ((zk - cz) / rz)**2
            if dz >= 1:
                continue
            inside = ((xx - cx) / rx)**2 + ((yy - cy) / ry)**2 <= 1 - dz
            sl[inside] = value
            lab[inside] = cls
        sl += rng.normal(0, 10, shape[:2]).astype(np.float32)
        hu[..., k] = np.clip(sl, -1024, 3000).astype(np.int16)
        labels[..., k] = lab
    return hu, labels


def tiny_cps_model(num_classes: int = 14) -> dict:
    """A tiny CPSSegmentor (two ResNet-18/8 + FCN branches, the first with
    the slice position); random weights."""
    norm = dict(type='BN', requires_grad=True)

    def branch(channels: int) -> dict:
        return dict(
            type='EncoderDecoder',
            backbone=dict(
                type='ResNetV1c', depth=18, stem_channels=8,
                base_channels=8, num_stages=2, strides=(1, 2),
                dilations=(1, 1), out_indices=(1, ), norm_cfg=norm),
            decode_head=dict(
                type='FCNHead', in_channels=16, in_index=0,
                channels=channels, num_convs=1, concat_input=False,
                num_classes=num_classes, dropout_ratio=0.0, norm_cfg=norm,
                align_corners=False))

    b1 = branch(8)
    b1['decode_head'] = dict(type='SlicePositionHead',
                             head=b1['decode_head'])
    return dict(
        type='CPSSegmentor', segmentor1=b1, segmentor2=branch(6),
        slice_position=(True, False),
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[255, 255, 255]))


def tiny_stcn_model() -> dict:
    """A tiny STCN (ResNet-18 widths / 8 encoders); random weights."""
    resnet = dict(
        type='ResNet', depth=18, num_stages=3, strides=(1, 2, 2),
        dilations=(1, 1, 1), out_indices=(0, 1, 2), style='pytorch',
        base_channels=8, stem_channels=8)
    return dict(
        type='STCN', key_encoder=resnet,
        value_encoder=dict(resnet, in_channels=5), key_dim=8, value_dim=16,
        decoder_channels=(16, 8, 8),
        data_preprocessor=dict(type='VideoSegDataPreProcessor',
                               mean=[0., 0., 0.], std=[255., 255., 255.]))


def tiny_config(model: dict):
    """A runnable config around a model dict."""
    from mmengine.config import Config
    return Config(dict(model=copy.deepcopy(model), default_scope='mmseg'))


def run_volume_benchmark(cps_config=None,
                         stcn_config=None,
                         cps_checkpoint: Optional[str] = None,
                         stcn_checkpoint: Optional[str] = None,
                         shape: Sequence[int] = (512, 512, 100),
                         device: str = 'cpu',
                         size: int = 512,
                         memory_on_cpu: bool = False,
                         acc_dtype: str = 'float32',
                         max_mem_frames: Optional[int] = 40,
                         warmup: bool = True) -> Dict[str, dict]:
    """Time two-stage inference of a synthetic CT.

    Args:
        cps_config, stcn_config (str | Config, optional): Model configs;
            ``None`` or ``'tiny'`` for tiny random models.
        cps_checkpoint, stcn_checkpoint (str, optional): Weights.
        shape (Sequence[int]): (X, Y, slices) of the synthetic volume.
        device (str): Device of the models.
        size (int): Model input size.
        memory_on_cpu (bool), acc_dtype (str), max_mem_frames (int):
            See :class:`TwoStageVolumeInferencer`.
        warmup (bool): Run a 10-slice volume first (not measured).

    Returns:
        dict: ``settings``; ``volume`` (``sec``, ``frames_per_sec`` =
        slices/s, ``peak_mem_mib``, ``input_hw``), ``cps_candidates`` and
        ``propagation`` (slices/s of the slices each stage processed).
    """
    from mmvidseg.apis.volume_inferencer import (TwoStageVolumeInferencer,
                                                 build_model)
    from mmvidseg.apis.volume_references import visited_slices
    tiny = cps_config in (None, 'tiny')
    if tiny != (stcn_config in (None, 'tiny')):
        raise ValueError('--mode volume: give both a CPS config and '
                         '--stcn-config, or "tiny" for tiny random models')
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f'volume shape must be 3 positive sizes, got '
                         f'{tuple(shape)}')
    dev = torch.device(device)
    base_rss = resident_bytes()
    if tiny:
        cps_config = tiny_config(tiny_cps_model())
        stcn_config = tiny_config(tiny_stcn_model())
    cps = build_model(cps_config, cps_checkpoint, device, 'CPS')
    stcn = build_model(stcn_config, stcn_checkpoint, device, 'STCN')
    inferencer = TwoStageVolumeInferencer(
        cps, stcn, device=device, size=size, memory_on_cpu=memory_on_cpu,
        max_mem_frames=max_mem_frames, acc_dtype=acc_dtype, progress=False)
    hu, _ = synthetic_ct(shape)
    if warmup:
        inferencer.predict_volume(hu[..., :min(10, shape[2])])
    cuda = dev.type == 'cuda'
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        cuda_base = torch.cuda.memory_allocated(dev)
    with PeakRSS(base=resident_bytes()) as rss:
        start = time.perf_counter()
        res = inferencer.predict_volume(hu)
        elapsed = time.perf_counter() - start
    t = res['timings']
    n = shape[2]
    visited = sum(len(visited_slices(s, e)) for s, e in res['ranges'])
    peak = ((torch.cuda.max_memory_allocated(dev) - cuda_base) / 2**20
            if cuda else rss.peak_mib)
    settings = dict(
        benchmark='volume', **device_settings(dev),
        models='tiny (random)' if tiny else 'configs', volume_shape=list(
            shape), size=size, memory_on_cpu=memory_on_cpu,
        acc_dtype=acc_dtype, max_mem_frames=max_mem_frames,
        candidates=len(res['candidates']), references=res['references'],
        ranges=len(res['ranges']),
        process_rss_mib=None if base_rss is None else base_rss / 2**20,
        max_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss /
        1024)
    hw = list(inferencer.size)
    return dict(
        settings=settings,
        volume=dict(sec=elapsed, frames_per_sec=n / elapsed, input_hw=hw,
                    peak_mem_mib=peak,
                    peak_mem_kind='cuda_allocated' if cuda else 'cpu_rss'),
        prepare=dict(sec=t['prepare_s'],
                     frames_per_sec=n / max(t['prepare_s'], 1e-9)),
        cps_candidates=dict(
            sec=t['cps_s'], slices=len(res['candidates']),
            frames_per_sec=len(res['candidates']) / max(t['cps_s'], 1e-9)),
        propagation=dict(
            sec=t['propagation_s'], slices=visited,
            frames_per_sec=visited / max(t['propagation_s'], 1e-9)))


def format_volume_report(report: Dict[str, dict]) -> List[str]:
    """Printable lines of :func:`run_volume_benchmark`'s report."""
    settings = report.get('settings', {})
    lines = ['settings: ' + ', '.join(f'{k}={v}'
                                      for k, v in settings.items())]
    for name, r in report.items():
        if name == 'settings':
            continue
        parts = [f"{r['sec']:.2f} s", f"{r['frames_per_sec']:.2f} slices/s"]
        if 'slices' in r:
            parts.append(f"{r['slices']} slices")
        if 'input_hw' in r:
            parts.append('input {}x{}'.format(*r['input_hw']))
        if 'peak_mem_mib' in r:
            peak = r['peak_mem_mib']
            parts.append('peak memory ' + ('n/a' if peak is None else
                                           f"{peak:.1f} MiB"))
        lines.append(f'{name}: ' + ', '.join(parts))
    return lines
