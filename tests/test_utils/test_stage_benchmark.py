"""The MS-TFAL stage benchmark: every stage run as set, overheads, errors."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmvidseg.models.segmentors import MSTFALSegmentor
from mmvidseg.utils.benchmark import fake_batch
from mmvidseg.utils.stage_benchmark import (STAGES, build_stage_optim_wrapper,
                                            format_stage_report,
                                            run_stage_benchmark)

from ..conftest import make_tiny_model_cfg

H, W, K, L = 32, 40, 4, 2
FAST = dict(shape=(H, W), iters=1, warmup=0)


def _cfg(policy=dict(type='ShiftedClipPolicy', clip_len=L, shift=-1),
         model=None):
    model = model or dict(
        type='MSTFALSegmentor',
        data_preprocessor=dict(type='VideoSegDataPreProcessor',
                               mean=[0., 0., 0.], std=[255., 255., 255.]),
        backbone=dict(type='ResNet18OS8'),
        decode_head=dict(type='DeepLabV3PlusLiteHead', num_classes=K),
        loss=dict(type='OhemCrossEntropyLoss', n_min=H * W // 16))
    pipeline = [dict(type='SampleClip', policy=policy),
                dict(type='PackVideoSegInputs', pack_clip_labels=True)]
    return Config(dict(
        default_scope='mmseg', model=model,
        train_dataloader=dict(dataset=dict(pipeline=pipeline)),
        # as the MS-TFAL configs: AMP, which a CPU run replaces
        optim_wrapper=dict(type='AmpOptimWrapper', loss_scale='dynamic',
                           optimizer=dict(type='Adam', lr=1e-4))))


def test_every_stage_runs_as_set_and_overheads(monkeypatch):
    seen = []
    original = MSTFALSegmentor.loss

    def spy(self, inputs, data_samples):
        corr = self._correction
        seen.append((self.stage, tuple(inputs.shape[:2]),
                     sorted(self.uncertain_videos),
                     (self.p_thr, self.n_thr),
                     data_samples[0].metainfo['clip_bounds'],
                     None if corr is None else
                     (corr.training, any(p.requires_grad
                                         for p in corr.parameters()))))
        return original(self, inputs, data_samples)

    monkeypatch.setattr(MSTFALSegmentor, 'loss', spy)
    report = run_stage_benchmark(_cfg(), batch_size=2, **FAST)
    settings = report['settings']
    assert settings['clip_len'] == 2 * L and settings['trained_frames'] == L
    assert settings['shape'] == [H, W]
    assert 'AmpOptimWrapper' in settings['optim_wrapper']
    assert settings['optim_wrapper'].startswith('OptimWrapper')
    # an untimed plain step, then one step per stage in order
    bounds = [(0, L), (L, 2 * L)]
    assert [s[0] for s in seen] == ['plain'] + list(STAGES)
    for stage, shape, uncertain, thr, clip_bounds, corr in seen:
        assert shape == (2, 2 * L) and clip_bounds == bounds
        assert thr == (0.3, 0.6)
        pixel = stage == 'pixel'
        assert uncertain == (['bench'] if pixel else [])
        assert corr == ((False, False) if pixel else None)  # frozen copy
    plain = report['plain']
    for stage in STAGES:
        r = report[stage]
        assert r['sec_per_iter'] > 0 and r['input_hw'] == [H, W]
        assert r['frames_per_sec'] == pytest.approx(2 * L / r['sec_per_iter'])
        assert r['time_overhead_pct'] == pytest.approx(
            100 * (r['sec_per_iter'] / plain['sec_per_iter'] - 1))
        if r['peak_mem_mib'] is not None and plain['peak_mem_mib']:
            assert r['mem_overhead_pct'] == pytest.approx(
                100 * (r['peak_mem_mib'] / plain['peak_mem_mib'] - 1))
    assert plain['time_overhead_pct'] == 0
    assert report['pixel']['correction_model_mib'] > 1
    maths = report['tfal_maths']
    assert maths['embedding'] == [2 * L, 304, H // 8, W // 8]
    assert maths['time_share_pct'] == pytest.approx(
        100 * maths['sec_per_iter'] / plain['sec_per_iter'])
    lines = format_stage_report(report)
    assert lines[0].startswith('settings: model=MSTFALSegmentor')
    assert [x.split(':')[0] for x in lines[1:]] == list(STAGES) + [
        'tfal_maths', 'TFAL overhead per step']
    assert 'vs plain' not in lines[1] and 'vs plain: time' in lines[3]
    assert 'of the plain step' in lines[5]


def test_report_lines_without_memory():
    row = dict(sec_per_iter=0.5, frames_per_sec=8.0, input_hw=[8, 10],
               peak_mem_mib=None, time_overhead_pct=10.0,
               mem_overhead_pct=None)
    report = dict(settings=dict(device='cpu'),
                  tfal_maths=dict(sec_per_iter=0.01, embedding=[4, 3, 1, 2],
                                  peak_mem_mib=None, time_share_pct=2.0))
    report.update({s: dict(row) for s in STAGES})
    lines = format_stage_report(report)
    assert lines[3] == ('image: 500.00 ms/iter, 8.00 frames/s, input 8x10, '
                        'peak memory n/a, vs plain: time +10.0%, memory n/a')
    assert lines[5] == ('tfal_maths: 10.00 ms/iter, embedding 4x3x1x2, '
                        'peak memory n/a, 2.0% of the plain step')


def test_errors():
    plain = make_tiny_model_cfg(temporal=False)
    with pytest.raises(TypeError, match='set_stage'):
        run_stage_benchmark(_cfg(model=plain), **FAST)
    with pytest.raises(ValueError, match='ShiftedClipPolicy'):
        run_stage_benchmark(
            _cfg(dict(type='FixedOffsetClipPolicy', offsets=(-1, ))), **FAST)
    cfg = _cfg()
    cfg.pop('optim_wrapper')
    with pytest.raises(KeyError, match='optim_wrapper'):
        run_stage_benchmark(cfg, **FAST)


def test_optim_wrapper_and_fake_batch_clip_bounds():
    model = torch.nn.Linear(2, 2)
    amp = dict(type='AmpOptimWrapper', loss_scale='dynamic',
               optimizer=dict(type='SGD', lr=0.1))
    wrapper, note = build_stage_optim_wrapper(model, amp,
                                              torch.device('cpu'))
    assert type(wrapper) is OptimWrapper and not isinstance(
        wrapper, AmpOptimWrapper)
    assert 'needs CUDA' in note
    wrapper, note = build_stage_optim_wrapper(
        model, dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
        torch.device('cpu'))
    assert note == 'OptimWrapper'
    batch = fake_batch(1, 4, (8, 10), 3, clip_bounds=[[0, 2], [2, 4]])
    assert batch['data_samples'][0].metainfo['clip_bounds'] == [(0, 2),
                                                                (2, 4)]
    assert 'clip_bounds' not in fake_batch(1, 4, (8, 10),
                                           3)['data_samples'][0].metainfo
