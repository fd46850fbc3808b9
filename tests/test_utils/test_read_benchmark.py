"""Memory-read and propagation benchmarks take their sizes from models."""
import pytest

from mmvidseg.registry import MODELS
from mmvidseg.utils import read_benchmark
from mmvidseg.utils.propagation_flops import format_propagation_report
from mmvidseg.utils.read_benchmark import (_isolated_propagation,
                                           benchmark_memory_read,
                                           head_read_settings,
                                           propagation_settings,
                                           run_memory_read_benchmark,
                                           run_propagation_benchmark)

from ..conftest import make_tiny_model_cfg
from .test_benchmark import _cfg, _labelprop_cfg


def _tma_cfg(matmul_norm=False):
    cfg = _cfg(offsets=(-3, -2, -1), size=(40, 56))
    cfg.model.decode_head = dict(
        type='TMAHead', in_channels=32, in_index=1, channels=16,
        num_memory_frames=3, key_channels=8, value_channels=12,
        matmul_norm=matmul_norm, num_classes=3, norm_cfg=dict(type='BN'))
    return cfg


def test_head_read_settings_from_the_built_head():
    head = MODELS.build(_tma_cfg().model.decode_head)
    assert head_read_settings(head) == dict(
        num_memory=3, key_channels=8, value_channels=12, scale=1.0)
    head = MODELS.build(_tma_cfg(matmul_norm=True).model.decode_head)
    assert head_read_settings(head)['scale'] == pytest.approx(8**-0.5)
    # the memory frames come from the head, not from the fallback
    assert head_read_settings(head, 7)['num_memory'] == 3
    plain = MODELS.build(make_tiny_model_cfg()['decode_head'])
    with pytest.raises(ValueError, match='TemporalAttentionHead has no '
                       'key_channels, value_channels'):
        head_read_settings(plain, 2)


def test_run_memory_read_benchmark():
    report = run_memory_read_benchmark(_tma_cfg(), iters=1, warmup=0)
    s = report['settings']
    assert s['benchmark'] == 'memory_read'
    assert s['feature_hw'] == [5, 7]  # preprocessor size 40x56 at stride 8
    assert (s['memory_frames'], s['key_channels'],
            s['value_channels']) == (3, 8, 12)
    assert report['sdpa']['sec_per_iter'] > 0
    assert report['plain']['sec_per_iter'] > 0
    report = run_memory_read_benchmark(_tma_cfg(), shape=(16, 17), iters=1,
                                       warmup=0)
    assert report['settings']['feature_hw'] == [2, 3]
    with pytest.raises(ValueError, match='no memory read'):
        run_memory_read_benchmark(_cfg(), iters=1, warmup=0)


def test_benchmark_memory_read_settings():
    report = benchmark_memory_read((3, 4), 2, 8, 6, iters=1, warmup=0,
                                   scale=0.5)
    assert report['settings']['scale'] == 0.5
    assert set(report) == {'settings', 'sdpa', 'plain'}


def test_propagation_settings_from_the_built_model():
    model = MODELS.build(_labelprop_cfg().model)
    assert propagation_settings(model) == dict(
        queue_len=2, temperature=0.05, topk=3, radius=2, chunk_size=256)
    with pytest.raises(ValueError, match='not a label-propagation model'):
        propagation_settings(MODELS.build(make_tiny_model_cfg()))


def test_run_propagation_benchmark(monkeypatch):
    report = run_propagation_benchmark(_labelprop_cfg(), num_frames=4,
                                       shape=(40, 48), reference_frames=3)
    s = report['settings']
    # stride and channels read from the model (tiny ResNet: 8, 32)
    assert s['feature_stride'] == 8 and s['feat_hw'] == [5, 6]
    assert s['channels'] == 32 and s['queue_len'] == 2 and s['topk'] == 3
    assert set(report) == {'settings', 'streaming', 'original'}
    # each implementation's own video length; the original's formulation
    assert report['streaming']['num_frames'] == 4
    assert report['original']['num_frames'] == 3
    work = s['gflop_per_frame']
    assert work['dense'] == pytest.approx(2 * 32 * 3 * 30**2 / 1e9)
    assert report['original']['gflop_per_frame'] == work['dense']
    assert report['streaming']['gflop_per_frame'] == work['streaming']
    for impl in ('streaming', 'original'):
        r = report[impl]
        assert r['frames_per_sec'] > 0 and r['cpu_sec_per_frame'] > 0
        assert r['gflops'] == pytest.approx(r['gflop_per_frame'] /
                                            r['sec_per_frame'])
        assert 'peak_fraction' not in r
    report = run_propagation_benchmark(_labelprop_cfg(), num_frames=3,
                                       shape=(16, 16), channels=4)
    assert report['settings']['channels'] == 4
    assert report['original']['num_frames'] == 3
    with pytest.raises(ValueError, match='not a label-propagation model'):
        run_propagation_benchmark(_cfg(), num_frames=3)
    # the fraction of the matmul peak: work / time / peak
    monkeypatch.setattr(read_benchmark, 'matmul_peak',
                        lambda device: dict(gflops=0.5))
    report = run_propagation_benchmark(_labelprop_cfg(), num_frames=3,
                                       shape=(16, 16), measure_peak=True)
    assert report['settings']['matmul_peak_gflops'] == 0.5
    for impl in ('streaming', 'original'):
        r = report[impl]
        assert r['peak_fraction'] == pytest.approx(r['gflops'] / 0.5)
        assert r['useful_peak_fraction'] == pytest.approx(
            report['settings']['gflop_per_frame']['within_radius'] /
            r['sec_per_frame'] / 0.5)
    lines = format_propagation_report(report)
    assert lines[0].startswith('settings: ')
    assert 'within_radius' in lines[1] and '0.5 GFLOP/s' in lines[1]
    line = [x for x in lines if x.startswith('original: ')][0]
    assert '3 frames' in line and '% of peak' in line


def test_isolated_propagation_reports_the_process_peak():
    res = _isolated_propagation(
        dict(num_frames=2, feat_hw=(3, 4), channels=4, num_classes=2,
             queue_len=1, topk=2, radius=2), 1)
    assert res['process_peak_rss_mib'] > 0
    assert res['implementation'] == 'streaming'
